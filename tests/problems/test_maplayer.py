"""gridmap.problems.maplayer on its own: popup content, the compact feature JSON, the overlay parts."""

from __future__ import annotations

import json

import folium
from folium.plugins import HeatMap, MarkerCluster

from gridmap import maps
from gridmap.crs import gcj02_from_wgs84
from gridmap.problems.categories import load_categories
from gridmap.problems.maplayer import OVERDUE_COLOR, add_problem_layer, features, popup_html
from gridmap.problems.states import STATUS_COLORS


def _record(**changes) -> dict:
    rec = {
        "id": 7,
        "tracking_no": "FX20261127-0007",
        "status": "dispatched",
        "overdue": False,
        "fallback": False,
        "category": "manhole",
        "category_name": "井盖缺失",
        "description": "井盖没了\n很危险",
        "source": "citizen",
        "source_label": "市民随手拍",
        "lon": 106.5151234567,
        "lat": 33.9101234567,
        "grid": {"code": "610330100001", "name": "滨江网格"},
        "unit": {"code": "U1", "name": "县住建局"},
        "deadline": "2026-11-27T13:00:00+08:00",
        "created_at": "2026-11-27T09:00:00+08:00",
        "photos": [{"url": "/problems/photos/3.jpg", "thumb_url": "/problems/photos/3/thumb.jpg"}],
        "history": [
            {"at": "2026-11-27T09:00:00+08:00", "action_label": "上报", "note": None},
            {"at": "2026-11-27T09:30:00+08:00", "action_label": "派遣（交办）", "note": "请尽快处理"},
        ],
    }
    rec.update(changes)
    return rec


def test_popup_shows_status_category_description_photo_and_history():
    html = popup_html(_record(), page_base="/gm")
    assert "<h4>井盖缺失 <small>FX20261127-0007</small></h4>" in html
    assert f"style='background:{STATUS_COLORS['dispatched']}'>已派遣（交办）</span>" in html
    assert " · 市民随手拍" in html
    assert "<p class='gm-desc'>井盖没了\n很危险</p>" in html
    assert "<a href='/problems/photos/3.jpg'" in html and "src='/problems/photos/3/thumb.jpg'" in html
    assert "<b>网格</b>：滨江网格<br><b>责任单位</b>：县住建局" in html
    assert "<b>整改期限</b>：2026-11-27 13:00" in html
    assert "<li>2026-11-27 09:00 上报</li><li>2026-11-27 09:30 派遣（交办）：请尽快处理</li>" in html
    assert "href='/gm/problems/FX20261127-0007'" in html
    assert "逾期" not in html and "属地兜底" not in html


def test_popup_flags_and_missing_parts():
    html = popup_html(
        _record(
            status="reported",
            overdue=True,
            fallback=True,
            grid=None,
            unit=None,
            photos=[],
            history=[],
            deadline=None,
        )
    )
    assert "<span class='gm-flag gm-overdue'>逾期</span><span class='gm-flag'>属地兜底</span>" in html
    assert "<b>网格</b>：不在网格内" in html and "<b>责任单位</b>：—" in html
    assert "<b>整改期限</b>：—" in html and "<img" not in html
    assert "<ul class='gm-list gm-history'></ul>" in html
    odd = popup_html(_record(status="archived"))
    assert "background:#777'>archived</span>" in odd  # an unknown status shows as it is, in grey


def test_popup_text_is_escaped():
    html = popup_html(_record(description="<b>x</b>", tracking_no="FX1/<x>"))
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "/problems/FX1%2F%3Cx%3E" in html


def test_features_are_compact_and_rounded():
    [feature] = features([_record()], page_base="/gm")
    assert feature == {
        "id": 7,
        "tracking_no": "FX20261127-0007",
        "lat": 33.9101235,
        "lon": 106.5151235,
        "status": "dispatched",
        "overdue": False,
        "color": STATUS_COLORS["dispatched"],
        "category": "manhole",
        "source": "citizen",
        "date": "2026-11-27",
        "popup": popup_html(_record(), page_base="/gm"),
    }
    assert features([]) == []


def test_features_move_to_the_display_datum():
    rec = _record()
    [shifted] = features([rec], crs="gcj02")
    lon, lat = gcj02_from_wgs84(rec["lon"], rec["lat"])
    assert (shifted["lon"], shifted["lat"]) == (round(float(lon), 7), round(float(lat), 7))
    assert abs(shifted["lon"] - rec["lon"]) > 1e-4  # hundreds of metres
    [baidu] = features([rec], crs="bd09")
    assert abs(baidu["lon"] - shifted["lon"]) > 1e-4  # BD-09 is GCJ-02 moved again
    [same] = features([rec], crs="wgs84")
    assert (same["lon"], same["lat"]) == (106.5151235, 33.9101235)


def test_the_overlay_adds_a_cluster_a_hidden_heatmap_and_the_filters():
    m = folium.Map(tiles=None, location=[33.91, 106.52])
    categories = load_categories(None)
    add_problem_layer(m, data_url="/api/problems.geojson?v=3", categories=categories)
    children = list(m._children.values())
    [cluster] = [c for c in children if isinstance(c, MarkerCluster)]
    [heat] = [c for c in children if isinstance(c, HeatMap)]
    assert cluster.layer_name == "问题（按状态着色）" and heat.layer_name == "问题热力图"
    assert heat.show is False and heat.data == []
    [overlay] = [c for c in children if type(c).__name__ == "_ProblemOverlay"]
    assert overlay.data_url == "/api/problems.geojson?v=3"
    assert overlay.categories[0] == ["garbage", "垃圾暴露"] and len(overlay.categories) == len(categories)
    assert overlay.overdue_color == OVERDUE_COLOR
    parts = maps.map_parts(m)
    assert ".gm-problem-filter" in parts["head"]  # the style sheet
    script = parts["script"]
    assert '"/api/problems.geojson?v=3"' in script
    assert f"var cluster = {cluster.get_name()};" in script and f"var heat = {heat.get_name()};" in script
    # labels go in through tojson (ASCII escapes), so the page shows them as text
    assert json.dumps("已派遣（交办）") in script and json.dumps("井盖缺失") in script
