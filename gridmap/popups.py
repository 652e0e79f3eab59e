"""Popup HTML of the web map's features: who answers for a segment or a point, with links."""

from __future__ import annotations

import re

from gridmap import safe
from gridmap.responsibility import ResponsibilityModel

__all__ = ["point_popup", "segment_popup"]


def _e(value) -> str:
    """Escape any value for HTML; missing values show as a dash."""
    return safe.html_text(value)


def _phone(value) -> str:
    if safe.is_missing(value):
        return ""
    digits = re.sub(r"[^0-9+]", "", str(value))  # the link dials digits only; the text shows it all
    return f' <a href="tel:{digits}">{_e(value)}</a>' if digits else f" {_e(value)}"


def _unit_html(model: ResponsibilityModel, code, page_base: str) -> str:
    rec = model.unit_record(code)
    if rec is None:
        return "—"
    link = f"{page_base}/units/{safe.url_part(code)}"
    contact = f"，联系人 {_e(rec['contact'])}" if not safe.is_missing(rec["contact"]) else ""
    return f"<a href='{safe.html_attr(link)}'>{_e(rec['name'])}</a>{contact}{_phone(rec['phone'])}"


def segment_popup(model: ResponsibilityModel, code: str, *, page_base: str = "") -> str:
    """A segment's popup: road, span, length, the unit that answers for it, its grid."""
    s = model.segments.loc[code]
    return (
        f"<div class='gm-popup'><h4>{_e(s['road_name'])}</h4>"
        f"<div class='gm-sub'>路段 {_e(code)}：{_e(s['from_name'])} 至 {_e(s['to_name'])}，"
        f"长 {s['length_m']:.0f} 米</div>"
        f"<b>包段单位</b>：{_unit_html(model, s['unit_code'], page_base)}<br>"
        f"<b>所在网格</b>：{_e(_grid_name(model, s['grid_code']))}</div>"
    )


def point_popup(model: ResponsibilityModel, code: str, *, page_base: str = "") -> str:
    """An inspection point's popup: category, address, the responsible unit, its grid."""
    p = model.points.loc[code]
    return (
        f"<div class='gm-popup'><h4>{_e(p['name'])}</h4>"
        f"<div class='gm-sub'>{_e(p['category'])} · {_e(p['address'])}</div>"
        f"<b>责任单位</b>：{_unit_html(model, p['unit_code'], page_base)}<br>"
        f"<b>所在网格</b>：{_e(_grid_name(model, p['grid_code']))}</div>"
    )


def _grid_name(model: ResponsibilityModel, code) -> str | None:
    if code is None or code not in model.grids.index:
        return None
    return model.grids.loc[code, "name"]
