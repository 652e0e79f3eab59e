"""One small hierarchy of domain errors, each carrying its HTTP meaning."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One problem found in input data, located as precisely as we can."""

    message: str
    file: str | None = None
    layer: str | None = None
    feature: int | str | None = None
    field: str | None = None
    severity: str = "error"  # "error" stops a load; "warning" does not
    hint: str | None = None

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(f"文件 {self.file}")
        if self.layer:
            parts.append(f"图层 {self.layer}")
        if self.feature is not None:
            parts.append(f"要素/行 {self.feature}")
        if self.field:
            parts.append(f"字段 {self.field}")
        return "，".join(parts)

    def __str__(self) -> str:
        level = "错误" if self.severity == "error" else "警告"
        where = self.where()
        text = f"[{level}] {where}：{self.message}" if where else f"[{level}] {self.message}"
        if self.hint:
            text += f"（{self.hint}）"
        return text

    def as_dict(self) -> dict:
        return {
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "layer": self.layer,
            "feature": self.feature,
            "field": self.field,
            "hint": self.hint,
        }


class GridmapError(Exception):
    """Base of every error gridmap raises on purpose; message in Chinese."""

    status = 500
    code = "error"

    def __init__(self, message: str, *, findings: list[Finding] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.findings = list(findings or [])

    def as_dict(self) -> dict:
        body: dict = {"error": self.code, "message": self.message}
        if self.findings:
            body["findings"] = [f.as_dict() for f in self.findings]
        return body

    def __str__(self) -> str:
        if not self.findings:
            return self.message
        lines = [self.message] + [f"  {f}" for f in self.findings]
        return "\n".join(lines)


class InvalidInput(GridmapError):
    """A request or argument is malformed (HTTP 400)."""

    status = 400
    code = "invalid_input"


class NotFound(GridmapError):
    """The thing asked for does not exist (HTTP 404)."""

    status = 404
    code = "not_found"


class DataError(GridmapError):
    """A dataset or file failed validation (HTTP 422)."""

    status = 422
    code = "invalid_data"


class Forbidden(GridmapError):
    """The user may not do this (HTTP 403)."""

    status = 403
    code = "forbidden"


class Unauthorized(GridmapError):
    """The user must log in first (HTTP 401)."""

    status = 401
    code = "unauthorized"


class Conflict(GridmapError):
    """The request clashes with the current state (HTTP 409)."""

    status = 409
    code = "conflict"


class TooManyRequests(GridmapError):
    """Too many attempts from this user or address; try again after ``retry_after`` seconds (HTTP 429)."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, findings: list[Finding] | None = None) -> None:
        super().__init__(message, findings=findings)
        self.retry_after = max(1, int(retry_after))

    def as_dict(self) -> dict:
        return {**super().as_dict(), "retry_after": self.retry_after}


class ServiceBusy(GridmapError):
    """The server is at its limit of heavy work; try again after ``retry_after`` seconds (HTTP 503)."""

    status = 503
    code = "busy"

    def __init__(self, message: str, *, retry_after: int, findings: list[Finding] | None = None) -> None:
        super().__init__(message, findings=findings)
        self.retry_after = max(1, int(retry_after))

    def as_dict(self) -> dict:
        return {**super().as_dict(), "retry_after": self.retry_after}


class RequestTimeout(GridmapError):
    """The client sent its request too slowly (HTTP 408)."""

    status = 408
    code = "request_timeout"


class TooLarge(GridmapError):
    """An uploaded file is bigger than its limit (HTTP 413)."""

    status = 413
    code = "too_large"


class ConfigError(GridmapError):
    """A setting is missing or wrong (HTTP 500; fix the configuration)."""

    status = 500
    code = "config_error"
