"""gridmap.routing.stops on its own: reading the CSV and naming every bad row by number and id."""

from __future__ import annotations

import pytest

from gridmap.errors import InvalidInput
from gridmap.routing.stops import Stop, read_stops, validate_stops


def _csv(tmp_path, text: str, *, encoding: str = "utf-8", name: str = "stops.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _messages(caught) -> list[str]:
    return [f.message for f in caught.value.findings]


def test_read_stops_with_optional_columns_and_defaults(tmp_path):
    path = _csv(
        tmp_path, " ID , X ,Y,Mandatory,prize,service\nS1,0,0,,,\nS2, 120.5 ,-3,否,250,30\nS3,1e3,7,是,,\n"
    )
    assert read_stops(path, planar=True) == [
        Stop("S1", 0.0, 0.0, mandatory=True, prize=None, service=0.0),
        Stop("S2", 120.5, -3.0, mandatory=False, prize=250.0, service=30.0),
        Stop("S3", 1000.0, 7.0, mandatory=True, prize=None, service=0.0),
    ]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_read_stops_decodes_excel_csv(tmp_path, encoding):
    path = _csv(tmp_path, "id,x,y\n农贸市场,106.51,33.91\n县医院,106.52,33.907\n", encoding=encoding)
    stops = read_stops(path, planar=False)
    assert [s.id for s in stops] == ["农贸市场", "县医院"]
    assert (stops[1].x, stops[1].y) == (106.52, 33.907)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("TRUE", True),
        ("yes", True),
        ("是", True),
        ("必去", True),
        ("", True),
        ("0", False),
        ("false", False),
        ("N", False),
        ("否", False),
        ("选去", False),
    ],
)
def test_mandatory_words(value, expected):
    rows = [{"id": "A", "x": "0", "y": "0", "mandatory": value}, {"id": "B", "x": "1", "y": "1"}]
    assert validate_stops(rows, planar=True)[0].mandatory is expected


def test_every_bad_row_is_named_once_by_its_spreadsheet_row(tmp_path):
    path = _csv(
        tmp_path,
        "id,x,y,mandatory,prize,service\n"
        "A,0,0,,,\n"  # row 2: fine
        ",5,5,,,\n"  # row 3: no id
        "B,abc,0,,,\n"  # row 4: x not a number
        "C,0,,,,\n"  # row 5: y missing
        "D,0,0,也许,,\n"  # row 6: mandatory unknown
        "E,0,0,,-1,\n"  # row 7: negative prize
        "F,0,0,,,inf\n"  # row 8: infinite service
        "A,9,9,,,\n"  # row 9: duplicate of row 2
        "G,1,1,,,\n",
    )
    with pytest.raises(InvalidInput) as caught:
        read_stops(path, planar=True)
    message = caught.value.message
    assert message.startswith("点位编号重复：A；点位文件有 7 处错误")
    findings = caught.value.findings
    assert [f.feature for f in findings] == [3, 4, 5, 6, 7, 8, 9]
    assert all(f.file == "stops.csv" for f in findings)
    assert _messages(caught) == [
        "缺少点位编号 id",
        "点位 B 的 x 值 'abc' 不是数字",
        "点位 C 缺少 y 坐标",
        "点位 D 的 mandatory 值 '也许' 无法识别",
        "点位 E 的 prize 值 '-1' 应为不小于 0 的数",
        "点位 F 的 service 值 'inf' 应为不小于 0 的数",
        "点位编号 A 重复（第 2、9 行）",
    ]
    assert "1/是" in findings[3].hint


def test_lonlat_out_of_range_suggests_planar():
    rows = [{"id": "A", "x": "500000", "y": "3750000"}, {"id": "B", "x": "106.5", "y": "33.9"}]
    with pytest.raises(InvalidInput) as caught:
        validate_stops(rows, planar=False, file="p.csv")
    [finding] = caught.value.findings
    assert "点位 A 的经纬度 (500000.0, 3750000.0) 超出范围" in finding.message
    assert finding.hint == "平面坐标（米）请加 --planar" and finding.feature == 2
    assert len(validate_stops(rows, planar=True)) == 2


def test_too_few_stops_and_missing_columns(tmp_path):
    with pytest.raises(InvalidInput, match=r"至少需要 2 个点位.*文件中只有 1 个"):
        validate_stops([{"id": "A", "x": "0", "y": "0"}], planar=True)
    path = _csv(tmp_path, "编号,x\nA,0\n")
    with pytest.raises(InvalidInput, match=r"缺少列 id、y.*至少包括 id,x,y"):
        read_stops(path, planar=True)
    with pytest.raises(InvalidInput, match="找不到点位文件"):
        read_stops(tmp_path / "none.csv", planar=True)
    with pytest.raises(InvalidInput, match="缺少列 id、x、y"):
        read_stops(_csv(tmp_path, "", name="empty.csv"), planar=True)
