"""Serving under load: bounded heavy work per worker, request-body deadlines, log redaction, gunicorn argv."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from gridmap.errors import RequestTimeout, ServiceBusy

T = TypeVar("T")
log = logging.getLogger(__name__)

# A request body must keep up this average rate once its grace period (GRIDMAP_BODY_TIMEOUT_S) is used.
BODY_MIN_BYTES_PER_S = 16 * 1024
# Query parameters whose values never reach a log (matched case-insensitively, also as *_key, *_token).
SECRET_PARAMS = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "token",
        "access_token",
        "auth",
        "password",
        "passwd",
        "pwd",
        "secret",
        "csrf_token",
        "session",
        "signature",
    }
)
REDACTED = "***"


# ----------------------------------------------------------------------------- heavy work


class _Heavy:
    """A per-process budget of heavy jobs (photo decoding, map rendering) run at once."""

    def __init__(self, *, slots: int = 1, wait_s: float = 10.0) -> None:
        self.slots = slots
        self.wait_s = wait_s
        self._pid = -1
        self._semaphore: threading.Semaphore | None = None
        self._guard = threading.Lock()

    def semaphore(self) -> threading.Semaphore:
        # Made per process: a semaphore inherited through fork would carry the parent's state.
        if self._pid != os.getpid():
            with self._guard:
                if self._pid != os.getpid():
                    self._semaphore = threading.BoundedSemaphore(self.slots)
                    self._pid = os.getpid()
        assert self._semaphore is not None
        return self._semaphore


HEAVY = _Heavy()


def configure_heavy(*, slots: int, wait_s: float) -> None:
    """Set how many heavy jobs one process runs at once and how long a request waits for a turn."""
    HEAVY.slots = int(slots)
    HEAVY.wait_s = float(wait_s)
    HEAVY._pid = -1  # rebuilt at the next use


@contextlib.contextmanager
def heavy_slot(what: str) -> Iterator[None]:
    """Hold one of this process's heavy-work slots; ServiceBusy (503, Retry-After) when none frees in time.

    ``what`` names the work in the message, e.g. "照片处理" or "地图出图".
    """
    semaphore = HEAVY.semaphore()
    if not semaphore.acquire(timeout=HEAVY.wait_s):
        retry = max(5, round(HEAVY.wait_s))
        msg = (
            f"服务器正忙于其他{what}（每个服务进程同时处理 {HEAVY.slots} 项，已等待 {HEAVY.wait_s:g} 秒），"
            f"请约 {retry} 秒后重试"
        )
        raise ServiceBusy(msg, retry_after=retry)
    try:
        yield
    finally:
        semaphore.release()


def gevent_active() -> bool:
    """True in a process whose threading was monkey-patched by gevent (a gevent worker)."""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("threading"))


def offload(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` in a real thread when this is a gevent worker, so its event loop keeps serving
    other requests (ping, whois) meanwhile; elsewhere simply call it."""
    if gevent_active():
        import gevent

        return gevent.get_hub().threadpool.apply(fn, args, kwargs)
    return fn(*args, **kwargs)


def run_heavy(what: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` inside a heavy-work slot, off the event loop."""
    with heavy_slot(what):
        return offload(fn, *args, **kwargs)


def start_thread(fn: Callable[..., Any], /, *args: Any) -> None:
    """Start ``fn(*args)`` in a real OS thread and return at once: from gevent's thread pool in a
    gevent worker (its event loop goes on serving), else a daemon thread."""
    if gevent_active():
        import gevent

        gevent.get_hub().threadpool.spawn(fn, *args)
        return
    threading.Thread(target=fn, args=args, daemon=True).start()


# ----------------------------------------------------------------------------- forking servers

# Bound methods of live objects (and their keyword arguments) to call when the server is ready (in
# the master, before it forks) and in every forked worker; weak, so apps built and dropped (tests)
# leave nothing behind.
_Hook = tuple[weakref.WeakMethod, dict[str, Any]]
_ON_READY: list[_Hook] = []
_AFTER_FORK: list[_Hook] = []


def on_ready(method: Callable[..., Any], /, **kwargs: Any) -> None:
    """Call the bound ``method(**kwargs)`` in the server's master once the app is loaded, before any
    worker forks (gunicorn's on_starting): build what workers should share, let go of connections."""
    _ON_READY[:] = [hook for hook in _ON_READY if hook[0]() is not None]  # apps since dropped
    _ON_READY.append((weakref.WeakMethod(method), kwargs))


def after_fork(method: Callable[..., Any], /, **kwargs: Any) -> None:
    """Call the bound ``method(**kwargs)`` in every worker forked from this process (gunicorn's post_fork)."""
    _AFTER_FORK[:] = [hook for hook in _AFTER_FORK if hook[0]() is not None]
    _AFTER_FORK.append((weakref.WeakMethod(method), kwargs))


def _run(hooks: list[_Hook]) -> None:
    """Each hook in turn; one that fails is logged and the others still run (a model that cannot be
    built at start-up is built by the workers later, but connections must be let go of anyway)."""
    hooks[:] = [(ref, kwargs) for ref, kwargs in hooks if ref() is not None]
    for ref, kwargs in list(hooks):
        method = ref()
        if method is None:
            continue
        try:
            method(**kwargs)
        except Exception:
            log.exception("server hook %s failed", getattr(method, "__qualname__", method))


def ready() -> None:
    """In the master before forking: run every on_ready method, in the order registered."""
    _run(_ON_READY)


def forked() -> None:
    """In a freshly forked worker: run every after_fork method, in the order registered."""
    _run(_AFTER_FORK)


# ----------------------------------------------------------------------------- request bodies


class _DeadlineInput:
    """wsgi.input that must deliver within ``grace_s`` plus one second per BODY_MIN_BYTES_PER_S read.

    Reads are split into pieces of at most CHUNK bytes, each bounded by the time still allowed,
    so a body trickled a byte at a time runs out of time however large a read was asked for.
    """

    CHUNK = 64 * 1024

    def __init__(self, inner, *, grace_s: float, sock: socket.socket | None) -> None:
        self._inner = inner
        self._grace = grace_s
        self._sock = sock
        self._start = time.monotonic()
        self._received = 0

    def _remaining(self) -> float:
        allowed = self._grace + self._received / BODY_MIN_BYTES_PER_S
        return allowed - (time.monotonic() - self._start)

    def _timed(self, method: str, *args):
        """``inner.method(*args)`` within the time still allowed: a greenlet timeout under gevent
        (what `gridmap serve` runs); elsewhere a socket timeout, which only bounds silences."""
        remaining = self._remaining()
        if remaining <= 0:
            self._give_up()
        if gevent_active():
            import gevent

            timer = gevent.Timeout(remaining)
            timer.start()
            try:
                data = getattr(self._inner, method)(*args)
            except gevent.Timeout as exc:
                if exc is not timer:
                    raise
                self._give_up()
            finally:
                timer.close()
        else:
            old = None
            if self._sock is not None:
                with contextlib.suppress(OSError):
                    old = self._sock.gettimeout()
                    self._sock.settimeout(max(remaining, 0.01))
            try:
                data = getattr(self._inner, method)(*args)
            except TimeoutError:
                self._give_up()
            finally:
                if self._sock is not None:
                    with contextlib.suppress(OSError):
                        self._sock.settimeout(old)
        self._received += len(data or b"")
        return data

    def _give_up(self):
        if self._sock is not None:  # the rest of the body is not waited for: close after the answer
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RD)
        msg = (
            f"请求内容上传太慢：{self._grace:g} 秒内（之后每秒至少 {BODY_MIN_BYTES_PER_S // 1024} KB）"
            f"未能传完，只收到 {self._received} 字节；请检查网络后重试"
        )
        raise RequestTimeout(msg)

    def read(self, size: int | None = -1):
        if size is None or size < 0:
            parts = []
            while chunk := self._timed("read", self.CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        parts, left = [], size
        while left > 0:
            chunk = self._timed("read", min(left, self.CHUNK))
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    def readline(self, size: int | None = -1):
        return self._timed("readline", size if size is not None else -1)

    def readlines(self, hint: int = -1):
        lines: list[bytes] = []
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            if 0 < hint <= sum(len(x) for x in lines):
                return lines

    def __iter__(self):
        return iter(self.readline, b"")


class BodyDeadline:
    """WSGI middleware: a request body must arrive within ``grace_s`` seconds plus one second per
    16 KB; a client that trickles it is answered 408 (RequestTimeout) instead of holding a worker."""

    def __init__(self, app, *, grace_s: float) -> None:
        self.app = app
        self.grace_s = float(grace_s)

    def __call__(self, environ, start_response):
        if environ.get("CONTENT_LENGTH") not in (None, "", "0") or environ.get("HTTP_TRANSFER_ENCODING"):
            environ["wsgi.input"] = _DeadlineInput(
                environ["wsgi.input"], grace_s=self.grace_s, sock=environ.get("gunicorn.socket")
            )
        return self.app(environ, start_response)


# ----------------------------------------------------------------------------- logs


def _is_secret(name: str) -> bool:
    name = name.strip().lower()
    return name in SECRET_PARAMS or name.endswith(("_key", "_token", "password", "_secret"))


def redact_query(query: str) -> str:
    """A query string with the values of secret parameters (api_key, token, password, …) replaced."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(_is_secret(k) for k, _ in pairs):
        return query
    return "&".join(
        f"{quote(k, safe='')}={REDACTED if _is_secret(k) else quote(v, safe='')}" for k, v in pairs
    )


def redact_url(url: str) -> str:
    """A URL or path whose query has its secret values replaced (see redact_query)."""
    if "?" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?", 1)[0] + "?" + REDACTED
    return urlunsplit(parts._replace(query=redact_query(parts.query)))


# ----------------------------------------------------------------------------- gunicorn


def gunicorn_argv(*, host: str, port: int, workers: int) -> list[str]:
    """The gunicorn command line of `gridmap serve`; the rest is in gridmap.gunicorn_conf."""
    return [
        sys.executable, "-m", "gunicorn",
        "--config", "python:gridmap.gunicorn_conf",
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        "--no-control-socket",  # else every server on the machine shares ~/.gunicorn/gunicorn.ctl
        "web:create_app()",
    ]  # fmt: skip
