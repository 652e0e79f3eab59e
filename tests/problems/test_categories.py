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
        {"code": "snow", "name": "积雪未清", "group": "市容环境", "deadline_hours": 6.0}
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
