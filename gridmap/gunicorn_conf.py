"""gunicorn settings of `gridmap serve`: gevent workers, body deadlines, heavy-work slots, a log without secrets.

Loaded by gunicorn (``--config python:gridmap.gunicorn_conf``) in the master before the app is
preloaded, so gevent's monkey-patching comes first: locks, sockets and sleeps the app creates
at import time are already cooperative, in the master and in every forked worker.
"""

from gevent import monkey


def _patch() -> None:
    """gevent's monkey-patching, except that threading.local stays one per OS thread.

    pyproj keeps the PROJ objects of every CRS and Transformer in a threading.local; made
    greenlet-local they would be rebuilt for every request (0.1–0.3 s each whois). Greenlets
    switch only at I/O, never inside a PROJ call, so sharing them within the event loop's thread
    is safe; the heavy-work threads still get their own.
    """
    monkey.patch_all()
    import _threading_local
    import threading

    threading.local = monkey.get_original("threading", "local")
    _threading_local.local = monkey.get_original("_threading_local", "local")  # type: ignore[misc]


_patch()

import gc  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402

from gunicorn.glogging import Logger  # noqa: E402
from gunicorn.workers.ggevent import GeventWorker  # noqa: E402

from gridmap import serving  # noqa: E402
from gridmap.settings import load_settings  # noqa: E402

_settings = load_settings()
# Log records without thread names: under gevent each request's greenlet would get a dummy Thread.
logging.logThreads = False
logging.logMultiprocessing = False


class Worker(GeventWorker):
    """gunicorn's gevent worker, patched as above (its own patching would redo threading.local)."""

    def patch(self) -> None:
        super().patch()
        _patch()


# One event loop per worker process: slow or idle clients cost a greenlet each, not a worker.
worker_class = Worker
worker_connections = 1000
keepalive = 5  # seconds an idle keep-alive connection stays open; also bounds sending the headers
timeout = 120
graceful_timeout = 20
preload_app = True
accesslog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

serving.configure_heavy(slots=_settings["GRIDMAP_HEAVY_SLOTS"], wait_s=_settings["GRIDMAP_HEAVY_WAIT_S"])


class AccessLogger(Logger):
    """gunicorn's access log with only the atoms of access_log_format, and secret query values
    (api_key, token, password, …) replaced in the request line and the referrer."""

    def atoms(self, resp, req, environ, request_time):
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        raw = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
        sent = getattr(resp, "sent", None)
        return {
            "h": environ.get("REMOTE_ADDR", "-"),
            "l": "-",
            "u": "-",
            "t": self.now(),
            "r": f"{environ.get('REQUEST_METHOD')} {serving.redact_url(raw)} {environ.get('SERVER_PROTOCOL')}",
            "s": status,
            "b": str(sent) if sent is not None else "-",
            "f": serving.redact_url(environ.get("HTTP_REFERER", "-")),
            "a": environ.get("HTTP_USER_AGENT", "-"),
            "M": request_time.seconds * 1000 + request_time.microseconds // 1000,
        }


logger_class = AccessLogger


def on_starting(server) -> None:
    """In the master, app preloaded, before the port is bound and any worker forks: build the model
    of the current data (shared by every worker, copy-on-write) and close the master's database
    connections, so that no worker inherits one (gridmap.serving.on_ready). Until then the port
    refuses connections, so a reverse proxy sends requests to the other servers."""
    start = time.perf_counter()
    serving.ready()
    server.log.info("gridmap: model ready in %.1f s, before the workers fork", time.perf_counter() - start)


def post_fork(server, worker) -> None:
    """In each new worker: forget the pooled connections inherited from the master (never use or
    close them) and build later data versions in the background (gridmap.serving.after_fork)."""
    serving.forked()


def pre_fork(server, worker) -> None:
    """Move the preloaded app's objects out of the garbage collector's sight before forking: the
    workers' collections stay short and their pages stay shared with the master."""
    gc.freeze()


def post_worker_init(worker) -> None:
    """Every request body of this worker must arrive in time (GRIDMAP_BODY_TIMEOUT_S)."""
    worker.wsgi = serving.BodyDeadline(worker.wsgi, grace_s=_settings["GRIDMAP_BODY_TIMEOUT_S"])
