"""Open311 GeoReport v2 at /open311/v2/: JSON only, errors as [{"code": .., "description": ..}]."""

from __future__ import annotations

from flask import Blueprint, current_app, request, url_for
from werkzeug.exceptions import HTTPException

from gridmap.errors import GridmapError, InvalidInput
from gridmap.parsing import shown
from gridmap.problems import open311
from web.errors import HTTP_MESSAGES
from web.problems import PHOTO_FIELDS, ctx, now

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")


def _json(body, status: int = 200):
    response = current_app.json.response(body)
    response.status_code = status
    return response


@bp.errorhandler(GridmapError)
def _domain_error(error: GridmapError):
    response = _json([{"code": error.status, "description": error.message}], error.status)
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    status = error.code or 500
    text = HTTP_MESSAGES.get(status, error.name)
    return _json([{"code": status, "description": text}], status)


def _only_json(fmt: str) -> None:
    if fmt != "json":
        msg = f"只支持 JSON 格式（.json），不支持 .{shown(fmt)}"
        raise InvalidInput(msg)


@bp.get("/discovery.<fmt>")
def discovery(fmt: str):
    _only_json(fmt)
    return _json(
        open311.discovery(base_url=url_for("open311.discovery", fmt="json", _external=True).rsplit("/", 1)[0])
    )


@bp.get("/services.<fmt>")
def services(fmt: str):
    _only_json(fmt)
    return _json(open311.services(ctx()))


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str):
    _only_json(fmt)
    return _json(open311.service_definition(ctx(), code))


def _absolute(items: list[dict]) -> list[dict]:
    """media_url must be a full URI."""
    root = request.url_root.rstrip("/")
    for item in items:
        if item.get("media_url", "").startswith("/") if item.get("media_url") else False:
            item["media_url"] = root + item["media_url"]
    return items


@bp.get("/requests.<fmt>")
def requests_get(fmt: str):
    _only_json(fmt)
    return _json(_absolute(open311.get_requests(ctx(), request.args, now=now())))


@bp.post("/requests.<fmt>")
def requests_post(fmt: str):
    _only_json(fmt)
    form = {**request.args.to_dict(), **request.form.to_dict()}
    photos = [
        (f.filename or "media", f.read())
        for name in PHOTO_FIELDS
        for f in request.files.getlist(name)
        if f and f.filename
    ]
    return _json(open311.post_request(ctx(), form, photos=photos, now=now()))


@bp.get("/requests/<request_id>.<fmt>")
def request_get(request_id: str, fmt: str):
    _only_json(fmt)
    return _json(_absolute(open311.get_request(ctx(), request_id, now=now())))
