"""The scoring scheme file: parse errors in Chinese naming file and key; scores, grades, ranks, ties."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from gridmap.errors import ConfigError
from gridmap.evaluation.scoring import DEFAULT_FILE, count_score, grade, load_scheme, rank, score

SCHEME = load_scheme()


def test_the_default_scheme_is_the_standard_like_composite():
    assert SCHEME.min_sample == 5 and SCHEME.exclude_parked and SCHEME.grey_flag
    assert SCHEME.composite("grid") == {
        "citizen_share": 10,
        "count": 20,
        "closure_rate": 30,
        "on_time_closure_rate": 40,
    }
    assert SCHEME.composite("unit") == {
        "count": 10,
        "closure_rate": 30,
        "on_time_handling_rate": 30,
        "rework_rate": 30,
    }
    assert SCHEME.source == str(DEFAULT_FILE)


def _write(tmp_path, text):
    path = tmp_path / "评分.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _edited(tmp_path, old, new):
    text = DEFAULT_FILE.read_text(encoding="utf-8")
    assert old in text
    return _write(tmp_path, text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("min_sample = 5", 'min_sample = "五"', r"min_sample 应为数字，实际为“五”"),
        ("min_sample = 5", "min_sample = 2.5", r"min_sample 应为整数"),
        ("grey_flag = true", "grey_flag = 1", r"grey_flag 应为 true 或 false"),
        (
            "closure_rate = 30\non_time_closure_rate",
            "closing_rate = 30\non_time_closure_rate",
            r"composites\.region\.closing_rate 不是指标",
        ),
        ("rework_rate = 30", "rework_rate = -30", r"composites\.unit\.rework_rate 应不小于 0"),
        ('grid = "region"', 'grid = "regional"', r"use\.grid 指定的综合评分“regional”不存在"),
        ('of = "filed"', 'of = "cases"', r"count_score\.of 不是计数"),
        ("[1, 40], [0, 0]", "[1, 40], [0]", r"count_score\.bands 第 6 档 应为 \[不少于, 得分\] 两个数"),
        ("E = 0", "E = 10", r"grades 最低一档应从 0 分起"),
        ("check_hours = 24", "check_hours = 24\ncolour = 1", r"colour 不是评分方案的设置"),
        ("dispatch_hours = 24\n", "", r"dispatch_hours 缺失"),
    ],
)
def test_a_bad_scheme_is_refused_naming_the_file_and_key(tmp_path, old, new, message):
    path = _edited(tmp_path, old, new)
    with pytest.raises(ConfigError, match=message) as caught:
        load_scheme(path)
    assert str(path) in str(caught.value)


def test_unreadable_files_are_refused_in_chinese(tmp_path):
    with pytest.raises(ConfigError, match="不存在；请检查 GRIDMAP_SCORING_FILE"):
        load_scheme(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="不是有效的 UTF-8 TOML"):
        load_scheme(_write(tmp_path, "min_sample = = 5"))


def test_an_edited_scheme_is_read(tmp_path):
    path = _edited(tmp_path, "min_sample = 5", "min_sample = 3")
    assert load_scheme(path).min_sample == 3
    assert load_scheme(path).source == str(path)


def test_count_bands_and_grades():
    assert [count_score(n, SCHEME) for n in (0, 1, 300, 301, 500, 501, 1201, 2000, 2001)] == [
        0,
        40,
        40,
        60,
        60,
        75,
        90,
        90,
        100,
    ]
    assert [grade(s, SCHEME) for s in (100, 90, 89.99, 75, 60, 59.9, 40, 39.99, 0)] == [
        "A",
        "A",
        "B",
        "B",
        "C",
        "D",
        "D",
        "E",
        "E",
    ]
    assert grade(None, SCHEME) is None


def _groups(**columns):
    base = {
        "code": ["G1", "G2", "G3"],
        "reports": [10, 10, 10],
        "filed": [10, 10, 10],
        "citizen_share": [0.5, 0.5, 0.5],
        "closure_rate": [1.0, 1.0, 1.0],
        "on_time_closure_rate": [1.0, 1.0, 1.0],
        "overdue_pending": [0, 0, 0],
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_the_region_score_weighs_and_inverts_as_the_scheme_says():
    table = _groups(closure_rate=[1.0, 0.5, None])
    scores = score(table, "grid", SCHEME)
    # citizen share 0.5 → 50 ×10, count 10 filed → 40 ×20, closure ×30, on-time closure ×40
    assert scores[0] == pytest.approx((50 * 10 + 40 * 20 + 100 * 30 + 100 * 40) / 100)
    assert scores[1] == pytest.approx((50 * 10 + 40 * 20 + 50 * 30 + 100 * 40) / 100)
    # a rate without a value leaves its weight out
    assert scores[2] == pytest.approx((50 * 10 + 40 * 20 + 100 * 40) / 70, abs=0.01)


def test_a_group_under_the_minimum_sample_gets_no_score():
    table = _groups(reports=[10, 4, 5])
    assert score(table, "grid", SCHEME).isna().tolist() == [False, True, False]
    lenient = dataclasses.replace(SCHEME, min_sample=0)
    assert score(table, "grid", lenient).notna().all()


def test_ties_go_to_the_higher_on_time_closure_rate_then_fewer_overdue_then_the_code():
    table = _groups(
        code=["G3", "G1", "G2", "G4"],
        reports=[10] * 4,
        filed=[10] * 4,
        citizen_share=[0.5] * 4,
        closure_rate=[1.0] * 4,
        on_time_closure_rate=[0.8, 0.9, 0.8, 0.8],
        overdue_pending=[2, 5, 1, 2],
    )
    table["score"] = [80.0, 80.0, 80.0, 80.0]
    assert rank(table).tolist() == [3.0, 1.0, 2.0, 4.0]
    table["score"] = [80.0, 70.0, None, 90.0]
    ranks = rank(table)
    assert ranks.tolist()[:2] == [2.0, 3.0] and pd.isna(ranks[2]) and ranks[3] == 1.0
