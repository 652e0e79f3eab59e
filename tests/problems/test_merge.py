"""Staff merge of duplicates: who may, which cases, supporters and photos carried over, events."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from gridmap.problems import merge
from gridmap.problems.records import find_row, show
from gridmap.problems.repository import events_and_photos
from gridmap.problems.service import report_problem
from gridmap.problems.workflow import act, support
from tests.problems.conftest import ON_BINJIANG_ROAD, jpeg_bytes

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def people(make_user):
    return {
        "office": make_user("office", "office"),
        "unit": make_user("u1", "unit", unit_code="U1"),
        "inspector": make_user("insp", "inspector"),
        "leader": make_user("lead", "leader", leader_code="L01"),
    }


def _report(ctx, *, photos=None, minutes=0):
    spot = ON_BINJIANG_ROAD
    return report_problem(
        ctx,
        lon=spot[0],
        lat=spot[1],
        category="garbage",
        description="垃圾",
        photos=photos,
        now=T0 + dt.timedelta(minutes=minutes),
    ).record["tracking_no"]


def test_the_office_merges_a_duplicate_supporters_and_photos_follow(ctx, people):
    kept = _report(ctx)
    dup = _report(ctx, photos=[("a.jpg", jpeg_bytes()), ("b.jpg", jpeg_bytes(color=(0, 0, 200)))], minutes=5)
    support(ctx, dup, client="1.2.3.4", now=T0)
    support(ctx, kept, client="5.6.7.8", now=T0)
    act(ctx, kept, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    at = T0 + dt.timedelta(hours=1)
    rec = merge.merge(ctx, dup, user=people["office"], into=kept.lower(), note="同一堆垃圾", now=at)
    assert rec["status"] == "merged" and rec["closed_at"]
    assert rec["merged_into"]["tracking_no"] == kept
    k = show(ctx, kept, viewer=people["office"])
    assert k["status"] == "dispatched" and k["supporters"] == 1 + (
        1 + 1
    )  # its own + the duplicate and its one
    d_photos = show(ctx, dup, viewer=None)["photos"]
    assert len(k["photos"]) == 2 and {p["stage"] for p in k["photos"]} == {"report"}
    # the same stored files: the kept case's copies serve the duplicate's images
    d_row, k_row = find_row(ctx, dup), find_row(ctx, kept)
    photos = events_and_photos(ctx.store, [d_row.id, k_row.id])[1]
    assert [p.key for p in photos[k_row.id]] == [p.key for p in photos[d_row.id]]
    assert len(d_photos) == 2
    d_event = events_and_photos(ctx.store, [d_row.id])[0][d_row.id][-1]
    k_event = events_and_photos(ctx.store, [k_row.id])[0][k_row.id][-1]
    assert (d_event.action, d_event.actor, d_event.from_status, d_event.to_status) == (
        "merge",
        "office",
        "reported",
        "merged",
    )
    assert json.loads(d_event.detail)["into"] == kept and d_event.note == "同一堆垃圾"
    assert (k_event.action, k_event.to_status) == ("merge", "dispatched")
    assert json.loads(k_event.detail) == {"merged_in": dup, "merged_in_id": d_row.id, "supporters_added": 2}
    assert {p.event_id for p in photos[k_row.id]} == {k_event.id}
    # a merged case is final: no support, no second merge
    with pytest.raises(Conflict):
        support(ctx, dup, client="9.9.9.9", now=at)
    other = _report(ctx, minutes=9)
    with pytest.raises(Conflict, match="“已合并”，已经办结"):
        merge.merge(ctx, dup, user=people["office"], into=other, now=at)


@pytest.mark.parametrize("role", ["unit", "inspector", "leader"])
def test_only_the_office_merges(ctx, people, role):
    kept, dup = _report(ctx), _report(ctx, minutes=1)
    act(ctx, dup, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    with pytest.raises(Forbidden):
        merge.merge(ctx, dup, user=people[role], into=kept, now=T0)
    assert find_row(ctx, dup).status == "dispatched" and find_row(ctx, kept).supporters == 0


def test_refusals_leave_both_cases_as_they_were(ctx, people):
    kept, dup = _report(ctx), _report(ctx, minutes=1)
    office = people["office"]
    with pytest.raises(Unauthorized):
        merge.merge(ctx, dup, user=None, into=kept, now=T0)
    with pytest.raises(InvalidInput, match="into"):
        merge.merge(ctx, dup, user=office, into="  ", now=T0)
    with pytest.raises(InvalidInput, match="自己"):
        merge.merge(ctx, dup, user=office, into=dup, now=T0)
    with pytest.raises(NotFound):
        merge.merge(ctx, dup, user=office, into="FX20990101-0001", now=T0)
    for huge in ("9" * 40, "1" * 5000):  # no id that large; never an overflow
        with pytest.raises(NotFound):
            merge.merge(ctx, dup, user=office, into=huge, now=T0)
    with pytest.raises(InvalidInput, match="不是受理编号"):
        merge.merge(ctx, dup, user=office, into="hello", now=T0)
    act(ctx, kept, user=office, action="reject", note="不属实", now=T0)
    with pytest.raises(Conflict, match="只能合并到尚在办理中的问题"):
        merge.merge(ctx, dup, user=office, into=kept, now=T0)
    assert find_row(ctx, dup).status == "reported" and find_row(ctx, kept).supporters == 0


def test_into_a_merged_case_follows_the_chain_to_the_kept_one(ctx, people):
    office = people["office"]
    first, second, third = _report(ctx), _report(ctx, minutes=1), _report(ctx, minutes=2)
    merge.merge(ctx, second, user=office, into=first, now=T0)
    rec = merge.merge(ctx, third, user=office, into=second, now=T0)
    assert rec["merged_into"]["tracking_no"] == first
    assert find_row(ctx, first).supporters == 2
    # a case merged into the one given is not merged "into itself" through the chain
    with pytest.raises(InvalidInput, match="自己"):
        merge.merge(ctx, first, user=office, into=second, now=T0)


def test_candidates_are_nearby_open_cases_of_the_category_not_itself(ctx, people):
    from gridmap.problems.records import show as show_record

    kept, dup = _report(ctx), _report(ctx, minutes=1)
    merged_away = _report(ctx, minutes=2)
    merge.merge(ctx, merged_away, user=people["office"], into=kept, now=T0)
    found = merge.candidates(ctx, show_record(ctx, dup, viewer=people["office"]))
    assert [c["tracking_no"] for c in found] == [kept]  # not itself, not the merged (final) one
    assert "垃圾" in found[0]["text"] and found[0]["distance_m"] == 0


def test_a_merge_that_loses_a_race_writes_nothing(ctx, people):
    # the kept case moved on between reading and writing: the duplicate's change is rolled back too
    from gridmap.problems import repository

    kept, dup = _report(ctx), _report(ctx, photos=[("a.jpg", jpeg_bytes())], minutes=1)
    d, k = find_row(ctx, dup), find_row(ctx, kept)
    moved = repository.merge_problems(
        ctx.store,
        duplicate=(d.id, "reported"),
        kept=(k.id, "dispatched"),  # stale: it is still reported
        changes={"status": "merged", "merged_into": k.id},
        events=({"at": T0, "actor_role": "office", "action": "merge", "to_status": "merged"},) * 2,
        supporters=1,
        now=T0,
    )
    assert moved is None
    d2, k2 = find_row(ctx, dup), find_row(ctx, kept)
    assert (d2.status, d2.merged_into, k2.supporters) == ("reported", None, 0)
    events, photos = events_and_photos(ctx.store, [d.id, k.id])
    assert [e.action for e in events[d.id]] == ["report"] and [e.action for e in events[k.id]] == ["report"]
    assert len(photos[k.id]) == 0 and len(photos[d.id]) == 1
