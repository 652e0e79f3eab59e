"""Open311 GeoReport v2 at /open311/v2/: every document in XML and JSON, errors in the spec's form."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.exceptions import HTTPException, NotFound

from gridmap.errors import GridmapError
from gridmap.problems import open311
from gridmap.problems.open311xml import XML_CONTENT_TYPE, error_document, to_xml
from web.errors import HTTP_MESSAGES
from web.problems import ctx, now

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")


def _asked_format() -> str:
    """xml or json, from the route's <fmt> or else the path's suffix (for errors before routing)."""
    fmt = (request.view_args or {}).get("fmt") or request.path.rsplit(".", 1)[-1]
    return "xml" if fmt == "xml" else "json"


def _render(document: str, body, status: int = 200, *, fmt: str | None = None):
    if (fmt or _asked_format()) == "xml":
        return Response(to_xml(document, body), status=status, content_type=XML_CONTENT_TYPE)
    response = current_app.json.response(body)
    response.status_code = status
    return response


@bp.errorhandler(GridmapError)
def _domain_error(error: GridmapError):
    response = _render("errors", error_document(error.status, error.message), error.status)
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    status = error.code or 500
    return _render("errors", error_document(status, HTTP_MESSAGES.get(status, error.name)), status)


def _root() -> str:
    return request.url_root


@bp.get("/discovery.<fmt>")
def discovery(fmt: str):
    fmt = open311.check_format(fmt)
    base = url_for("open311.discovery", fmt="xml", _external=True).rsplit("/", 1)[0]
    return _render("discovery", open311.discovery(base_url=base), fmt=fmt)


@bp.get("/services.<fmt>")
def services(fmt: str):
    fmt = open311.check_format(fmt)
    return _render("services", open311.services(ctx()), fmt=fmt)


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str):
    fmt = open311.check_format(fmt)
    return _render("service_definition", open311.service_definition(ctx(), code), fmt=fmt)


@bp.get("/requests.<fmt>")
def requests_get(fmt: str):
    fmt = open311.check_format(fmt)
    body = open311.get_requests(ctx(), request.args, now=now(), media_root=_root())
    return _render("requests", body, fmt=fmt)


@bp.post("/requests.<fmt>")
def requests_post(fmt: str):
    fmt = open311.check_format(fmt)
    form = {**request.args.to_dict(), **request.form.to_dict()}
    # every uploaded file is media: FixMyStreet names them photo1, photo2, ...; others media or photo
    photos = [(f.filename or "media", f.read()) for _, f in request.files.items(multi=True) if f.filename]
    return _render("posted", open311.post_request(ctx(), form, photos=photos, now=now()), fmt=fmt)


@bp.get("/requests/<request_id>.<fmt>")
def request_get(request_id: str, fmt: str):
    fmt = open311.check_format(fmt)
    body = open311.get_request(ctx(), request_id, now=now(), media_root=_root())
    return _render("requests", body, fmt=fmt)


@bp.get("/servicerequestupdates.<fmt>")
def updates_get(fmt: str):
    fmt = open311.check_format(fmt)
    body = open311.get_updates(ctx(), request.args, now=now(), media_root=_root())
    return _render("updates", body, fmt=fmt)


@bp.route("/<path:rest>", methods=["GET", "POST"])
def unknown(rest: str):
    """Anything else under /open311/v2/ is a 404 in the spec's form (XML when it ends in .xml)."""
    raise NotFound
