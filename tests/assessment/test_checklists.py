"""The checklist file: the shipped default covers the 28 point categories; bad lines name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest

from gridmap.assessment.checklists import DEFAULT_FILE, load_checklists, parse_checklists
from gridmap.errors import DataError
from gridmap.problems.categories import load_categories

ROOT = Path(__file__).resolve().parents[2]
HEADER = "点位类别,测评标准,权重,问题类别,紧急程度\n"


@pytest.fixture
def categories():
    return load_categories(None)


def test_default_file_covers_every_demo_point_category_with_weighted_criteria(categories):
    lists = load_checklists(None, categories=categories)
    demo = set(
        pyogrio.read_dataframe(
            ROOT / "geodata/demo/layers.gpkg", layer="points", read_geometry=False
        ).category
    )
    assert len(demo) == 28
    assert set(lists.by_category) == demo
    for items in lists.by_category.values():
        assert len(items) >= 2
        assert all(c.weight > 0 for c in items)
    market = lists.for_category("农贸市场")
    assert [c.key for c in market] == ["农贸市场-1", "农贸市场-2", "农贸市场-3", "农贸市场-4"]
    assert market[0].text.startswith("划行归市") and market[0].problem_category == "stall"
    assert lists.for_category("主次干道")[2].urgency == "urgent"  # 井盖 is urgent in the file
    assert lists.source == str(DEFAULT_FILE)


def test_county_file_in_gbk_with_names_for_categories(tmp_path, categories):
    path = tmp_path / "清单.csv"
    path.write_bytes(
        (HEADER + "农贸市场,地面无积水,2.5,垃圾暴露,紧急\n\n农贸市场,公益广告,1,public_ads,\n").encode("gbk")
    )
    lists = load_checklists(path, categories=categories)
    first, second = lists.for_category("农贸市场")
    assert (first.problem_category, first.weight, first.urgency) == ("garbage", 2.5, "urgent")
    assert (second.problem_category, second.urgency) == ("public_ads", "normal")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (HEADER + "农贸市场,地面无积水,两分,garbage,\n", "第 2 行“权重”应为正数"),
        (HEADER + "农贸市场,地面无积水,0,garbage,\n", "第 2 行“权重”应大于 0"),
        (HEADER + "农贸市场,地面无积水,1,garbage,\n农贸市场,,1,garbage,\n", "第 3 行“测评标准”为空"),
        (HEADER + "农贸市场,地面无积水,1,没有这类,\n", "第 2 行“问题类别”“没有这类”不是问题类别"),
        (HEADER + "农贸市场,地面无积水,1,garbage,很急\n", "第 2 行“紧急程度”应为 一般/紧急"),
        (
            HEADER + "农贸市场,地面无积水,1,garbage,\n农贸市场,地面无积水,2,garbage,\n",
            "第 3 行“测评标准”“地面无积水”在点位类别“农贸市场”下重复",
        ),
        ("点位类别,标准,权重\n农贸市场,x,1\n", "第 1 行（表头）缺少列：测评标准、问题类别"),
        (HEADER, "只有表头"),
    ],
)
def test_bad_lines_say_file_line_and_field(categories, text, where):
    with pytest.raises(DataError) as caught:
        parse_checklists(text, path="county.csv", categories=categories)
    assert "测评清单文件 county.csv" in caught.value.message
    assert where in caught.value.message


def test_missing_file_names_the_setting(tmp_path, categories):
    with pytest.raises(DataError, match="GRIDMAP_CHECKLIST_FILE"):
        load_checklists(tmp_path / "nope.csv", categories=categories)


def test_a_category_without_criteria_is_a_clear_message(categories):
    lists = parse_checklists(HEADER + "医院,门前整洁,1,garbage,\n", path="c.csv", categories=categories)
    with pytest.raises(DataError, match="没有点位类别“学校”的测评标准"):
        lists.for_category("学校")
