"""gridmap.dashboard and /dashboard: China-day counts, trend, rankings, overdue list, map, check-ins, access."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import shapely

from gridmap import dashboard
from gridmap.auth import User
from gridmap.errors import Forbidden, InvalidInput, Unauthorized
from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD, ON_XINJIAN_ROAD
from tests.problems.contexts import make_context

UTC = dt.UTC
ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wed 2 December, 10:00 in Shanghai
OFFICE = User(id=1, username="office", role="office")
INSPECTOR = User(id=2, username="I01", role="inspector")
UNIT_U1 = User(id=3, username="u1", role="unit", unit_code="U1")
LEADER = User(id=4, username="l01", role="leader", leader_code="L01")
GRID_A, GRID_B = "610330100001", "610330100002"


def at(month: int, day: int, hour: float) -> dt.datetime:
    """A moment in UTC (2026)."""
    return dt.datetime(2026, month, day, tzinfo=UTC) + dt.timedelta(hours=hour)


@pytest.fixture(scope="module")
def world(module_database):
    """Seven cases around the turn of November and December, and one inspector's check-in today."""
    from gridmap.problems.service import report_problem
    from gridmap.problems.workflow import act
    from gridmap.routing import repository as patrol_repository

    folder, url = module_database
    ctx = make_context(folder, url)
    scheme = (ROOT / "gridmap" / "evaluation" / "scoring.toml").read_text(encoding="utf-8")
    assert "\nmin_sample = 5\n" in scheme
    (folder / "scoring.toml").write_text(scheme.replace("\nmin_sample = 5\n", "\nmin_sample = 1\n"), "utf-8")
    ctx.settings = ctx.settings.but(scoring_file=str(folder / "scoring.toml"))  # rank a handful of cases

    def report(spot, when, **kw):
        kw.setdefault("category", "garbage")
        done = report_problem(ctx, lon=spot[0], lat=spot[1], description="测试问题", now=when, **kw)
        return done.record["tracking_no"]

    def close(no, when):
        act(ctx, no, user=OFFICE, action="dispatch", unit_code="U1", now=when)
        act(ctx, no, user=UNIT_U1, action="rectify", note="已处理", now=when)
        act(ctx, no, user=OFFICE, action="verify", now=when)
        act(ctx, no, user=OFFICE, action="close", now=when)

    cases = {}
    cases["old"] = report(ON_BINJIANG_ROAD, at(10, 20, 2))  # long before the window, still open
    act(ctx, cases["old"], user=OFFICE, action="dispatch", unit_code="U1", now=at(10, 20, 3))
    cases["nov"] = report(ON_BINJIANG_ROAD, at(11, 10, 2))
    close(cases["nov"], at(11, 11, 2))
    cases["nov30"] = report(ON_BINJIANG_ROAD, at(11, 30, 15.5))  # 23:30 on 30 November in China
    cases["dec_a"] = report(ON_BINJIANG_ROAD, at(11, 30, 16.5))  # 00:30 on 1 December in China
    close(cases["dec_a"], at(12, 2, 1))  # 09:00 today
    cases["dec_b"] = report(NEAR_HOSPITAL, at(12, 2, 0))  # 08:00 today
    cases["rejected"] = report(NEAR_HOSPITAL, at(12, 1, 2))
    act(ctx, cases["rejected"], user=OFFICE, action="reject", note="重复", now=at(12, 1, 3))
    cases["late"] = report(ON_XINJIAN_ROAD, at(12, 1, 1), user=OFFICE, urgency="urgent")  # 4 working hours
    act(ctx, cases["late"], user=OFFICE, action="dispatch", unit_code="U2", now=at(12, 1, 1.5))

    run = {"created_at": at(12, 1, 23), "created_by": None, "options": "{}", "dropped": "[]", "network": ""}
    plan = {
        "inspector_code": "I01",
        "inspector_name": "巡查员甲",
        "grid_codes": GRID_A,
        "mode": "walk",
        "length_m": 100.0,
        "work_m": 100.0,
        "budget_m": 1000.0,
        "closed": False,
        "route": shapely.to_wkb(shapely.LineString([(106.515, 33.91), (106.517, 33.912)])),
        "turns": "[]",
        "created_at": at(12, 1, 23),
    }
    stop = {"reason": None, "mandatory": False, "leg_m": 0.0}
    stops = [
        {**stop, "seq": 0, "kind": "start", "ref": None, "name": "出发", "lon": 106.515, "lat": 33.91},
        {**stop, "seq": 1, "kind": "point", "ref": "P1", "name": "农贸市场", "lon": 106.516, "lat": 33.911},
        {
            **stop,
            "seq": 2,
            "kind": "problem",
            "ref": cases["old"],
            "name": "垃圾堆",
            "lon": 106.517,
            "lat": 33.912,
        },
    ]
    [plan_id] = patrol_repository.replace_day_plans(
        ctx.store, day="2026-12-02", codes=["I01"], run=run, plans=[(plan, stops)]
    )
    patrol_repository.record_check_in(
        ctx.store, plan_id, 1, at=at(12, 2, 1), by="I01", lon=106.5161, lat=33.9111, distance_m=9.0, note=None
    )
    return ctx, cases, dashboard.figures(ctx, now=NOW)


def test_today_and_month_are_china_days(world):
    _, _, fig = world
    assert fig["today"] == "2026-12-02" and fig["month"] == "2026-12"
    today, month = fig["counts"]["today"], fig["counts"]["month"]
    assert (today["reported"], today["closed"]) == (1, 1)  # dec_b reported, dec_a closed this morning
    assert {k: v for k, v in today["by_status"].items() if v} == {"reported": 1}
    # 00:30 on 1 December in China is still 30 November in UTC: it counts for December; 23:30 on the
    # 30th (November in China) does not
    assert (month["reported"], month["closed"]) == (4, 1)
    assert {k: v for k, v in month["by_status"].items() if v} == {
        "closed": 1,
        "reported": 1,
        "rejected": 1,
        "dispatched": 1,
    }
    assert set(month["by_status"]) == {s["code"] for s in fig["statuses"]}


def test_open_cases_overdue_and_urgent(world):
    _, _, fig = world
    now_open = fig["counts"]["open"]
    assert now_open["total"] == 4  # old, nov30, dec_b, late
    assert now_open["overdue"] == 2  # old (October) and late (4 working hours on 1 December)
    assert now_open["urgent"] == 1
    assert {k: v for k, v in now_open["by_status"].items() if v} == {"dispatched": 2, "reported": 2}


def test_trend_counts_reports_and_closures_per_china_day(world):
    _, _, fig = world
    trend = fig["trend"]
    assert len(trend["dates"]) == dashboard.TREND_DAYS
    assert trend["dates"][0] == "2026-11-03" and trend["dates"][-1] == "2026-12-02"
    reported = {d: n for d, n in zip(trend["dates"], trend["reported"]) if n}
    closed = {d: n for d, n in zip(trend["dates"], trend["closed"]) if n}
    assert reported == {"2026-11-10": 1, "2026-11-30": 1, "2026-12-01": 3, "2026-12-02": 1}
    assert closed == {"2026-11-11": 1, "2026-12-02": 1}


def test_towns_and_grids_ranked_as_gridmap_evaluate_ranks_them(world):
    from gridmap.evaluation.scoring import load_scheme
    from gridmap.evaluation.service import evaluate_month

    ctx, _, fig = world
    grids = {g["code"]: g for g in fig["ranking"]["grids"]}
    a, b = grids[GRID_A], grids[GRID_B]
    # grid A: dec_a closed on time (nov30 is November's; old is October's)
    assert (a["reported"], a["due"], a["closed"], a["on_time"]) == (1, 1, 1, 1)
    assert a["closure_rate"] == 1.0 and a["on_time_rate"] == 1.0
    # grid B: three reports (the rejected one too); late overdue and not handled, dec_b not yet due
    assert (b["reported"], b["due"], b["closed"], b["overdue"]) == (3, 1, 0, 1)
    assert b["closure_rate"] == 0.0
    assert (a["rank"], a["flag"], b["rank"], b["flag"]) == (1, "red", 2, "grey")
    assert a["score"] > b["score"] and a["grade"]
    scheme = load_scheme(ctx.settings.scoring_file)
    for by, shown in (("grid", fig["ranking"]["grids"]), ("town", fig["ranking"]["towns"])):
        records = evaluate_month(ctx.store, month="2026-12", by=by, scheme=scheme, now=NOW).records()
        assert [(g["code"], g["rank"], g["score"]) for g in shown[: len(records)]] == [
            (r["code"], r["rank"], r["score"]) for r in records
        ]
    definitions = fig["ranking"]["definitions"]
    assert "结案率" in definitions["closure_rate"] and "少于 1 件" in definitions["order"]


def test_overdue_list_longest_first_and_map_of_open_cases(world):
    _, cases, fig = world
    assert [p["tracking_no"] for p in fig["overdue"]] == [cases["old"], cases["late"]]
    old = fig["overdue"][0]
    assert old["unit"] and old["place"] and re.fullmatch(r"\d+天\d+小时", old["overdue_text"])
    assert old["category"] != "garbage"  # the category's Chinese name
    points = {p["tracking_no"]: p for p in fig["map"]}
    assert set(points) == {cases["old"], cases["nov30"], cases["dec_b"], cases["late"]}
    assert points[cases["late"]]["overdue"] and points[cases["late"]]["urgent"]
    assert not points[cases["dec_b"]]["overdue"]
    assert points[cases["dec_b"]]["lon"] == pytest.approx(NEAR_HOSPITAL[0])


def test_todays_check_ins_where_they_happened(world):
    _, _, fig = world
    checkins = fig["checkins"]
    assert checkins["inspectors"] == [{"code": "I01", "name": "巡查员甲", "stops": 2, "checked_in": 1}]
    assert checkins["points"] == [
        {"inspector": "巡查员甲", "stop": "农贸市场", "at": "09:00", "lon": 106.5161, "lat": 33.9111}
    ]
    ctx, _, _ = world
    tomorrow = dashboard.figures(ctx, now=NOW + dt.timedelta(days=1))
    assert tomorrow["checkins"] == {"inspectors": [], "points": []}


def test_figures_are_json_and_the_next_month_starts_afresh(world):
    ctx, _, fig = world
    json.dumps(fig, ensure_ascii=False)  # the page embeds it and the API returns it as is
    january = dashboard.figures(ctx, now=dt.datetime(2027, 1, 5, 2, tzinfo=UTC))
    assert january["counts"]["month"]["reported"] == 0
    assert sum(january["trend"]["reported"]) == 0
    grids = january["ranking"]["grids"]  # no case in January: every grid listed, none ranked
    assert {g["code"] for g in grids} == {GRID_A, GRID_B}
    assert all(g["rank"] is None and g["closure_rate"] is None and g["reported"] == 0 for g in grids)


def test_who_may_see_the_dashboard():
    for user in (OFFICE, LEADER, INSPECTOR):
        dashboard.may_see(user)
    with pytest.raises(Unauthorized):
        dashboard.may_see(None)
    with pytest.raises(Forbidden, match="指挥中心大屏"):
        dashboard.may_see(UNIT_U1)


def test_refresh_interval_and_tiles():
    assert dashboard.refresh_seconds(None, default=30.0) == 30.0
    assert dashboard.refresh_seconds("1", default=30.0) == 1.0
    for bad in ("0", "abc", "7200"):
        with pytest.raises(InvalidInput, match="刷新间隔"):
            dashboard.refresh_seconds(bad, default=30.0)
    assert dashboard.tiles("none", local_url="/tiles/{z}/{x}/{y}.png") is None
    assert dashboard.tiles("amap", local_url="/t") is None
    assert dashboard.tiles("/srv/tiles", local_url="/tiles/{z}/{x}/{y}.png") == {
        "url": "/tiles/{z}/{x}/{y}.png",
        "attribution": "",
    }
    assert dashboard.tiles("osm", local_url="/t")["url"].startswith("https://")


# --- over HTTP (Flask test client) -----------------------------------------------------------------


def test_anonymous_goes_to_log_in_and_a_unit_is_refused(client, login):
    page = client.get("/dashboard")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    api = client.get("/api/dashboard")
    assert api.status_code == 401 and "登录" in api.get_json()["message"]
    unit = login("u1", "unit", unit_code="U1")
    assert unit.get("/dashboard").status_code == 403
    assert unit.get("/api/dashboard").status_code == 403


def test_the_page_loads_only_our_own_files_and_embeds_its_figures(login):
    office = login("boss", "office")
    page = office.get("/dashboard?refresh=2")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', text)
    assert any("/echarts@" in s and s.endswith("/dist/echarts.min.js") for s in sources)
    assert any(s.endswith("/js/dashboard.js") for s in sources)
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
    assert not re.search(r"<[^>]+\son[a-z]+=", text)  # no inline event handler anywhere
    config = json.loads(re.search(r'id="dash-config">(.*?)</script>', text, re.S).group(1))
    assert config["refresh_s"] == 2.0 and config["api"] == "/api/dashboard" and config["tiles"] is None
    figures = json.loads(re.search(r'id="dash-data">(.*?)</script>', text, re.S).group(1))
    assert figures["counts"]["open"]["total"] == 0 and len(figures["ranking"]["grids"]) == 2
    assert "script-src 'self' 'nonce-" in page.headers["Content-Security-Policy"]
    bad = office.get("/dashboard?refresh=0")
    assert bad.status_code == 400 and "刷新间隔" in bad.get_data(as_text=True)


def test_the_api_twin_answers_the_same_figures_for_a_leader(login, client):
    leader = login("lead", "leader", leader_code="L01")
    assert leader.get("/api/dashboard").get_json()["counts"]["today"]["reported"] == 0
    body = {"lon": NEAR_HOSPITAL[0], "lat": NEAR_HOSPITAL[1], "category": "garbage", "description": "垃圾"}
    assert client.post("/api/problems", json=body).status_code == 201
    data = leader.get("/api/dashboard").get_json()
    assert data["counts"]["today"]["reported"] == 1 and data["counts"]["open"]["total"] == 1
    assert [p["lon"] for p in data["map"]] == [pytest.approx(NEAR_HOSPITAL[0])]
    assert set(data) >= {"trend", "ranking", "overdue", "checkins", "categories", "statuses"}
