"""Written notices (书面通报) for the office: the month's notice and 整改通知书 as .docx or .pdf,
a page listing what the notice contains, and its JSON twin."""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import Blueprint, render_template, request, send_file

from gridmap.notice.export import KINDS, MIMETYPES, notice_contents, notice_file, previous_month
from gridmap.serving import run_heavy
from web.auth import login_required
from web.problems import ctx, now

bp = Blueprint("notices", __name__)

OFFICE = ("office",)


def _options() -> dict:
    args = request.args
    return {
        "month": args.get("month") or previous_month(now()),
        "issuer": args.get("issuer"),
        "number": args.get("number"),
    }


@bp.get("/notices")
@login_required(roles=OFFICE)
def notices_page():
    options = _options()
    contents = notice_contents(ctx(), now=now(), **options)
    return render_template("notices.html", n=contents, options=options, kinds=KINDS, formats=MIMETYPES)


@bp.get("/api/notices")
@login_required(roles=OFFICE)
def notices_api():
    return notice_contents(ctx(), now=now(), **_options()), 200, {"Cache-Control": "no-store"}


@bp.get("/notices/file")
@login_required(roles=OFFICE)
def notice_download():
    args = request.args
    written = run_heavy(
        "书面通报",
        notice_file,
        ctx(),
        fmt=args.get("format", "docx"),
        kind=args.get("kind", "notice"),
        unit=args.get("unit"),
        now=now(),
        **_options(),
    )
    response = send_file(io.BytesIO(written.data), mimetype=written.mimetype, max_age=0)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{written.ascii_filename}\"; filename*=UTF-8''{quote(written.filename)}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response
