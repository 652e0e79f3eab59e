"""Follow-up (回访), staff merge and response templates (惯用语) over HTTP: the reporter's tracking
page, the office's phone follow-up and merge forms, and the office's phrase page."""

from __future__ import annotations

from flask import Blueprint, flash, get_flashed_messages, redirect, render_template, request, url_for

from gridmap.errors import GridmapError
from gridmap.problems import followup, merge, phrases
from web.auth import current_user, login_required
from web.context import settings, store
from web.problems import ctx, now

bp = Blueprint("followup", __name__)

OFFICE = ("office",)
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}  # the page's URL holds the key


def _data() -> dict:
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    return request.form.to_dict()


@bp.app_context_processor
def _phrase_globals() -> dict:
    def phrase_picker() -> dict[str, list[str]]:
        """Action -> template texts, for the note pickers of the problem page's action forms."""
        user = current_user()
        return phrases.picker(store(), now=now()) if user is not None else {}

    def merge_candidates(rec: dict) -> list[dict]:
        """Open problems of the same category near this one, for the merge form's suggestions."""
        return merge.candidates(ctx(), rec)

    return {"phrase_picker": phrase_picker, "merge_candidates": merge_candidates}


# --- the reporter's tracking page ----------------------------------------------------------------
def _track(ref: str, *, key: str, outcome: dict | None = None, error: str | None = None, status: int = 200):
    view = followup.tracking(ctx(), ref, key=key, now=now())
    page = render_template(
        "problems/track.html",
        p=view,
        key=key,
        outcome=outcome,
        error=error,
        followup_days=settings().followup_days,
    )
    return page, status, PRIVATE


@bp.get("/track/<ref>")
def track_page(ref: str):
    key = request.args.get("key", "")
    if not key:
        return redirect(url_for("problems.show_page", ref=ref))
    return _track(ref, key=key)


@bp.post("/track/<ref>")
def track_answer(ref: str):
    form = request.form
    key = form.get("key", "")
    try:
        done = followup.answer(
            ctx(), ref, key=key, result=form.get("result"), note=form.get("note"), now=now()
        )
    except GridmapError as error:
        if error.status in (401, 403, 404):
            raise
        return _track(ref, key=key, error=error.message, status=error.status)
    return _track(ref, key=key, outcome=done["outcome"])


@bp.get("/api/problems/<ref>/track")
def track_api(ref: str):
    return followup.tracking(ctx(), ref, key=request.args.get("key"), now=now()), 200, PRIVATE


@bp.post("/api/problems/<ref>/followup")
def followup_api(ref: str):
    """The reporter answers with the tracking key; without it, an office user records a phone follow-up."""
    data = _data()
    if data.get("key") is not None:
        return followup.answer(
            ctx(), ref, key=data.get("key"), result=data.get("result"), note=data.get("note"), now=now()
        )
    return followup.phone(
        ctx(), ref, user=current_user(), result=data.get("result"), note=data.get("note"), now=now()
    )


# --- the office's forms on the problem page ------------------------------------------------------
@bp.post("/problems/<ref>/followup")
@login_required()
def phone_page(ref: str):
    form = request.form
    rec = followup.phone(
        ctx(), ref, user=current_user(), result=form.get("result"), note=form.get("note"), now=now()
    )
    return redirect(url_for("problems.show_page", ref=rec["tracking_no"]))


@bp.post("/problems/<ref>/merge")
@login_required()
def merge_page(ref: str):
    form = request.form
    rec = merge.merge(
        ctx(), ref, user=current_user(), into=form.get("into"), note=form.get("note"), now=now()
    )
    return redirect(url_for("problems.show_page", ref=rec["merged_into"]["tracking_no"]))


@bp.post("/api/problems/<ref>/merge")
@login_required()
def merge_api(ref: str):
    data = _data()
    return merge.merge(
        ctx(), ref, user=current_user(), into=data.get("into"), note=data.get("note"), now=now()
    )


# --- response templates (惯用语) -----------------------------------------------------------------
def _phrases_page(*, error: str | None = None, status: int = 200):
    page = render_template(
        "admin/phrases.html",
        groups=phrases.all_phrases(store(), now=now()),
        label=phrases.action_label,
        actions=phrases.ACTIONS,
        max_text=phrases.MAX_TEXT,
        error=error,
        notices=get_flashed_messages(),
    )
    return page, status


@bp.get("/admin/phrases")
@login_required(roles=OFFICE)
def phrases_page():
    return _phrases_page()


@bp.get("/api/phrases")
@login_required()
def phrases_api():
    groups = phrases.all_phrases(store(), now=now())
    return {"phrases": {a: [p.as_dict() for p in found] for a, found in groups.items()}}


def _phrase_change(change, message: str):
    try:
        change()
    except GridmapError as error:
        return _phrases_page(error=error.message, status=error.status)
    flash(message)
    return redirect(url_for("followup.phrases_page"))


@bp.post("/admin/phrases")
@login_required(roles=OFFICE)
def phrase_add():
    form = request.form
    return _phrase_change(
        lambda: phrases.add_phrase(
            store(), user=current_user(), action=form.get("action"), text=form.get("text"), now=now()
        ),
        "已添加惯用语",
    )


@bp.post("/admin/phrases/<phrase_id>")
@login_required(roles=OFFICE)
def phrase_edit(phrase_id: str):
    form = request.form
    return _phrase_change(
        lambda: phrases.edit_phrase(
            store(), user=current_user(), phrase_id=phrase_id, text=form.get("text"), now=now()
        ),
        "已保存惯用语",
    )


@bp.post("/admin/phrases/<phrase_id>/delete")
@login_required(roles=OFFICE)
def phrase_delete(phrase_id: str):
    return _phrase_change(
        lambda: phrases.delete_phrase(store(), user=current_user(), phrase_id=phrase_id), "已删除惯用语"
    )


@bp.post("/admin/phrases/<phrase_id>/move")
@login_required(roles=OFFICE)
def phrase_move(phrase_id: str):
    direction = request.form.get("direction")
    return _phrase_change(
        lambda: phrases.move_phrase(store(), user=current_user(), phrase_id=phrase_id, direction=direction),
        "已调整顺序",
    )
