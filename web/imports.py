"""The office's import page: upload a file, choose what it is, preview map and report, then commit.

The rules (storage, content sniffing, size limit, expiry, pending uploads) are in
`gridmap.importer.uploads`; here requests are parsed and pages rendered. A body bigger than
GRIDMAP_IMPORT_MAX_MB is refused with 413 before it is read (the limit is raised for the
preview route before any hook touches the form).
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, session, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from gridmap.assets import localize
from gridmap.errors import TooLarge
from gridmap.importer import KINDS, preview_map
from gridmap.importer.uploads import Uploads
from gridmap.io.columns import kind_label
from gridmap.maps import map_parts
from web.auth import current_user, login_required
from web.context import settings, store

bp = Blueprint("imports", __name__)

_OFFICE = ("office",)


def _uploads() -> Uploads:
    """The app's uploads, made once (its storage keeps one S3 client per process)."""
    found = current_app.extensions.get("gridmap.uploads")
    if found is None:
        found = current_app.extensions["gridmap.uploads"] = Uploads.from_settings(settings())
    return found


@bp.url_value_preprocessor
def _import_body_limit(endpoint, values) -> None:
    """Let the preview route take an import-sized body, decided before the body is touched.

    Flask runs URL value preprocessors before every before_request hook, and one of those
    (the CSRF check) reads the form; the app-wide limit is sized for photos.
    """
    if endpoint == "imports.import_preview":
        request.max_content_length = _uploads().max_body


@bp.errorhandler(RequestEntityTooLarge)
@bp.errorhandler(TooLarge)
def _too_large(error):
    msg = _uploads().too_large_message()
    if current_user() is None or current_user().role not in _OFFICE:
        return render_template(
            "error.html", status=413, message=msg, body={"error": "too_large", "message": msg}
        ), 413
    return _page(error=msg, status=413)


def _page(report=None, *, token=None, options=None, error=None, status=200):
    parts = None
    if report is not None and report.data is not None:
        m = preview_map(report)
        localize(m, base_url=url_for("static", filename="vendor").rstrip("/"))
        parts = map_parts(m)
    kinds = [(k, kind_label(k)) for k in KINDS]
    return render_template(
        "import.html",
        report=report,
        map=parts,
        token=token,
        options=options or _uploads().default_options(),
        kinds=kinds,
        error=error,
    ), status


def _keep_pending(before: dict, after: dict) -> None:
    if after != before:
        session["imports"] = after


@bp.get("/import")
@login_required(_OFFICE)
def import_form():
    _uploads().clean()
    return _page()


@bp.post("/import/preview")
@login_required(_OFFICE)
def import_preview():
    pending = session.get("imports", {})
    outcome = _uploads().preview(
        store(), form=request.form, upload=request.files.get("file"), pending=pending
    )
    _keep_pending(pending, outcome.pending)
    return _page(outcome.report, token=outcome.token, options=outcome.options)


@bp.post("/import/commit")
@login_required(_OFFICE)
def import_commit():
    pending = session.get("imports", {})
    outcome = _uploads().commit(store(), request.form.get("token", ""), pending=pending)
    _keep_pending(pending, outcome.pending)
    return _page(outcome.report, options=outcome.options, status=200 if outcome.report.ok else 422)
