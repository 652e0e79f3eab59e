"""One error handler: domain errors and HTTP errors to JSON or a Chinese page."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from gridmap.errors import GridmapError

_HTTP_MESSAGES = {
    400: "请求有误",
    403: "没有权限",
    404: "页面不存在",
    405: "不支持该请求方法",
    413: "上传内容过大",
    500: "服务器内部错误",
}


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/open311/")) or request.path.endswith(
        (".json", ".geojson")
    )


def _respond(status: int, body: dict):
    if _wants_json():
        return body, status
    return render_template("error.html", status=status, message=body["message"], body=body), status


def register(app: Flask) -> None:
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
        message = _HTTP_MESSAGES.get(status, error.name)
        return _respond(status, {"error": error.name.lower().replace(" ", "_"), "message": message})

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unhandled error")
        return _respond(500, {"error": "internal_error",
                              "message": "服务器内部错误，请联系系统管理员查看日志"})
