"""Categories: at least 20 built in, replaced by a CSV or JSON file named in a setting."""

from __future__ import annotations

import json

import pytest

from gridmap.errors import ConfigError, InvalidInput
from gridmap.problems.categories import DEFAULT_CATEGORIES, load_categories


def test_built_in_list():
    cats = load_categories()
    assert len(cats) >= 20
    names = {c.name for c in cats}
    assert {
        "垃圾暴露",
        "占道经营",
        "机动车乱停",
        "非机动车乱停",
        "小广告",
        "设施损坏",
        "井盖缺失",
        "路灯不亮",
        "公厕脏乱",
        "违规户外广告",
        "不文明养犬",
        "施工围挡破损",
    } <= names
    assert len({c.code for c in DEFAULT_CATEGORIES}) == len(DEFAULT_CATEGORIES)
    assert cats.get("井盖缺失").code == "manhole" and cats.get("manhole").deadline_hours == 4
    with pytest.raises(InvalidInput, match="不存在"):
        cats.get("nope")


def test_csv_with_chinese_headers_and_json(tmp_path):
    path = tmp_path / "cats.csv"
    path.write_text("编码,名称,分组,处置时限（小时）\nsnow,积雪未清,市容环境,6\n", encoding="utf-8-sig")
    cats = load_categories(path)
    assert [c.as_dict() for c in cats] == [
        {
            "code": "snow",
            "name": "积雪未清",
            "group": "市容环境",
            "deadline_hours": 6.0,
            "urgent_hours": None,  # a file without the urgent columns still loads
            "urgency": "normal",
        }
    ]
    path = tmp_path / "cats.json"
    path.write_text(json.dumps([{"code": "a", "name": "甲", "deadline_hours": 2}]), encoding="utf-8")
    assert load_categories(path).get("甲").group == "其他"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code,name,group,deadline_hours\na,甲,g,0\n", "deadline_hours 应为正数"),
        ("code,name,group,deadline_hours\na,甲,g,1\na,乙,g,1\n", "重复"),
        ("code,group\na,g\n", "缺少字段"),
        ("code,name,group,deadline_hours\n", "没有任何类别"),
        ("code,name,deadline_hours,urgent_hours\na,甲,4,0\n", "第 2 行：紧急处置时限 urgent_hours 应为正数"),
        ("code,name,deadline_hours,urgent_hours\na,甲,4,8\n", "紧急处置时限 8 小时长于处置时限 4 小时"),
        (
            "code,name,deadline_hours,urgency\na,甲,4,high\n",
            "默认紧急程度应为 一般（normal）或 紧急（urgent）",
        ),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "cats.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_categories(path)


def test_setting_replaces_the_list(app, settings, tmp_path):
    from web import create_app

    path = tmp_path / "cats.csv"
    path.write_text("code,name,group,deadline_hours\nsnow,积雪未清,市容环境,6\n", encoding="utf-8")
    custom = create_app({**settings, "GRIDMAP_PROBLEM_CATEGORIES": str(path)})
    body = custom.test_client().get("/api/categories").get_json()
    assert [c["code"] for c in body["categories"]] == ["snow"]


def test_urgent_columns_in_chinese_and_english(tmp_path):
    path = tmp_path / "cats.csv"
    path.write_text(
        "编码,名称,分组,处置时限（小时）,紧急处置时限（小时）,默认紧急程度\n"
        "well,井盖缺失,公共设施,8,2,紧急\n"
        "snow,积雪未清,市容环境,24,,\n"
        "ice,路面结冰,市容环境,12,4,一般\n",
        encoding="utf-8-sig",
    )
    cats = load_categories(path)
    assert [(c.code, c.urgent_hours, c.urgency) for c in cats] == [
        ("well", 2.0, "urgent"),
        ("snow", None, "normal"),  # empty cells: GRIDMAP_URGENT_HOURS, normal
        ("ice", 4.0, "normal"),
    ]
    path = tmp_path / "cats.json"
    path.write_text(
        json.dumps(
            [{"code": "a", "name": "甲", "deadline_hours": 6, "urgent_hours": 1, "urgency": "urgent"}]
        ),
        encoding="utf-8",
    )
    assert load_categories(path).get("a").as_dict()["urgent_hours"] == 1


def test_built_in_urgent_by_default():
    cats = load_categories()
    urgent = sorted(c.code for c in cats if c.urgency == "urgent")
    assert urgent == ["manhole", "muck_truck"]  # people fall in; vehicles skid
    assert cats.get("manhole").urgent_hours == 2
    assert all(c.urgent_hours is None or c.urgent_hours <= c.deadline_hours for c in cats)
