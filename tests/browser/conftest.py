"""Real-browser harness: the app under gunicorn in a subprocess, headless Debian chromium.

Fixtures
--------
vendored_assets      (tests/conftest.py) runs scripts/vendor_assets.py once per session.
live_server_factory  ``factory(app="web:create_app()", env={...}) -> LiveServer``; a real
                     gunicorn on a free 127.0.0.1 port, stopped after the test.
hello_server         session-wide server of tests/browser/_hello_app.py (a harness smoke test).
browser              session-wide headless chromium (GRIDMAP_CHROMIUM, default /usr/bin/chromium);
                     the browser tests skip when it is missing.
page                 a fresh page in a fresh zh-CN context that records console errors and
                     page errors (``page.gridmap_errors``), every request URL
                     (``page.gridmap_requests``), failed requests (``page.gridmap_failed``) and
                     HTTP error responses (``page.gridmap_bad_responses``). Requests that
                     would leave 127.0.0.1 are recorded, then blocked.

Backends: tests on the ``settings``/``store``/``loaded_store`` fixtures (tests/conftest.py) run on
[sqlite] and [postgresql], and the live server gets that test's database URL in its env; a
module-scoped demo server loads its county into ``module_database`` (one per module and backend).
Wait with functions (``"() => ..."``), not bare expressions: Playwright evaluates a bare one with
eval on every poll, which the app's CSP refuses.

Helpers: ``assert_clean(page)`` (no JS errors, no failed or 4xx/5xx requests, nothing
outside 127.0.0.1), ``external_requests(page)``, ``assert_not_blank(png_bytes)``.

A test against the real app::

    @pytest.mark.browser
    def test_map_page(live_server_factory, settings, vendored_assets, page):
        server = live_server_factory(env=settings)   # GRIDMAP_* from tests/conftest.py
        page.goto(server.url + "/")
        page.wait_for_selector(".leaflet-container")
        assert_clean(page)
        assert_not_blank(page.screenshot())
"""

from __future__ import annotations

import functools
import http.client
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELLO_APP = "tests.browser._hello_app:app"
REAL_APP = "web:create_app()"
LOCAL_HOSTS = frozenset({"127.0.0.1"})
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# ---------------------------------------------------------------- live server


class LiveServerError(RuntimeError):
    """The server did not start (its log is in the message)."""


@dataclass
class LiveServer:
    """A gunicorn serving one app on 127.0.0.1; ``url`` has no trailing slash."""

    app: str
    port: int
    process: subprocess.Popen
    log_path: Path
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def get(self, path: str = "/", *, timeout: float = 10.0) -> tuple[int, bytes]:
        """(status, body) of a GET, without proxies or a browser."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL to its process group."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@functools.lru_cache(maxsize=1)
def _gunicorn_extra_args() -> tuple[str, ...]:
    """Newer gunicorn opens a control socket at one fixed path (~/.gunicorn/gunicorn.ctl);
    parallel test servers must not share it."""
    from gunicorn.config import KNOWN_SETTINGS

    flags = {flag for setting in KNOWN_SETTINGS for flag in (setting.cli or [])}
    return ("--no-control-socket",) if "--no-control-socket" in flags else ()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
        return True  # any HTTP status: the app is up
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def start_live_server(
    app: str = REAL_APP,
    *,
    env: Mapping[str, object] | None = None,
    log_dir: Path,
    timeout: float = 30.0,
) -> LiveServer:
    """Start ``gunicorn app`` on a free port and wait until it answers HTTP.

    ``env`` is added to this process's environment (values are converted to str);
    the project root is on PYTHONPATH and is the working directory.
    """
    full_env = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"}
    full_env.update({k: str(v) for k, v in (env or {}).items()})
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), full_env.get("PYTHONPATH", "")) if p)
    full_env["PYTHONUNBUFFERED"] = "1"
    log_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        port = _free_port()
        log_path = log_dir / f"gunicorn-{port}.log"
        command = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"127.0.0.1:{port}",
            "--workers", "1",
            "--timeout", "120",
            "--graceful-timeout", "5",
            "--access-logfile", "-",
            *_gunicorn_extra_args(),
            app,
        ]  # fmt: skip
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() reaches the worker
            )
        server = LiveServer(app=app, port=port, process=process, log_path=log_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _answers(port):
                return server
            time.sleep(0.1)
        server.stop()
        text = server.log()
        if "Address already in use" in text and attempt < 2:
            continue  # another process took the port between _free_port and bind
        state = (
            f"exited with status {process.returncode}"
            if process.returncode is not None
            else f"did not answer within {timeout:.0f} s"
        )
        msg = f"gunicorn {app} on 127.0.0.1:{port} {state}; its output:\n{text[-6000:]}"
        raise LiveServerError(msg)
    raise AssertionError("unreachable")


@pytest.fixture
def live_server_factory(tmp_path) -> Iterator[Callable[..., LiveServer]]:
    """``factory(app="web:create_app()", env=None, timeout=30) -> LiveServer``; stopped at teardown."""
    servers: list[LiveServer] = []

    def factory(app: str = REAL_APP, *, env: Mapping[str, object] | None = None, timeout: float = 30.0):
        server = start_live_server(app, env=env, log_dir=tmp_path / "server-logs", timeout=timeout)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def hello_server(vendored_assets, tmp_path_factory) -> Iterator[LiveServer]:
    """tests/browser/_hello_app.py under gunicorn, for the whole session."""
    server = start_live_server(HELLO_APP, log_dir=tmp_path_factory.mktemp("hello-server"))
    yield server
    server.stop()


# ---------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = os.environ.get("GRIDMAP_CHROMIUM", "/usr/bin/chromium")
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        pytest.skip(
            f"chromium not found at {path} (apt-get install chromium, or set GRIDMAP_CHROMIUM); "
            "`make` installs it for CI"
        )
    return path


@pytest.fixture(scope="session")
def _playwright():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    manager = sync_api.sync_playwright().start()
    yield manager
    manager.stop()


@pytest.fixture(scope="session")
def browser(_playwright, chromium_executable):
    """One headless chromium for the session."""
    browser = _playwright.chromium.launch(
        executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about", "javascript", ""}:
        return True
    return parts.hostname in LOCAL_HOSTS


@pytest.fixture
def browser_context(browser):
    """A fresh zh-CN context (Asia/Shanghai) that blocks requests leaving 127.0.0.1."""
    context = browser.new_context(
        viewport={"width": 1024, "height": 768},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        service_workers="block",
    )
    context.route(lambda url: not _is_local(url), lambda route: route.abort("blockedbyclient"))
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    """A page that records errors and requests (see the module docstring)."""
    page = browser_context.new_page()
    page.gridmap_errors = []
    page.gridmap_requests = []
    page.gridmap_failed = []
    page.gridmap_bad_responses = []

    def on_console(message) -> None:
        where = message.location or {}
        if message.type == "error" and not where.get("url", "").endswith("/favicon.ico"):
            # chromium asks for /favicon.ico by itself, at a time of its choosing; a 404
            # there would make tests flaky, so it is not counted (give pages an icon)
            page.gridmap_errors.append(
                f"console: {message.text} ({where.get('url', '')}:{where.get('lineNumber', '')})"
            )

    def on_response(response) -> None:
        if response.status >= 400:
            page.gridmap_bad_responses.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: page.gridmap_errors.append(f"pageerror: {error}"))
    page.on("request", lambda request: page.gridmap_requests.append(request.url))

    def on_failed(request) -> None:
        # the tab's icon is fetched by the browser on its own; a navigation (a form posted, a
        # link followed) may abort it mid-way. That is the browser's business, not a fault.
        icon = request.url.split("?", 1)[0].endswith(("/favicon.svg", "/favicon.ico"))
        if not (icon and "ERR_ABORTED" in (request.failure or "")):
            page.gridmap_failed.append(f"{request.url} {request.failure}")

    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    yield page
    page.close()


# ---------------------------------------------------------------- helpers


def external_requests(page, *, allowed_hosts: frozenset[str] = LOCAL_HOSTS) -> list[str]:
    """Recorded request URLs that would leave the allowed hosts (data:, blob: are fine)."""
    result = []
    for url in page.gridmap_requests:
        parts = urlsplit(url)
        if parts.scheme in {"data", "blob", "about", "javascript"}:
            continue
        if parts.hostname not in allowed_hosts:
            result.append(url)
    return result


def assert_clean(page) -> None:
    """No JS errors, no failed or 4xx/5xx requests, and no request leaves 127.0.0.1."""
    problems = []
    if page.gridmap_errors:
        problems.append("JS errors:\n  " + "\n  ".join(page.gridmap_errors))
    if page.gridmap_bad_responses:
        problems.append("HTTP errors:\n  " + "\n  ".join(page.gridmap_bad_responses))
    if page.gridmap_failed:
        problems.append("failed requests:\n  " + "\n  ".join(page.gridmap_failed))
    outside = external_requests(page)
    if outside:
        problems.append("requests leaving 127.0.0.1:\n  " + "\n  ".join(outside))
    assert not problems, "\n".join(problems)


def assert_not_blank(png: bytes, *, min_colours: int = 8, min_ink: float = 0.01) -> dict:
    """Check that a screenshot shows something: several colours, enough non-white pixels.

    Returns the measured ``{"size", "colours", "ink"}`` (ink = share of pixels that are
    not near-white) so a test can be stricter.
    """
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.thumbnail((512, 512))  # enough to judge, and fast
    colours = image.getcolors(maxcolors=1 << 20) or []
    pixels = image.width * image.height
    near_white = sum(count for count, rgb in colours if min(rgb) >= 245)
    stats = {
        "size": image.size,
        "colours": len(colours),
        "ink": 1.0 - near_white / pixels,
    }
    assert len(colours) > 1, f"screenshot is a single colour {colours[0][1] if colours else ''}"
    assert stats["colours"] >= min_colours, f"screenshot looks blank: {stats}"
    assert stats["ink"] >= min_ink, f"screenshot is (nearly) all white: {stats}"
    return stats
