"""Loopback load for real servers: start `gridmap serve`, hold slow clients, time requests, read RSS.

Used by tests/test_serve.py, tests/problems/test_photo_limits.py and scripts/bench_serve.py. Every
loop here is bounded in count and time, and every socket goes to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PING = "/api/ping"
WHOIS = "/api/whois?lon=106.52&lat=33.91"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gridmap_env(instance: Path, *, database_url: str | None = None, **extra: object) -> dict[str, str]:
    """This process's environment with a private instance folder and its database.

    ``database_url`` is the store (a test's ``database_url``/``module_database`` fixture, so served
    tests run on SQLite and PostgreSQL); without it, a SQLite file in the instance folder.
    """
    env = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS" and not k.startswith("GRIDMAP_")}
    env.update(
        {
            "GRIDMAP_INSTANCE_DIR": str(instance),
            "GRIDMAP_DATABASE_URL": database_url or f"sqlite:///{instance / 'gridmap.sqlite'}",
            "GRIDMAP_SECRET_KEY": "loadgen-secret",
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def load_demo(env: Mapping[str, str], directory: Path | None = None) -> None:
    """`gridmap load` the demo county (or ``directory``) into the instance of ``env``."""
    Path(env["GRIDMAP_INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "load", str(directory or ROOT / "geodata" / "demo")],
        env=dict(env),
        check=True,
        capture_output=True,
        cwd=ROOT,
        timeout=300,
    )


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes, float]:
    """One request on a fresh connection: (status, body, seconds); status 0 when it failed."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - start
    except (OSError, http.client.HTTPException):
        return 0, b"", time.perf_counter() - start
    finally:
        conn.close()


@dataclass
class Server:
    """A server process group on 127.0.0.1:port, its output in a log file."""

    argv: Sequence[str]
    env: Mapping[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen | None = None

    def start(self, *, timeout: float = 60.0) -> Server:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                list(self.argv),
                env=dict(self.env),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if request(self.port, "GET", PING, timeout=2)[0] == 200:
                return self
            time.sleep(0.1)
        self.stop()
        msg = f"server {' '.join(self.argv)} did not answer on port {self.port}; log:\n{self.log()[-4000:]}"
        raise RuntimeError(msg)

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def pids(self) -> list[int]:
        """The master and every process of its group (workers), from /proc."""
        if self.process is None:
            return []
        pgid = self.process.pid
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.getpgid(int(entry)) == pgid:
                    found.append(int(entry))
            except OSError:
                continue
        return found

    def rss_bytes(self) -> int:
        """Sum of the resident memory (VmRSS) of the master and its workers."""
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status", encoding="ascii") as fh:
                    for line in fh:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1]) * 1024
            except OSError:
                continue
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the master and its live workers, from /proc."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except (OSError, IndexError, ValueError):
                continue
        return total / ticks

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        else:
            with contextlib.suppress(OSError):  # leftovers of the group (a worker that outlived its master)
                os.killpg(self.process.pid, signal.SIGKILL)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def gridmap_serve(env: Mapping[str, str], log_dir: Path, *, workers: int | None = None) -> Server:
    """`gridmap serve` on a free port (not started yet)."""
    port = free_port()
    argv = [sys.executable, "-m", "gridmap.cli", "serve", "--port", str(port)]
    if workers:
        argv += ["--workers", str(workers)]
    log_dir.mkdir(parents=True, exist_ok=True)
    return Server(argv=argv, env=env, port=port, log_path=log_dir / f"serve-{port}.log")


@dataclass
class SlowClients:
    """Connections that hold a server: request bodies trickled one byte every ``interval`` seconds,
    plus idle keep-alive connections (one finished request, then silence).

    Use as a context manager; everything is closed on exit. ``bounded_s`` caps how long the
    trickling thread runs even if the owner forgets to close.
    """

    port: int
    slow_bodies: int = 200
    idle: int = 50
    interval: float = 2.0
    body_length: int = 100_000
    bounded_s: float = 600.0
    path: str = "/api/problems"
    sockets: list[socket.socket] = field(default_factory=list)
    opened: int = 0
    closed_by_server: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> SlowClients:
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {self.body_length}\r\n\r\n{{"
        ).encode()
        for _ in range(self.slow_bodies):
            sock = socket.create_connection((HOST, self.port), timeout=5)
            sock.sendall(head)
            sock.setblocking(False)
            self.sockets.append(sock)
            self.opened += 1
        self.idle_sockets = []
        for _ in range(self.idle):
            sock = socket.create_connection((HOST, self.port), timeout=5)
            sock.sendall(f"GET {PING} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n\r\n".encode())
            self.idle_sockets.append(sock)  # its answer is left unread: the connection stays idle
            self.opened += 1
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()
        return self

    def _trickle(self) -> None:
        end = time.monotonic() + self.bounded_s
        while not self._stop.wait(self.interval) and time.monotonic() < end:
            for sock in list(self.sockets):
                try:
                    sock.send(b" ")
                except BlockingIOError:
                    pass
                except OSError:  # the server gave up on it (a body timeout): fine, count it
                    self.sockets.remove(sock)
                    self.closed_by_server += 1
                    sock.close()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
        for sock in self.sockets + self.idle_sockets:
            with contextlib.suppress(OSError):
                sock.close()


def probe(
    port: int,
    paths: Sequence[str] = (PING, WHOIS),
    *,
    rounds: int = 10,
    pause: float = 0.3,
    timeout: float = 10.0,
    max_failures: int | None = None,
) -> dict[str, list[float]]:
    """Time each path ``rounds`` times on fresh connections; a failure counts as ``timeout`` + 1 s.
    With ``max_failures``, stop after that many failures (a stuck server need not be waited for)."""
    times: dict[str, list[float]] = {p: [] for p in paths}
    failures = 0
    for _ in range(rounds):
        for path in paths:
            status, _body, seconds = request(port, "GET", path, timeout=timeout)
            times[path].append(seconds if status == 200 else timeout + 1.0)
            failures += status != 200
        if max_failures is not None and failures >= max_failures:
            break
        time.sleep(pause)
    return times


def hammer(
    port: int,
    method: str,
    path: str,
    body_for: Callable[[int, int], bytes | None] | None = None,
    *,
    seconds: float = 5.0,
    clients: int = 8,
    keep_alive: bool = True,
) -> dict:
    """Requests per second from ``clients`` threads for ``seconds``; 200/201 count, the rest are errors."""
    stop = time.perf_counter() + seconds
    counts = [0] * clients
    errors = [0] * clients

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        j = 0
        while time.perf_counter() < stop:
            j += 1
            body = body_for(i, j) if body_for else None
            try:
                if not keep_alive:
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=30)
                headers = {"Content-Type": "application/json"} if body else {}
                if not keep_alive:
                    headers["Connection"] = "close"
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status in (200, 201):
                    counts[i] += 1
                else:
                    errors[i] += 1
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
        conn.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"per_s": round(sum(counts) / elapsed, 1), "ok": sum(counts), "errors": sum(errors)}


def report_body(lon: float, lat: float, text: str) -> bytes:
    return json.dumps(
        {"lon": lon, "lat": lat, "category": "garbage", "description": text}, ensure_ascii=False
    ).encode()


@contextlib.contextmanager
def saturated_heavy_work(*, wait_s: float = 0.3) -> Iterator[None]:
    """In this process: every heavy-work slot taken (by a thread) and a short wait, so the next
    photo decoding or map rendering is answered ServiceBusy; restored afterwards."""
    from gridmap import serving

    slots, wait = serving.HEAVY.slots, serving.HEAVY.wait_s
    serving.configure_heavy(slots=1, wait_s=wait_s)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with serving.heavy_slot("测试"):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert held.wait(5), "could not take the heavy-work slot"
        yield
    finally:
        release.set()
        holder.join(10)
        serving.configure_heavy(slots=slots, wait_s=wait)


def while_running(
    server: Server,
    threads: Sequence[threading.Thread],
    *,
    path: str = WHOIS,
    pause: float = 0.2,
    bounded_s: float = 120.0,
) -> tuple[list[float], int]:
    """Start ``threads``; until they end, time ``path`` on fresh connections and track the server's
    memory. Returns (seconds of each answer, failures counted as 99 s; peak RSS in bytes)."""
    peak = server.rss_bytes()
    for t in threads:
        t.start()
    times: list[float] = []
    deadline = time.monotonic() + bounded_s
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        status, _body, seconds = request(server.port, "GET", path, timeout=10)
        times.append(seconds if status == 200 else 99.0)
        peak = max(peak, server.rss_bytes())
        time.sleep(pause)
    for t in threads:
        t.join(10)
    return times, max(peak, server.rss_bytes())
