"""The exposure page: the office publishes filed problems with a public title; the public list shows
place, category, unit, deadline and photos (the after photo once fixed), never personal data."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gridmap.errors import Conflict, Forbidden, InvalidInput
from gridmap.exposure import service
from gridmap.problems.records import find_row
from gridmap.problems.service import report_problem
from gridmap.problems.workflow import act
from tests.problems.conftest import NEAR_HOSPITAL, jpeg_bytes

T0 = dt.datetime(2026, 11, 10, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def people(make_user):
    return {
        "office": make_user("boss", "office"),
        "unit": make_user("u2", "unit", unit_code="U2"),
        "inspector": make_user("insp", "inspector"),
    }


def _case(ctx, office, *, description="医院门口垃圾，联系人李四"):
    made = report_problem(
        ctx,
        lon=NEAR_HOSPITAL[0],
        lat=NEAR_HOSPITAL[1],
        category="garbage",
        description=description,
        reporter_name="李四",
        reporter_phone="13912345678",
        photos=[("before.jpg", jpeg_bytes())],
        now=T0,
    )
    no = made.record["tracking_no"]
    act(ctx, no, user=office, action="dispatch", unit_code="U2", now=T0)
    return no


def test_a_published_problem_shows_public_facts_and_the_after_photo_once_fixed(ctx, people):
    office = people["office"]
    no = _case(ctx, office)
    done = service.publish(ctx, no, user=office, title=" 医院门口 垃圾 ", comment="长期堆放", now=T0)
    assert done["exposure"]["published"] and done["exposure"]["title"] == "医院门口 垃圾"
    view = service.page(ctx, now=T0)
    assert view["count"] == 1
    item = view["problems"][0]
    assert item["tracking_no"] == no and item["unit"] and item["category_name"] and item["deadline_text"]
    assert len(item["before_photos"]) == 1 and item["after_photos"] == [] and not item["fixed"]
    text = json.dumps(view, ensure_ascii=False)
    for private in ("李四", "13912345678", "boss", "u2", "医院门口垃圾，联系人"):
        assert private not in text
    act(
        ctx,
        no,
        user=people["unit"],
        action="rectify",
        note="已清理",
        photos=[("after.jpg", jpeg_bytes(color=(30, 200, 30)))],
        now=T0 + dt.timedelta(hours=1),
    )
    item = service.page(ctx, now=T0)["problems"][0]
    assert item["fixed"] and item["status"] == "rectified"
    assert [p["stage_label"] for p in item["after_photos"]] == ["整改"]
    assert item["after_photos"][0]["url"] != item["before_photos"][0]["url"]


def test_unpublish_and_publish_again_go_to_the_top(ctx, people):
    office = people["office"]
    first, second = _case(ctx, office), _case(ctx, office)
    service.publish(ctx, first, user=office, title="一", now=T0)
    service.publish(ctx, second, user=office, title="二", now=T0 + dt.timedelta(minutes=1))
    assert [p["title"] for p in service.page(ctx)["problems"]] == ["二", "一"]
    service.unpublish(ctx, first, user=office, now=T0 + dt.timedelta(minutes=2))
    assert [p["title"] for p in service.page(ctx)["problems"]] == ["二"]
    assert service.state(ctx, find_row(ctx, first).id)["published"] is False
    with pytest.raises(Conflict, match="不在曝光台上"):
        service.unpublish(ctx, first, user=office)
    service.publish(ctx, first, user=office, title="一again", now=T0 + dt.timedelta(minutes=3))
    assert [p["title"] for p in service.page(ctx)["problems"]] == ["一again", "二"]


def test_only_the_office_publishes_filed_cases_with_a_title(ctx, people):
    office = people["office"]
    no = _case(ctx, office)
    for user in (None, people["unit"], people["inspector"]):
        with pytest.raises(Forbidden):
            service.publish(ctx, no, user=user, title="x")
    with pytest.raises(InvalidInput, match="曝光标题"):
        service.publish(ctx, no, user=office, title="  ")
    with pytest.raises(InvalidInput, match="最多 60"):
        service.publish(ctx, no, user=office, title="长" * 61)
    waiting = report_problem(
        ctx, lon=NEAR_HOSPITAL[0], lat=NEAR_HOSPITAL[1], category="garbage", description="x", now=T0
    ).record["tracking_no"]
    with pytest.raises(Conflict, match="立案"):
        service.publish(ctx, waiting, user=office, title="未立案")
    with pytest.raises(InvalidInput, match="页码"):
        service.page(ctx, number="abc")
