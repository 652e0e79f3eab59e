"""Real browser (issue 4, patrol routes): the route along the streets with numbered stops, a hostile stop
name shown as text, and a check-in from the page with the browser's position. Kept here to share the session's browser."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_clean, assert_not_blank
from tests.routing import town

HOSTILE = '<img src=x onerror="window.__xss=1">市场'


@pytest.mark.browser
def test_patrol_page_shows_the_route_and_checks_in(
    live_server_factory, settings, store, tmp_path, vendored_assets, page
):
    from gridmap.auth import add_user
    from gridmap.reference import load_directory
    from gridmap.routing import daily, patrols
    from gridmap.routing.day import DayStop, Inspector
    from gridmap.routing.streets import StreetNetwork

    load_directory(store, town.write(tmp_path / "town"))
    add_user(store, username="I03", role="inspector", password="secret-pass-1")
    network = StreetNetwork.from_lines(town.street_lines())
    crew = [
        Inspector(
            code="I03",
            name="褚巡查",
            grids=(town.GRID_A,),
            start=town.ll(100, 100),
            start_name="西关网格出发点",
        )
    ]
    stops = [
        DayStop(
            id=code,
            kind="point",
            name=HOSTILE if code == "P1" else name,
            lon=town.ll(x, y)[0],
            lat=town.ll(x, y)[1],
            grid_code=town.GRID_A,
            mandatory=False,
            prize_m=None,
            reason="考察点位",
        )
        for code, name, x, y in town.POINTS
        if x < town.SPLIT_X
    ]
    plan = daily.plan_day(network, crew, stops, options=town.options(time_limit=0.5), day="2026-11-27")
    (plan_id,) = patrols.save_day(store, plan, user=None, system=True)

    server = live_server_factory(env=settings)
    page.add_init_script("window.__xss = 0;")
    page.goto(f"{server.url}/login?next=/patrol/{plan_id}")
    page.fill("input[name=username]", "I03")
    page.fill("input[name=password]", "secret-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/patrol/{plan_id}")
    page.wait_for_selector(".leaflet-container path.leaflet-interactive")  # the route line, drawn
    assert page.locator(".leaflet-marker-pane .gm-stop").count() == len(stops) + 1  # the start and each stop
    numbers = page.locator(".leaflet-marker-pane .gm-stop").all_inner_texts()
    assert sorted(numbers) == sorted(["起", *[str(k) for k in range(1, len(stops) + 1)]])
    assert HOSTILE in page.locator("#gm-stops").inner_text()  # text, never markup
    assert page.evaluate("window.__xss") == 0
    assert_not_blank(page.locator(".gm-map").screenshot())
    first = plan.routes[0].stops[0]
    page.context.grant_permissions(["geolocation"], origin=server.url)
    page.context.set_geolocation({"longitude": first.lon, "latitude": first.lat, "accuracy": 5})
    page.locator("#stop-1 button").click()  # checks in with the browser's position, at the stop
    page.wait_for_selector("#stop-1 .gm-done")
    assert "✔" in page.locator("#stop-1").inner_text()
    assert page.evaluate("window.__xss") == 0
    assert_clean(page)
