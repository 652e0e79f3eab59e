"""The exposure page (曝光台) and rewards for valid citizen reports (有奖举报) over HTTP: the public
page and lookup, the office's publish form on the problem page, the monthly list, payout and export."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for

from gridmap.errors import GridmapError
from gridmap.exposure import rewards, service
from web.auth import current_user, login_required
from web.context import settings
from web.problems import ctx, now

bp = Blueprint("exposure", __name__)

OFFICE = ("office",)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NO_STORE = {"Cache-Control": "no-store"}


def _data() -> dict:
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    return request.form.to_dict()


@bp.app_context_processor
def _exposure_globals() -> dict:
    def exposure_of(rec: dict) -> dict | None:
        """The exposure state of a problem, for the office's form on the problem page."""
        return service.state(ctx(), rec["id"])

    return {"exposure_of": exposure_of, "exposure_publishable": service.PUBLISHABLE}


# --- the public page -----------------------------------------------------------------------------
@bp.get("/exposure")
def exposure_page():
    return render_template(
        "exposure/exposure.html", view=service.page(ctx(), number=request.args.get("page"), now=now())
    )


@bp.get("/api/exposure")
def exposure_api():
    return service.page(ctx(), number=request.args.get("page"), now=now())


# --- the office publishes from the problem page -----------------------------------------------------
@bp.post("/problems/<ref>/exposure")
@login_required(roles=OFFICE)
def publish_page(ref: str):
    form = request.form
    if form.get("remove"):
        done = service.unpublish(ctx(), ref, user=current_user(), now=now())
    else:
        done = service.publish(
            ctx(), ref, user=current_user(), title=form.get("title"), comment=form.get("comment"), now=now()
        )
    return redirect(url_for("problems.show_page", ref=done["tracking_no"]))


@bp.post("/api/problems/<ref>/exposure")
@login_required()
def publish_api(ref: str):
    data = _data()
    if data.get("published") is False:
        return service.unpublish(ctx(), ref, user=current_user(), now=now())
    return service.publish(
        ctx(), ref, user=current_user(), title=data.get("title"), comment=data.get("comment"), now=now()
    )


# --- rewards: the citizen's lookup -----------------------------------------------------------------
@bp.get("/rewards/lookup")
def lookup_page():
    no = request.args.get("no")
    found, error, status = None, None, 200
    if no is not None:
        try:
            found = rewards.report_points(ctx(), no, now=now())
        except GridmapError as exc:
            error, status = exc.message, exc.status
    page = render_template(
        "exposure/lookup.html", found=found, no=no or "", error=error, points=settings().reward_points
    )
    return page, status


@bp.get("/api/rewards/lookup")
def lookup_api():
    return rewards.report_points(ctx(), request.args.get("no"), now=now())


# --- rewards: the office's monthly list ------------------------------------------------------------
@bp.get("/rewards")
@login_required(roles=OFFICE)
def rewards_page():
    listing = rewards.monthly(ctx(), user=current_user(), month=request.args.get("month"), now=now())
    if request.args.get("format") == "xlsx":
        response = Response(rewards.to_xlsx(listing), mimetype=XLSX, headers=NO_STORE)
        response.headers["Content-Disposition"] = f"attachment; filename=rewards-{listing['month']}.xlsx"
        return response
    return render_template("exposure/rewards.html", listing=listing), 200, NO_STORE


@bp.get("/api/rewards")
@login_required()
def rewards_api():
    listing = rewards.monthly(ctx(), user=current_user(), month=request.args.get("month"), now=now())
    return listing, 200, NO_STORE


@bp.post("/rewards/paid")
@login_required(roles=OFFICE)
def paid_page():
    form = request.form
    done = rewards.pay(
        ctx(), user=current_user(), month=form.get("month"), phone=form.get("phone"), now=now()
    )
    return redirect(url_for("exposure.rewards_page", month=done["month"]))


@bp.post("/api/rewards/paid")
@login_required()
def paid_api():
    data = _data()
    return rewards.pay(
        ctx(), user=current_user(), month=data.get("month"), phone=data.get("phone"), now=now()
    )
