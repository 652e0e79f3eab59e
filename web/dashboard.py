"""The command-centre dashboard (指挥中心大屏) at /dashboard and its JSON twin /api/dashboard."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from gridmap import assets, dashboard
from web.auth import current_user, login_required
from web.context import settings
from web.problems import ctx, now

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard")
@login_required(roles=dashboard.ROLES)
def dashboard_page():
    view = dashboard.page(
        ctx(),
        user=current_user(),
        refresh=request.args.get("refresh"),
        default_refresh=settings().dashboard_refresh_seconds,
        basemap=settings().basemap,
        local_tiles=url_for("pages.index").rstrip("/") + "/tiles/{z}/{x}/{y}.png",
        now=now(),
    )
    js, css = assets.links("leaflet", "echarts", base_url=url_for("static", filename="vendor").rstrip("/"))
    return render_template("dashboard.html", view=view, vendor_js=js, vendor_css=css)


@bp.get("/api/dashboard")
@login_required(roles=dashboard.ROLES)
def dashboard_api():
    return dashboard.api(ctx(), user=current_user(), now=now())
