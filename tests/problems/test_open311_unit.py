"""gridmap.problems.open311 as plain functions (no Flask): documents, the request mapping, filters, POST."""

from __future__ import annotations

import datetime as dt

import pytest

from gridmap.auth import User, add_api_key
from gridmap.errors import Forbidden, InvalidInput, NotFound
from gridmap.problems import open311
from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD, OUTSIDE_GRIDS
from tests.problems.contexts import make_context

NOW = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)
OFFICE = User(id=1, username="office", role="office")


@pytest.fixture(scope="module")
def world(module_database):
    """P1 garbage by U1 (open); P2 stall, rejected with a reason; P3 manhole (4 h, overdue later);
    OLD garbage 100 days ago (outside the default window); P4 outside every grid."""
    from gridmap.problems.service import report_problem
    from gridmap.problems.workflow import act

    ctx = make_context(*module_database)

    def report(spot, category, *, at=NOW, **kw):
        return report_problem(
            ctx, lon=spot[0], lat=spot[1], category=category, description="描述", now=at, **kw
        ).record["tracking_no"]

    numbers = {
        "OLD": report(ON_BINJIANG_ROAD, "garbage", at=NOW - dt.timedelta(days=100)),
        "P1": report(ON_BINJIANG_ROAD, "garbage", reporter_name="张三", reporter_phone="13900000000"),
        "P2": report(NEAR_HOSPITAL, "stall"),
        "P3": report(NEAR_HOSPITAL, "manhole"),
        "P4": report(OUTSIDE_GRIDS, "garbage"),
    }
    act(ctx, numbers["P2"], user=OFFICE, action="reject", note="不属于本系统受理范围", now=NOW)
    key = add_api_key(ctx.store, name="12345 热线", source="media", days=365, now=NOW)
    return ctx, numbers, key


def _ids(world, requests) -> list[str]:
    _, numbers, _ = world
    names = {v: k for k, v in numbers.items()}
    return [names[r["service_request_id"]] for r in requests]


def test_discovery_names_the_endpoint_without_a_trailing_slash():
    doc = open311.discovery(base_url="https://gridmap.example/open311/v2/")
    [endpoint] = doc["endpoints"]
    assert endpoint["url"] == "https://gridmap.example/open311/v2"
    assert endpoint["specification"] == open311.SPEC_URL and endpoint["formats"] == [
        "application/json",
        "application/xml",
    ]
    assert doc["changeset"] == endpoint["changeset"] == open311.CHANGESET
    assert "gridmap apikey add" in doc["key_service"]


def test_services_are_the_categories(world):
    ctx, _, _ = world
    services = open311.services(ctx)
    assert [s["service_code"] for s in services] == [c.code for c in ctx.categories]
    manhole = next(s for s in services if s["service_code"] == "manhole")
    assert manhole == {
        "service_code": "manhole",
        "service_name": "井盖缺失",
        "description": "井盖缺失（公共设施），处置时限 4 个工作小时",
        "metadata": False,
        "type": "realtime",
        "keywords": "公共设施",
        "group": "公共设施",
    }


def test_service_definition_by_code_or_name(world):
    ctx, _, _ = world
    assert open311.service_definition(ctx, "garbage") == {"service_code": "garbage", "attributes": []}
    assert open311.service_definition(ctx, "井盖缺失")["service_code"] == "manhole"
    with pytest.raises(NotFound, match="service_code“nope”不存在"):
        open311.service_definition(ctx, "nope")


def test_a_request_maps_every_field(world):
    from gridmap.clock import iso
    from gridmap.problems.records import find_row

    ctx, numbers, _ = world
    [req] = open311.get_request(ctx, numbers["P1"].lower(), now=NOW)
    deadline = iso(find_row(ctx, numbers["P1"]).deadline)  # the category's deadline (deadlines.py)
    assert req == {
        "service_request_id": numbers["P1"],
        "status": "open",
        "status_notes": "已上报",
        "service_name": "垃圾暴露",
        "service_code": "garbage",
        "description": "描述",
        "agency_responsible": "县住建局",
        "service_notice": None,
        "requested_datetime": "2026-11-27T09:00:00+08:00",
        "updated_datetime": "2026-11-27T09:00:00+08:00",
        "expected_datetime": deadline,
        "address": "滨江路",
        "address_id": None,
        "zipcode": None,
        "lat": ON_BINJIANG_ROAD[1],
        "long": ON_BINJIANG_ROAD[0],
        "media_url": None,
    }
    assert "张三" not in str(req)  # never the reporter


def test_status_mapping_rejected_with_reason_and_overdue(world):
    ctx, numbers, _ = world
    [rejected] = open311.get_request(ctx, numbers["P2"], now=NOW)
    assert (rejected["status"], rejected["status_notes"]) == ("closed", "不予立案：不属于本系统受理范围")
    [late] = open311.get_request(ctx, numbers["P3"], now=NOW + dt.timedelta(hours=5))
    assert (late["status"], late["status_notes"]) == ("open", "已上报（已逾期，督办中）")
    [fallback] = open311.get_request(ctx, numbers["P4"], now=NOW)
    assert fallback["agency_responsible"] is None
    with pytest.raises(NotFound):
        open311.get_request(ctx, "FX20000101-0001")
    assert open311.status_label("verified") == "已核查" and open311.status_label("odd") == "odd"


def test_get_requests_defaults_to_the_last_90_days_newest_first(world):
    ctx, _, _ = world
    assert _ids(world, open311.get_requests(ctx, {}, now=NOW)) == ["P4", "P3", "P2", "P1"]
    assert _ids(world, open311.get_requests(ctx, {}, now=NOW + dt.timedelta(days=91))) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"status": "open"}, ["P4", "P3", "P1"]),
        ({"status": "closed"}, ["P2"]),
        ({"status": "open, closed"}, ["P4", "P3", "P2", "P1"]),
        ({"service_code": "garbage"}, ["P4", "P1"]),
        ({"service_code": "stall,井盖缺失"}, ["P3", "P2"]),
        ({"service_code": "garbage", "status": "closed"}, []),
    ],
)
def test_get_requests_filters(world, args, expected):
    ctx, _, _ = world
    assert _ids(world, open311.get_requests(ctx, args, now=NOW)) == expected


def test_ids_ignore_the_other_filters_and_the_window(world):
    ctx, numbers, _ = world
    args = {
        "service_request_id": f"{numbers['OLD'].lower()}, {numbers['P2']}",
        "status": "open",
        "service_code": "manhole",
    }
    assert sorted(_ids(world, open311.get_requests(ctx, args, now=NOW))) == ["OLD", "P2"]


def test_explicit_dates_pick_the_window(world):
    ctx, _, _ = world
    old = {"start_date": "2026-08-01T00:00:00+08:00", "end_date": "2026-08-31T00:00:00+08:00"}
    assert _ids(world, open311.get_requests(ctx, old, now=NOW)) == ["OLD"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"status": "pending,open"}, "status 只能是 open 或 closed，实际为“pending”"),
        ({"service_code": "nope"}, "nope"),
        (
            {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"},
            "不能超过 90 天",
        ),
        (
            {"start_date": "2026-06-01T00:00:00+08:00", "end_date": "2026-05-01T00:00:00+08:00"},
            "不能早于 start_date",
        ),
    ],
)
def test_get_requests_refuses_bad_filters(world, args, words):
    ctx, _, _ = world
    with pytest.raises(InvalidInput, match=words):
        open311.get_requests(ctx, args, now=NOW)


def test_post_files_a_problem_as_the_keys_source(world):
    ctx, _, key = world
    form = {
        "api_key": key,
        "service_code": "garbage",
        "lat": str(ON_BINJIANG_ROAD[1]),
        "long": str(ON_BINJIANG_ROAD[0]),
        "first_name": "三",
        "last_name": "张",
        "phone": "13900000001",
        "address_string": "滨江路东桥",
    }
    [answer] = open311.post_request(ctx, form, now=NOW)
    number = answer["service_request_id"]
    from gridmap.clock import iso
    from gridmap.problems.records import find_row, record

    row = find_row(ctx, number)
    assert answer["service_notice"] == f"已受理，受理编号 {number}，由县住建局负责，期限 {iso(row.deadline)}"
    assert iso(row.deadline) > "2026-11-27T09:00:00+08:00"
    assert (row.source, row.reporter_name, row.reporter_phone) == ("media", "张 三", "13900000001")
    assert row.description == "滨江路东桥"  # no description: the address says what and where
    [event] = record(ctx, row, viewer=OFFICE, now=NOW)["history"]
    assert (event["actor"], event["actor_role"]) == ("open311:12345 热线", "api")
    [req] = open311.get_request(ctx, number, now=NOW)
    assert req["service_code"] == "garbage" and req["agency_responsible"] == "县住建局"


@pytest.mark.parametrize(
    ("form", "error", "words"),
    [
        ({"service_code": "garbage", "lat": "33.91", "long": "106.5151"}, Forbidden, "缺少 api_key"),
        (
            {"api_key": "wrong", "service_code": "garbage", "lat": "33.91", "long": "106.5151"},
            Forbidden,
            "无效",
        ),
        ({"api_key": None, "lat": "33.91", "long": "106.5151"}, InvalidInput, "缺少 service_code"),
        (
            {"api_key": None, "service_code": "garbage", "address_string": "滨江路"},
            InvalidInput,
            "仅有地址无法受理",
        ),
        (
            {"api_key": None, "service_code": "garbage", "description": "d"},
            InvalidInput,
            "缺少位置：请提供 lat 和 long",
        ),
        (
            {
                "api_key": None,
                "service_code": "garbage",
                "lat": "33.91",
                "long": "106.5151",
                "description": "d",
                "source": "citizen",
            },
            Forbidden,
            "不能以“citizen”上报",
        ),
    ],
)
def test_post_refusals(world, form, error, words):
    ctx, _, key = world
    form = {k: (key if k == "api_key" and v is None else v) for k, v in form.items()}
    with pytest.raises(error, match=words):
        open311.post_request(ctx, form, now=NOW)
