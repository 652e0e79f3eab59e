"""One error handler: domain errors and HTTP errors to JSON or a Chinese page."""

from __future__ import annotations

from flask import Flask, Request, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from gridmap.errors import GridmapError
from gridmap.parsing import parse_json

HTTP_MESSAGES = {
    400: "请求有误",
    403: "没有权限",
    404: "页面不存在",
    405: "不支持该请求方法",
    408: "请求发送超时，请重试",
    411: "请求缺少长度（Content-Length）",
    413: "上传内容过大",
    414: "网址过长",
    415: "不支持的请求内容类型",
    429: "请求过于频繁，请稍后再试",
    431: "请求头过大",
    500: "服务器内部错误",
    503: "服务器繁忙，请稍后再试",
}


class _StrictJSON:
    """What request.get_json() parses with: malformed, too deep or non-finite JSON is a 400."""

    @staticmethod
    def loads(data, **_kw):
        return parse_json(data)


class StrictJSONRequest(Request):
    """Request bodies in JSON go through gridmap.parsing.parse_json, even with silent=True."""

    @property
    def json_module(self):
        return _StrictJSON

    @json_module.setter
    def json_module(self, _value) -> None:
        """Flask hands every request the app's JSON provider; bodies keep the strict parser."""


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/open311/")) or request.path.endswith((".json", ".geojson"))


def _respond(status: int, body: dict):
    if _wants_json():
        return body, status
    return render_template("error.html", status=status, message=body["message"], body=body), status


class BoundedIntegerConverter(IntegerConverter):
    """``<int:…>`` in URLs up to the largest database integer: a bigger one is a 404, not an overflow."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def register(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntegerConverter  # before the blueprints add their rules
    if not issubclass(app.request_class, StrictJSONRequest):
        app.request_class = type("GridmapRequest", (StrictJSONRequest, app.request_class), {})

    @app.errorhandler(GridmapError)
    def domain_error(error: GridmapError):
        response = _respond(error.status, error.as_dict())
        retry_after = getattr(error, "retry_after", None)
        if retry_after is None:
            return response
        body, status = response
        return body, status, {"Retry-After": str(retry_after)}

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        message = HTTP_MESSAGES.get(status, error.name)
        return _respond(status, {"error": error.name.lower().replace(" ", "_"), "message": message})

    @app.errorhandler(RecursionError)
    def too_deep(error: RecursionError):
        app.logger.warning("request too deeply nested: %s %s", request.method, request.path)
        return _respond(
            400, {"error": "invalid_input", "message": "请求内容嵌套过深或格式错误，请检查后重试"}
        )

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unhandled error")
        return _respond(
            500, {"error": "internal_error", "message": "服务器内部错误，请联系系统管理员查看日志"}
        )
