"""Rounds and assessments: fails become problems dispatched to the point's unit with photos; scores; roles; all-or-nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from gridmap.assessment import service
from gridmap.assessment.checklists import Criterion
from gridmap.assessment.schema import assessment_items, assessments
from gridmap.auth import User
from gridmap.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from gridmap.problems.schema import problem_events, problem_photos, problems
from tests.problems.conftest import jpeg_bytes

NOW = dt.datetime(2026, 11, 18, 2, 0, tzinfo=dt.UTC)  # a Wednesday, 10:00 China time
OFFICE = User(id=1, username="office1", role="office")
INSPECTOR = User(id=2, username="insp1", role="inspector")


def _count(ctx, table) -> int:
    with ctx.store.reading() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def round_id(ctx):
    made = service.create_round(
        ctx, user=OFFICE, name="2026年11月第2次测评", starts_on="2026-11-16", ends_on="2026-11-30", now=NOW
    )
    return made["id"]


def _market_results(**override):
    base = {"农贸市场-1": "fail", "农贸市场-2": "pass", "农贸市场-3": "fail", "农贸市场-4": "na"}
    return {**base, **override}


def test_two_fails_become_two_problems_dispatched_to_the_points_unit_with_photos(ctx, round_id):
    photos = {
        "农贸市场-1": [("a.jpg", jpeg_bytes())],
        "农贸市场-3": [("b.jpg", jpeg_bytes(color=(0, 90, 200)))],
    }
    done = service.submit(
        ctx, round_id, "P1", user=INSPECTOR, results=_market_results(), photos=photos, note="东门", now=NOW
    )
    assert len(done["filed"]) == 2
    # weights 3 (fail), 3 (pass), 2 (fail); 不适用 left out: 3 / 8
    assert done["score"] == pytest.approx(3 / 8)
    assert (done["passed"], done["failed"], done["not_applicable"]) == (1, 2, 1)
    with ctx.store.reading() as conn:
        rows = conn.execute(select(problems).order_by(problems.c.id)).all()
        assert [r.category for r in rows] == ["stall", "public_ads"]
        assert {(r.status, r.unit_code, r.source, r.reported_by) for r in rows} == {
            ("dispatched", "U1", "inspector", "insp1")
        }
        assert all("城关农贸市场" in r.description and "东门" in r.description for r in rows)
        for r in rows:
            assert (
                conn.execute(select(func.count()).where(problem_photos.c.problem_id == r.id)).scalar_one()
                == 1
            )
            actions = [
                e.action
                for e in conn.execute(select(problem_events).where(problem_events.c.problem_id == r.id))
            ]
            assert actions == ["report", "dispatch"]
        linked = conn.execute(select(assessment_items).where(assessment_items.c.result == "fail")).all()
        assert sorted(i.tracking_no for i in linked) == sorted(r.tracking_no for r in rows)
    assert [i["tracking_no"] is not None for i in done["items"]] == [True, False, True, False]
    # the round's coverage: P1 assessed, P2 still due
    cov = service.coverage(ctx, round_id, user=OFFICE)
    assert (cov["assessed"], cov["due"]) == (1, 1)
    assert {p["code"]: p["assessed"] for p in cov["points"]} == {"P1": True, "P2": False}


def test_a_fail_without_photo_writes_nothing_and_says_which(ctx, round_id):
    photos = {"农贸市场-1": [("a.jpg", jpeg_bytes())]}
    with pytest.raises(InvalidInput) as caught:
        service.submit(ctx, round_id, "P1", user=INSPECTOR, results=_market_results(), photos=photos, now=NOW)
    assert (
        "不合格项必须拍照" in caught.value.message and "第 3 条“公益广告醒目、无破损”" in caught.value.message
    )
    assert "没有写入任何内容" in caught.value.message
    assert (_count(ctx, problems), _count(ctx, assessments), _count(ctx, assessment_items)) == (0, 0, 0)


def test_a_bad_photo_or_a_missing_answer_writes_nothing(ctx, round_id):
    photos = {"农贸市场-1": [("a.jpg", jpeg_bytes())], "农贸市场-3": [("b.jpg", b"not a picture at all")]}
    with pytest.raises(InvalidInput):
        service.submit(ctx, round_id, "P1", user=INSPECTOR, results=_market_results(), photos=photos, now=NOW)
    with pytest.raises(InvalidInput, match="请为第 4 条“公共厕所干净无异味”选择"):
        service.submit(
            ctx, round_id, "P1", user=INSPECTOR, results=_market_results(**{"农贸市场-4": ""}), now=NOW
        )
    assert (_count(ctx, problems), _count(ctx, assessments)) == (0, 0)


def test_a_point_once_per_round_and_not_after_the_round(ctx, round_id):
    results = {"医院-1": "pass", "医院-2": "pass", "医院-3": "na"}
    service.submit(ctx, round_id, "P2", user=INSPECTOR, results=results, now=NOW)
    with pytest.raises(Conflict, match="已经测评过"):
        service.submit(ctx, round_id, "P2", user=INSPECTOR, results=results, now=NOW)
    with pytest.raises(Conflict, match="已于 2026-11-30 结束"):
        service.submit(
            ctx, round_id, "P1", user=INSPECTOR, results=_market_results(), now=NOW + dt.timedelta(days=20)
        )
    assert _count(ctx, problems) == 0


@pytest.mark.parametrize("role", ["unit", "leader"])
def test_only_inspectors_and_office_fill_and_only_office_makes_rounds(ctx, round_id, role):
    other = User(id=9, username="x", role=role, unit_code="U1" if role == "unit" else None)
    with pytest.raises(Forbidden):
        service.submit(ctx, round_id, "P2", user=other, results={}, now=NOW)
    with pytest.raises(Forbidden):
        service.coverage(ctx, round_id, user=other)
    with pytest.raises(Forbidden):
        service.create_round(ctx, user=INSPECTOR, name="x", starts_on="2026-11-01", ends_on="2026-11-02")
    with pytest.raises(Unauthorized):
        service.assessment_form(ctx, round_id, "P1", user=None)


def test_round_input_is_checked(ctx, round_id):
    with pytest.raises(Conflict, match="已有名为"):
        service.create_round(
            ctx, user=OFFICE, name="2026年11月第2次测评", starts_on="2026-11-16", ends_on="2026-11-30"
        )
    with pytest.raises(InvalidInput, match="早于开始日期"):
        service.create_round(ctx, user=OFFICE, name="y", starts_on="2026-11-16", ends_on="2026-11-01")
    assert [r["name"] for r in service.rounds(ctx, user=INSPECTOR)] == ["2026年11月第2次测评"]


def test_score_is_the_weighted_pass_rate_over_applicable_criteria():
    def c(weight: float) -> Criterion:
        return Criterion(f"k{weight}", "x", "t", weight, "garbage", "normal")

    assert service.score_of([(c(3), "pass"), (c(1), "fail")]) == 0.75
    assert service.score_of([(c(3), "pass"), (c(1), "na")]) == 1.0
    assert service.score_of([(c(3), "na")]) is None


def test_pass_rates_by_group_and_period(ctx, round_id):
    photos = {"农贸市场-1": [("a.jpg", jpeg_bytes())], "农贸市场-3": [("b.jpg", jpeg_bytes())]}
    service.submit(ctx, round_id, "P1", user=INSPECTOR, results=_market_results(), photos=photos, now=NOW)
    service.submit(
        ctx,
        round_id,
        "P2",
        user=OFFICE,
        results={"医院-1": "pass", "医院-2": "pass", "医院-3": "na"},
        now=NOW,
    )
    by_grid = service.pass_rates(ctx.store, dt.date(2026, 11, 1), dt.date(2026, 12, 1), "grid")
    assert [(g["code"], g["assessments"], g["applicable"], g["passed"]) for g in by_grid] == [
        ("610330100001", 1, 3, 1),
        ("610330100002", 1, 2, 2),
    ]
    assert by_grid[0]["pass_rate"] == pytest.approx(3 / 8) and by_grid[1]["pass_rate"] == 1.0
    by_inspector = service.pass_rates(ctx.store, dt.date(2026, 11, 1), dt.date(2026, 12, 1), "inspector")
    assert [g["code"] for g in by_inspector] == ["insp1", "office1"]
    by_unit = service.pass_rates(ctx.store, dt.date(2026, 11, 1), dt.date(2026, 12, 1), "unit")
    assert [(g["code"], g["name"]) for g in by_unit] == [("U1", "县住建局"), ("U2", "县城管执法局")]
    assert service.pass_rates(ctx.store, dt.date(2026, 11, 19), dt.date(2026, 12, 1), "town") == []
    with pytest.raises(InvalidInput):
        service.pass_rates(ctx.store, dt.date(2026, 11, 1), dt.date(2026, 12, 1), "category")
