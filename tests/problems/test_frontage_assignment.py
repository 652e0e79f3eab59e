"""门前五包: a frontage-category problem in front of a shop goes to the shop (SMS to its owner) and
the segment's unit is told to supervise it; other categories, and spots off every frontage, go as before."""

from __future__ import annotations

import datetime as dt
import json

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from gridmap.errors import ConfigError
from gridmap.notify import repository as outbox
from gridmap.problems import frontage, lists, repository, workflow
from gridmap.problems.context import context_from_settings
from gridmap.problems.service import report_problem
from gridmap.reference import ReferenceCache
from gridmap.settings import load_settings
from tests import factory
from tests.notify.conftest import Receiver
from tests.problems.test_reportnotices import deliver_all

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)  # 09:00 China time, a Friday
OWNER, OWNER_PHONE = "张老板", "13987654321"
# On 滨江路 (segment S1, unit U1 县住建局, grid 滨江网格): 张记面馆's pavement is a polygon,
# 李记超市's a line (no owner phone on file); a spot 200 m further east is in front of no shop.
AT_NOODLES = (106.5151, 33.9101)
AT_GROCER = (106.5130, 33.91013)
AWAY = (106.5175, 33.9101)
NOTE = "已交办商户“张记面馆”（门前五包），请包段单位县住建局督促"


def shop_layers() -> dict[str, gpd.GeoDataFrame]:
    def gdf(rows, geoms):
        return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")

    out = factory.layers()
    out["shops"] = gdf(
        {
            "code": ["SH1", "SH2"],
            "name": ["张记面馆", "李记超市"],
            "category": ["餐饮", "零售"],
            "address": ["滨江路 3 号", "滨江路 1 号"],
            "owner": [OWNER, "李老板"],
            "owner_phone": [OWNER_PHONE, None],
        },
        [Point(106.5151, 33.91035), Point(106.5130, 33.91030)],
    )
    out["frontages"] = gdf(
        {"shop_code": ["SH1", "SH2"]},
        [
            box(106.5148, 33.90990, 106.5154, 33.91030),
            LineString([(106.5127, 33.91015), (106.5133, 33.91015)]),
        ],
    )
    return out


@pytest.fixture
def dataset_dir(tmp_path):
    """The tiny county (tests/factory.py) with two shops on 滨江路 and their 门前五包 frontages."""
    return factory.write_dataset(tmp_path / "data", layers_=shop_layers())


@pytest.fixture
def people(make_user):
    return {
        "office": make_user("office", "office"),
        "u1": make_user("u1", "unit", unit_code="U1"),
        "u2": make_user("u2", "unit", unit_code="U2"),
    }


@pytest.fixture
def hook():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def ctx(loaded_store, settings, hook):
    """The problem context with the webhook (the county's SMS gateway) on."""
    return _ctx(loaded_store, settings, GRIDMAP_WEBHOOK_URL=hook.url)


def report(ctx, spot=AT_NOODLES, *, category="stall", **kw):
    values = {
        "lon": spot[0],
        "lat": spot[1],
        "category": category,
        "description": "面馆门前摆桌占用人行道，行人只能走机动车道",
        "now": T0,
    }
    values.update(kw)
    return report_problem(ctx, **values).record


def test_a_frontage_problem_in_front_of_a_shop_goes_to_the_shop_and_its_segments_unit_supervises(
    ctx, people, hook
):
    rec = report(ctx)
    no = rec["tracking_no"]
    # the shop first; the segment's unit stays responsible, so deadline, chasing and ranking go on
    assert rec["shop"] == {"code": "SH1", "name": "张记面馆"}
    assert rec["unit"] == {"code": "U1", "name": "县住建局"} and rec["grid"]["code"] == "610330100001"
    assert rec["history"][0]["action"] == "report" and rec["history"][0]["note"] == NOTE
    row = repository.find_problem(ctx.store, tracking_no=no)
    assert (row.shop_code, row.shop_name, row.unit_code) == ("SH1", "张记面馆", "U1")
    assert row.deadline is not None and row.status == "reported"
    # the unit is informed in its inbox and has the case in its list; the other unit hears nothing
    (told,) = outbox.inbox(ctx.store, "u1")
    assert told.event == "shop_supervise" and told.tracking_no == no
    assert "已交办商户“张记面馆”，已短信告知商户负责人" in told.message
    assert "请包段单位督促商户在" in told.message and OWNER_PHONE not in told.message
    assert outbox.inbox(ctx.store, "u2") == []
    assert [r["tracking_no"] for r in lists.list_problems(ctx, user=people["u1"], scope="tasks")] == [no]
    (office,) = outbox.inbox(ctx.store, "office")
    assert "在商户“张记面馆”门前五包范围内，已交办商户，由包段单位县住建局督促" in office.message
    # the owner's SMS goes out through the webhook, the phone only in "sms"
    assert deliver_all(ctx, hook.url) == 1
    (body,) = hook.requests
    assert body["event"] == "shop_assigned" and body["sms"] == [OWNER_PHONE] and body["recipients"] == []
    assert body["tracking_no"] == no and body["unit_code"] == "U1"
    assert body["extra"] == {"shop_code": "SH1", "shop_name": "张记面馆"}
    assert body["message"].startswith("【门前五包】张记面馆负责人您好：群众反映您店门前占道经营问题")
    assert "县住建局将督促检查" in body["message"] and OWNER_PHONE not in body["message"]
    # the office dispatches to the unit as today: the unit is asked to supervise the shop
    workflow.act(ctx, no, user=people["office"], action="dispatch", unit_code="U1", now=T0)
    dispatched = outbox.inbox(ctx.store, "u1")[0]
    assert dispatched.event == "dispatched"
    assert "已交办商户“张记面馆”（门前五包），请包段单位县住建局督促商户在" in dispatched.message


def test_a_shop_without_an_owner_phone_gets_no_sms_and_the_unit_is_asked_to_tell_it(ctx, people, hook):
    rec = report(ctx, AT_GROCER, category="店外经营")  # a Chinese category name; a line frontage
    assert rec["shop"] == {"code": "SH2", "name": "李记超市"} and rec["unit"]["code"] == "U1"
    (told,) = outbox.inbox(ctx.store, "u1")
    assert "已交办商户“李记超市”，商户未登记负责人电话，请当面告知" in told.message
    assert deliver_all(ctx, hook.url) == 0  # nothing to text; the unit's notice stays in the app


def test_another_category_at_the_same_spot_is_not_the_shops(ctx, people, hook):
    rec = report(ctx, category="car_parking", description="机动车停在面馆门前人行道上")
    assert rec["shop"] is None and rec["unit"]["code"] == "U1"
    assert rec["history"][0]["note"] is None
    row = repository.find_problem(ctx.store, tracking_no=rec["tracking_no"])
    assert row.shop_code is None and row.shop_name is None
    assert outbox.inbox(ctx.store, "u1") == []
    (office,) = outbox.inbox(ctx.store, "office")
    assert "按位置应由县住建局办理" in office.message and "商户" not in office.message
    assert deliver_all(ctx, hook.url) == 0


def test_a_frontage_category_off_every_frontage_goes_as_today(ctx, people, hook):
    rec = report(ctx, AWAY)
    assert rec["shop"] is None and rec["unit"]["code"] == "U1" and rec["history"][0]["note"] is None
    assert outbox.inbox(ctx.store, "u1") == []
    assert deliver_all(ctx, hook.url) == 0


def _ctx(store, settings, *, source="memory", **more):
    frozen = load_settings({**settings, **more}, environ={})
    reference = ReferenceCache(store, tolerance_m=50.0, whois_source=source)
    return context_from_settings(store, reference, frozen)


def test_both_whois_sources_assign_the_same_shop(loaded_store, settings, backend):
    """In memory and, on PostgreSQL, by PostGIS queries (GRIDMAP_WHOIS_SOURCE=database)."""
    sources = ["memory", "database"] if backend == "postgresql" else ["memory"]
    for source in sources:
        ctx = _ctx(loaded_store, settings, source=source)
        assert report(ctx)["shop"] == {"code": "SH1", "name": "张记面馆"}, source
        assert report(ctx, AT_GROCER, category="laundry")["shop"]["code"] == "SH2", source
        assert report(ctx, AWAY)["shop"] is None, source


def test_frontage_categories_setting_as_documented(loaded_store, settings, tmp_path):
    env = {"GRIDMAP_INSTANCE_DIR": str(tmp_path)}
    default = ("stall", "out_of_store", "garbage", "road_dirty", "laundry", "bike_parking")
    assert load_settings(environ=env).frontage_categories == default
    given = load_settings(environ={**env, "GRIDMAP_FRONTAGE_CATEGORIES": "占道经营、店外经营，garbage stall"})
    assert given.frontage_categories == ("占道经营", "店外经营", "garbage", "stall")
    # codes or Chinese names
    ctx = _ctx(loaded_store, settings, GRIDMAP_FRONTAGE_CATEGORIES="占道经营、店外经营，garbage")
    assert frontage.categories_of(ctx) == {"stall", "out_of_store", "garbage"}
    # left empty: no category goes to a shop
    assert load_settings(environ={**env, "GRIDMAP_FRONTAGE_CATEGORIES": ""}).frontage_categories == ()
    # a category that does not exist stops start-up, naming it
    with pytest.raises(ConfigError, match="GRIDMAP_FRONTAGE_CATEGORIES 中的问题类别 乱堆乱放 不存在"):
        _ctx(loaded_store, settings, GRIDMAP_FRONTAGE_CATEGORIES="占道经营,乱堆乱放")
    # a county's own category file without the built-in 门前五包 codes starts with the default
    own = tmp_path / "categories.json"
    own.write_text(json.dumps([{"code": "dump", "name": "乱堆乱放", "deadline_hours": 24}]), encoding="utf-8")
    assert frontage.categories_of(_ctx(loaded_store, settings, GRIDMAP_PROBLEM_CATEGORIES=str(own))) == set()
    mapped = _ctx(
        loaded_store, settings, GRIDMAP_PROBLEM_CATEGORIES=str(own), GRIDMAP_FRONTAGE_CATEGORIES="乱堆乱放"
    )
    assert frontage.categories_of(mapped) == {"dump"}
    assert report(mapped, category="dump")["shop"] == {"code": "SH1", "name": "张记面馆"}


def test_without_an_sms_gateway_the_unit_is_asked_to_tell_the_shop(loaded_store, settings, people):
    rec = report(_ctx(loaded_store, settings))
    assert rec["shop"]["code"] == "SH1"
    (told,) = outbox.inbox(loaded_store, "u1")
    assert "已交办商户“张记面馆”，未配置短信通道（GRIDMAP_WEBHOOK_URL），请当面告知商户" in told.message


def test_an_empty_setting_sends_nothing_to_shops(loaded_store, settings, people):
    off = _ctx(loaded_store, settings, GRIDMAP_FRONTAGE_CATEGORIES=" ")
    assert off.settings.frontage_categories == ()
    rec = report(off)
    assert rec["shop"] is None and rec["unit"]["code"] == "U1"
    assert outbox.inbox(off.store, "u1") == []


def test_the_owners_contact_is_for_the_office_only(app, client, login):
    office, unit = login("office", "office"), login("u1", "unit", unit_code="U1")
    made = client.post(
        "/api/problems",
        json={"lon": AT_NOODLES[0], "lat": AT_NOODLES[1], "category": "stall", "description": "门前摆摊占道"},
    )
    assert made.status_code == 201
    body = made.get_json()
    no, track = body["tracking_no"], body["followup_url"]
    assert body["shop"] == {"code": "SH1", "name": "张记面馆"}
    api_track = f"/api/problems/{no}/track?{track.split('?', 1)[1]}"
    public = {
        "report answer": made.get_data(as_text=True),
        "problem page": client.get(f"/problems/{no}").get_data(as_text=True),
        "problem JSON": client.get(f"/api/problems/{no}").get_data(as_text=True),
        "tracking page": client.get(track).get_data(as_text=True),
        "tracking JSON": client.get(api_track).get_data(as_text=True),
        "Open311 requests": client.get("/open311/v2/requests.json").get_data(as_text=True),
        "Open311 requests XML": client.get("/open311/v2/requests.xml").get_data(as_text=True),
        "Open311 request": client.get(f"/open311/v2/requests/{no}.json").get_data(as_text=True),
        "Open311 updates": client.get("/open311/v2/servicerequestupdates.json").get_data(as_text=True),
        "unit's problem page": unit.get(f"/problems/{no}").get_data(as_text=True),
        "unit's problem JSON": unit.get(f"/api/problems/{no}").get_data(as_text=True),
        "unit's tasks": unit.get("/tasks").get_data(as_text=True),
        "unit's inbox": unit.get("/api/inbox").get_data(as_text=True),
    }
    for where, text in public.items():
        assert OWNER_PHONE not in text and OWNER not in text, where
    assert no in public["Open311 request"] and "张记面馆" in public["tracking page"]
    for where in ("problem page", "unit's problem page", "tracking page"):
        assert "责任商户" in public[where] and "张记面馆" in public[where], where
    assert "张记面馆" in public["unit's inbox"]
    page = office.get(f"/problems/{no}").get_data(as_text=True)
    assert f"负责人（仅创建办可见）：{OWNER} {OWNER_PHONE}" in page
    shop = office.get(f"/api/problems/{no}").get_json()["shop"]
    assert shop == {"code": "SH1", "name": "张记面馆", "owner": OWNER, "owner_phone": OWNER_PHONE}
