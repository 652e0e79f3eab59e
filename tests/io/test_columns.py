"""gridmap.io.columns on its own: header matching, the filled column winning, mapping files."""

from __future__ import annotations

import pandas as pd
import pytest

from gridmap.errors import InvalidInput
from gridmap.io.columns import (
    KINDS,
    blank_cells,
    columns_of,
    header_list,
    kind_label,
    map_columns,
    missing_findings,
    normalize_header,
    read_mapping_file,
    score_header,
)
from gridmap.model import LAYER_BY_NAME, TABLE_BY_NAME


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (" 网格_名称（Name） ", "网格名称name"),
        ("ＮＡＭＥ", "name"),  # full-width letters
        ("Grid-Code", "gridcode"),
        ("联系电话:", "联系电话"),
        ("【户数】", "户数"),
        (None, ""),
        (12, "12"),
    ],
)
def test_normalize_header(text, key):
    assert normalize_header(text) == key


def test_header_list_is_short_and_says_how_many():
    assert header_list([]) == "无"
    assert header_list(["甲", "乙"]) == "甲、乙"
    assert header_list([f"c{i}" for i in range(50)], limit=3) == "c0、c1、c2 等共 50 列"


def test_kinds_labels_and_columns():
    assert set(KINDS) == set(LAYER_BY_NAME) | set(TABLE_BY_NAME)
    assert kind_label("grids") == "网格" and kind_label("units") == TABLE_BY_NAME["units"].label
    assert kind_label("villages") == "villages"
    assert [c.name for c in columns_of("grids")] == ["code", "name", "town_code"]
    with pytest.raises(InvalidInput, match="未知的数据类型“villages”"):
        columns_of("villages")


def test_score_header_finds_the_header_row_not_the_title():
    assert score_header(["凤县网格责任表", None, None], "grids") == 0
    assert score_header(["网格编码", "网格名称", "所属镇", None], "grids") == 3
    assert score_header(["序号", "网格编码", "备注"], "grids") == 2  # two ignored headers count one
    assert score_header(["经度", "纬度", "名称"], "points") == 3


def test_blank_cells():
    assert blank_cells(pd.Series(["a", "", "  ", None, float("nan"), 0], dtype=object)).tolist() == [
        False,
        True,
        True,
        True,
        True,
        False,
    ]
    assert blank_cells(["x", None]).tolist() == [False, True]


def test_synonyms_map_and_leftovers_are_named():
    mapping = map_columns(["序号", "网格号", "网格", "所属乡镇", "面积"], "grids")
    assert mapping.used == {"code": "网格号", "name": "网格", "town_code": "所属乡镇"}
    assert mapping.unused == ["序号", "面积"] and mapping.missing == []


def test_a_file_column_feeds_one_model_column_and_reserved_ones_none():
    # the mapping file takes "名称" for the code, so the name cannot have it too
    mapping = map_columns(["名称", "镇"], "grids", overrides={"code": "名称"})
    assert mapping.used == {"code": "名称", "town_code": "镇"}
    assert [c.name for c in mapping.missing] == ["name"]
    reserved = map_columns(["code", "名称", "经度"], "points", reserved=("经度",))
    assert "经度" not in reserved.used.values() and "经度" not in reserved.unused


def test_required_columns_missing_become_findings_with_a_hint():
    mapping = map_columns(["名称", "备注"], "grids")
    assert [c.name for c in mapping.missing] == ["code", "town_code"]
    findings = missing_findings(mapping, "grids", ["名称", "备注"], where={"file": "g.csv", "layer": None})
    assert [f.field for f in findings] == ["code", "town_code"]
    assert "缺少必填字段“网格编码”（code）" in findings[0].message and "名称、备注" in findings[0].message
    assert "网格编码 = 文件中的列名" in findings[0].hint
    assert findings[0].file == "g.csv"


def test_the_filled_column_wins_and_empty_rows_take_the_other():
    frame = pd.DataFrame({"Name": [None, "", None], "网格名称": ["甲", "乙", None], "镇": ["T"] * 3})
    mapping = map_columns(list(frame.columns), "grids", frame=frame)
    assert mapping.used["name"] == "网格名称" and mapping.skipped == {"name": ["Name"]}
    assert "另有“Name”列，全部为空，未使用" in mapping.describe("grids")[0]

    frame = pd.DataFrame({"Name": ["A", None, ""], "网格名称": ["甲", "乙", None], "镇": ["T"] * 3})
    mapping = map_columns(list(frame.columns), "grids", frame=frame)
    assert mapping.used["name"] == "Name"
    assert mapping.fallbacks == {"name": [("网格名称", 1)]}
    assert mapping.values(frame, "name").tolist() == ["A", "乙", ""]
    assert "其中 1 行“Name”为空，取自“网格名称”" in mapping.describe("grids")[0]
    assert "网格名称" not in mapping.unused


def test_overrides_win_and_unknown_sources_are_refused():
    mapping = map_columns(["名称", "代号", "乡镇"], "grids", overrides={"code": "代号", "name": "名称"})
    assert mapping.used == {"code": "代号", "name": "名称", "town_code": "乡镇"}
    assert mapping.from_file == {"code", "name"}
    assert mapping.describe("grids")[0] == "网格编码（code）← 代号（映射文件）"
    with pytest.raises(InvalidInput, match="“编号X”在文件中不存在") as caught:
        map_columns(["名称"], "grids", overrides={"code": "编号X"})
    assert "文件中的列：名称" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "encoding"),
    [
        ("m.json", '{"网格编码": "代号", "name": "名称"}', "utf-8"),
        ("m.txt", "# 字段映射\n[grids]\n网格编码 = 代号\nname：名称  # 中文冒号也可\n", "utf-8"),
        ("m.txt", "网格编码,代号\n网格名称=名称\n", "gbk"),
        ("m.txt", "\ufeff网格编码 = \"代号\"\nname = '名称'\n", "utf-8"),
    ],
)
def test_read_mapping_file_forms(tmp_path, name, content, encoding):
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    assert read_mapping_file(path, kind="grids") == {"code": "代号", "name": "名称"}


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("m.json", "{bad", "不是有效的 JSON（第 1 行）"),
        ("m.json", '["a"]', "应为 JSON 对象"),
        ("m.txt", "网格编码 = 代号\n只有一个词\n", "第 2 行无法识别"),
        ("m.txt", "面积 = 面积\n", "“面积”不是网格的字段"),
    ],
)
def test_read_mapping_file_errors_say_where(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInput, match=words):
        read_mapping_file(path, kind="grids")


def test_read_mapping_file_missing(tmp_path):
    with pytest.raises(InvalidInput, match="无法读取字段映射文件"):
        read_mapping_file(tmp_path / "none.txt", kind="grids")
