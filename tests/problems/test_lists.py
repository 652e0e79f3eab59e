"""gridmap.problems.lists on its own: scopes per role, filters, the chase list, CSV/XLSX columns."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest

from gridmap.auth import User
from gridmap.errors import Forbidden, InvalidInput, Unauthorized
from gridmap.problems import lists
from gridmap.problems.categories import load_categories
from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD, ON_XINJIAN_ROAD, OUTSIDE_GRIDS
from tests.problems.contexts import make_context

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
LATER = T0 + dt.timedelta(days=7)  # every 24-working-hour deadline (Wed 2 Dec 12:00) has passed
OFFICE = User(id=1, username="office", role="office")
INSPECTOR = User(id=2, username="insp", role="inspector")
UNIT_U1 = User(id=3, username="u1", role="unit", unit_code="U1")
LEADER_L03 = User(id=4, username="l03", role="leader", leader_code="L03")  # grid 610330100002
GRID_A, GRID_B = "610330100001", "610330100002"


@pytest.fixture(scope="module")
def world(module_database):
    """Five problems: P1 (grid A, U1), P2 (grid B, U3), P3 (grid B, U2, 4 h), P4 (no grid), P5 rejected."""
    from gridmap.problems.service import report_problem
    from gridmap.problems.workflow import act

    ctx = make_context(*module_database)

    def report(spot, category, description, *, user=None, at=T0, **kw):
        return report_problem(
            ctx, lon=spot[0], lat=spot[1], category=category, description=description, user=user, now=at, **kw
        ).record["tracking_no"]

    numbers = {
        "P1": report(ON_BINJIANG_ROAD, "garbage", "河边垃圾堆"),
        "P2": report(ON_XINJIAN_ROAD, "stall", '=HYPERLINK("http://x")', user=INSPECTOR),
        "P3": report(
            NEAR_HOSPITAL,
            "manhole",
            "-井盖没了",
            user=OFFICE,
            source="media",
            reporter_name="张三",
            reporter_phone="13900000000",
        ),
        "P4": report(OUTSIDE_GRIDS, "garbage", "镇外垃圾"),
        "P5": report(ON_BINJIANG_ROAD, "garbage", "又一处垃圾", at=T0 + dt.timedelta(hours=1)),
    }
    act(ctx, numbers["P5"], user=OFFICE, action="reject", note="重复上报", now=T0 + dt.timedelta(hours=2))
    return ctx, numbers


def listed(world, user, scope, now=LATER, **filters) -> list[str]:
    ctx, numbers = world
    names = {v: k for k, v in numbers.items()}
    records = lists.list_problems(
        ctx, user=user, scope=scope, filters=lists.ProblemFilter(**filters), now=now
    )
    return [names[r["tracking_no"]] for r in records]


# --- scopes and roles -------------------------------------------------------------------------


def test_office_sees_everything_newest_first_with_reporters(world):
    assert listed(world, OFFICE, "all") == ["P5", "P4", "P3", "P2", "P1"]
    ctx, numbers = world
    [p3] = [
        r
        for r in lists.list_problems(ctx, user=OFFICE, scope="all", now=LATER)
        if r["tracking_no"] == numbers["P3"]
    ]
    assert p3["reporter"]["name"] == "张三" and p3["reporter"]["phone"] == "13900000000"
    assert "history" not in p3  # lists are light: no event history
    others = lists.list_problems(ctx, user=INSPECTOR, scope="all", now=LATER)
    assert all("reporter" not in r for r in others)


def test_a_unit_sees_its_own_tasks_only(world):
    assert listed(world, UNIT_U1, "tasks") == ["P5", "P1"]
    assert listed(world, UNIT_U1, "all") == ["P5", "P1"]
    with pytest.raises(Forbidden, match="责任单位只能查看本单位的任务"):
        listed(world, UNIT_U1, "grids")
    with pytest.raises(Forbidden):
        listed(world, UNIT_U1, "chase")


def test_a_leader_sees_their_grids_and_chases_them(world):
    assert listed(world, LEADER_L03, "grids") == ["P3", "P2"]
    assert listed(world, LEADER_L03, "chase") == ["P3", "P2"]  # earliest deadline first
    with pytest.raises(Forbidden, match="包片领导"):
        listed(world, LEADER_L03, "tasks")
    stranger = User(id=9, username="x", role="leader", leader_code="L99")
    assert listed(world, stranger, "grids") == []


def test_the_chase_list_is_pending_past_deadline_by_deadline(world):
    # P3 (4 h) first; the 24-hour ones tie and go newest first; the rejected P5 never
    assert listed(world, OFFICE, "chase") == ["P3", "P4", "P2", "P1"]
    assert listed(world, OFFICE, "chase", now=T0 + dt.timedelta(hours=5)) == ["P3"]
    assert listed(world, OFFICE, "chase", now=T0) == []
    with pytest.raises(Forbidden, match="督办清单仅创建办和包片领导可查看"):
        listed(world, INSPECTOR, "chase")


def test_overdue_records_say_so(world):
    ctx, numbers = world
    flags = {
        r["tracking_no"]: r["overdue"]
        for r in lists.list_problems(ctx, user=OFFICE, scope="all", now=T0 + dt.timedelta(hours=5))
    }
    assert flags == {
        numbers["P1"]: False,
        numbers["P2"]: False,
        numbers["P3"]: True,
        numbers["P4"]: False,
        numbers["P5"]: False,
    }


def test_who_may_list_what(world):
    ctx, _ = world
    with pytest.raises(Unauthorized, match="请先登录"):
        lists.list_problems(ctx, user=None, scope="all")
    with pytest.raises(InvalidInput, match="tasks、grids、chase、all"):
        lists.list_problems(ctx, user=OFFICE, scope="mine")
    assert listed(world, INSPECTOR, "tasks") == ["P5", "P4", "P3", "P2", "P1"]
    with pytest.raises(Forbidden, match="没有权限"):
        listed(world, User(id=5, username="q", role="guest"), "tasks")


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": ["rejected"]}, ["P5"]),
        ({"status": ["reported", "rejected"]}, ["P5", "P4", "P3", "P2", "P1"]),
        ({"category": "manhole"}, ["P3"]),
        ({"source": "inspector"}, ["P2"]),
        ({"source": "media"}, ["P3"]),
        ({"grid": GRID_A}, ["P5", "P1"]),
        ({"unit": "U3"}, ["P2"]),
        ({"fallback": True}, ["P4"]),
        ({"q": "垃圾"}, ["P5", "P4", "P1"]),
        ({"q": "-0003"}, ["P3"]),  # part of a tracking number
        ({"overdue": True}, ["P4", "P3", "P2", "P1"]),
        ({"category": "garbage", "grid": GRID_A, "status": ["reported"]}, ["P1"]),
    ],
)
def test_filters(world, filters, expected):
    assert listed(world, OFFICE, "all", **filters) == expected


def test_limit_keeps_the_newest(world):
    ctx, numbers = world
    records = lists.list_problems(ctx, user=OFFICE, scope="all", now=LATER, limit=2)
    assert [r["tracking_no"] for r in records] == [numbers["P5"], numbers["P4"]]


def test_parse_filter_checks_and_normalises():
    categories = load_categories(None)
    out = lists.parse_filter(
        {
            "status": "reported,rejected",
            "category": "井盖缺失",
            "source": "media",
            "grid": f" {GRID_A} ",
            "unit": "",
            "q": " 垃圾 ",
            "overdue": "1",
            "fallback": "是",
        },
        categories=categories,
    )
    assert out.status == ["reported", "rejected"] and out.category == "manhole" and out.source == "media"
    assert (out.grid, out.unit, out.q) == (GRID_A, None, "垃圾")
    assert out.overdue is True and out.fallback is True
    assert out.date_from is None and out.date_to is None
    empty = lists.parse_filter({}, categories=categories)
    assert empty == lists.ProblemFilter()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"status": "reported,done"}, "状态 status 无效：done；可用：reported、verifying、accepted"),
        ({"source": "tv"}, "来源 source 无效：“tv”；可用：inspector、citizen、assessment、media"),
        ({"category": "nope"}, "nope"),
        ({"overdue": "maybe"}, "overdue"),
    ],
)
def test_parse_filter_refuses_bad_values(args, words):
    with pytest.raises(InvalidInput, match=words):
        lists.parse_filter(args, categories=load_categories(None))


def test_filter_as_params_round_trips():
    categories = load_categories(None)
    wanted = lists.ProblemFilter(
        status=["accepted", "dispatched"],
        category="stall",
        source="citizen",
        grid=GRID_B,
        unit="U2",
        overdue=True,
        fallback=True,
        q="占道",
    )
    params = wanted.as_params()
    assert params == {
        "status": "accepted,dispatched",
        "category": "stall",
        "source": "citizen",
        "grid": GRID_B,
        "unit": "U2",
        "q": "占道",
        "overdue": "1",
        "fallback": "1",
    }
    assert lists.parse_filter(params, categories=categories) == wanted
    assert lists.ProblemFilter().as_params() == {}


# --- maps and counts --------------------------------------------------------------------------


def test_map_problems_by_grid_and_unit_are_public(world):
    ctx, numbers = world
    names = {v: k for k, v in numbers.items()}
    on_b = lists.map_problems(ctx, grid_codes=[GRID_B], now=LATER)
    assert sorted(names[r["tracking_no"]] for r in on_b) == ["P2", "P3"]
    assert lists.map_problems(ctx, grid_codes=[], now=LATER) == []  # no grids: nothing, not everything
    by_unit = lists.map_problems(ctx, unit_code="U1", now=LATER)
    assert sorted(names[r["tracking_no"]] for r in by_unit) == ["P1", "P5"]
    everything = lists.map_problems(ctx, now=LATER)
    assert len(everything) == 5
    assert all("reporter" not in r and all(h["actor"] is None for h in r["history"]) for r in everything)
    [p5] = [r for r in everything if r["tracking_no"] == numbers["P5"]]
    assert [h["action"] for h in p5["history"]] == ["report", "reject"]


def test_counts_by_status(world):
    ctx, _ = world
    assert lists.counts_by_status(ctx) == {"reported": 4, "rejected": 1}


# --- CSV and XLSX -----------------------------------------------------------------------------

PUBLIC_HEADER = [
    "受理编号",
    "问题类别",
    "问题描述",
    "状态",
    "是否逾期",
    "来源",
    "镇（街道）",
    "网格",
    "责任单位",
    "位置",
    "经度",
    "纬度",
    "上报时间",
    "整改期限",
    "办结时间",
    "附议人数",
    "延期次数",
    "返工次数",
]


def _records(world, user):
    ctx, _ = world
    return lists.list_problems(ctx, user=user, scope="all" if user.role != "unit" else "tasks", now=LATER)


def test_csv_has_a_bom_the_columns_and_no_formulas(world):
    _ctx, numbers = world
    data = lists.to_csv(_records(world, OFFICE), user=OFFICE)
    assert data.startswith(b"\xef\xbb\xbf")  # Excel opens UTF-8 Chinese correctly
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [*PUBLIC_HEADER, "上报人", "联系电话"]
    by_no = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert len(by_no) == 5
    p2 = by_no[numbers["P2"]]
    assert p2["问题描述"] == '\'=HYPERLINK("http://x")'  # CSV injection defused
    assert p2["来源"] == "巡查员" and p2["网格"] == "新建路网格" and p2["责任单位"] == "县供电分公司"
    assert p2["是否逾期"] == "是" and p2["状态"] == "已上报"
    p3 = by_no[numbers["P3"]]
    assert p3["问题描述"] == "'-井盖没了" and p3["上报人"] == "张三" and p3["联系电话"] == "13900000000"
    assert p3["问题类别"] == "井盖缺失" and p3["整改期限"] == "2026-11-27T11:00:00+08:00"
    p4 = by_no[numbers["P4"]]
    assert (p4["网格"], p4["责任单位"], p4["镇（街道）"]) == ("", "", "双石铺镇")
    p5 = by_no[numbers["P5"]]
    assert p5["状态"] == "不予立案" and p5["是否逾期"] == "否" and p5["办结时间"]
    assert float(by_no[numbers["P1"]]["经度"]) == ON_BINJIANG_ROAD[0]


def test_only_the_office_exports_reporters(world):
    header, rows = lists.export_rows(_records(world, UNIT_U1), user=UNIT_U1)
    assert header == PUBLIC_HEADER and len(rows) == 2
    assert "张三" not in lists.to_csv(_records(world, INSPECTOR), user=INSPECTOR).decode("utf-8-sig")


def test_xlsx_holds_the_same_rows_with_a_frozen_bold_header(world):
    records = _records(world, OFFICE)
    header, rows = lists.export_rows(records, user=OFFICE)
    book = openpyxl.load_workbook(io.BytesIO(lists.to_xlsx(records, user=OFFICE, title="督办清单" * 10)))
    sheet = book.active
    assert sheet.title == ("督办清单" * 10)[:31]
    values = [list(r) for r in sheet.values]
    assert values[0] == header
    assert [[("" if v is None else v) for v in r] for r in values[1:]] == rows
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["C"].width == 40  # the description column is wide


@pytest.mark.parametrize(
    ("user", "scope"),
    [
        (UNIT_U1, "tasks"),
        (LEADER_L03, "grids"),
        (OFFICE, "all"),
        (INSPECTOR, "all"),
    ],
)
def test_default_scope_by_role(user, scope):
    assert lists.default_scope(user) == scope


def test_every_role_may_list_its_default_scope(world):
    for user in (UNIT_U1, LEADER_L03, OFFICE, INSPECTOR):
        assert isinstance(listed(world, user, lists.default_scope(user)), list)
