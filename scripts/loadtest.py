"""Drive one or more gridmap servers with reports, whois and pages; print rates, latencies and errors.

    python scripts/loadtest.py --url http://10.0.0.11:8000 --url http://10.0.0.12:8000 \\
        --clients 40 --requests 2000 --seconds 120 --mix report=1,whois=6,page=1

Requests go round-robin across the given base URLs (servers, or one reverse proxy). Every run is
bounded by --requests and --seconds. Reports are real (anonymous 上报 through POST /api/problems,
each with its own Idempotency-Key): run against a test database, or with GRIDMAP_REPORTS_PER_HOUR=0
on the servers, since anonymous reports are limited per address. At the end it checks that no
tracking number was acknowledged twice. Exit status 1 when more than --max-errors requests failed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

KINDS = ("report", "whois", "page")
PAGES = ("/", "/grids", "/api/grids", "/units")


@dataclass
class Tally:
    """What one kind of request got: latencies of successes, failures by status (0: no answer)."""

    seconds: list[float] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)


@dataclass
class Run:
    tallies: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in KINDS})
    tracking: list[str] = field(default_factory=list)
    per_url: Counter = field(default_factory=Counter)
    no_answer: Counter = field(default_factory=Counter)  # why a request got no answer (status 0)
    retried: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def parse_mix(text: str) -> list[str]:
    """``report=1,whois=6,page=1`` -> a list to draw kinds from, in proportion."""
    weights: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name not in KINDS or not value.isdigit():
            msg = f"--mix: expected kind=count with kind in {', '.join(KINDS)}, got {part!r}"
            raise SystemExit(msg)
        weights[name] = int(value)
    draw = [name for name, count in weights.items() for _ in range(count)]
    if not draw:
        msg = "--mix: give at least one kind with a count above 0"
        raise SystemExit(msg)
    return draw


def parse_point(text: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError:
        msg = f"--point: expected lon,lat in degrees (e.g. 106.52,33.91), got {text!r}"
        raise SystemExit(msg) from None
    return lon, lat


class Client:
    """One simulated client: a keep-alive connection per server."""

    def __init__(self, urls: list[str], timeout: float) -> None:
        self.urls = urls
        self.timeout = timeout
        self.connections: dict[str, http.client.HTTPConnection] = {}
        self.retried = 0  # requests sent again after the server closed a kept-alive connection

    def _connection(self, url: str) -> http.client.HTTPConnection:
        if url not in self.connections:
            parts = urlsplit(url)
            cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            self.connections[url] = cls(parts.hostname or "", parts.port, timeout=self.timeout)
        return self.connections[url]

    def send(self, url: str, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, bytes]:
        """(status, body); status 0 and the exception's name when no answer came. A kept-alive
        connection the server closed meanwhile is retried once on a new one, as browsers do (a
        report carries its Idempotency-Key, so a retried report is stored once)."""
        prefix = urlsplit(url).path.rstrip("/")
        reused = url in self.connections
        for attempt in (1, 2):
            conn = self._connection(url)
            try:
                conn.request(method, prefix + path, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self.connections.pop(url, None)
                stale = isinstance(
                    exc, (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected)
                )
                if attempt == 1 and reused and stale:
                    self.retried += 1
                    continue
                return 0, type(exc).__name__.encode()
        raise AssertionError  # not reached

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()


def one_request(client: Client, url: str, kind: str, points: list[tuple[float, float]], n: int):
    lon, lat = random.choice(points)
    if kind == "whois":
        return client.send(url, "GET", f"/api/whois?lon={lon:.6f}&lat={lat:.6f}", None, {})
    if kind == "page":
        return client.send(url, "GET", PAGES[n % len(PAGES)], None, {})
    body = json.dumps(
        {"lon": lon, "lat": lat, "category": "garbage", "description": f"压力测试上报 {n}"},
        ensure_ascii=False,
    ).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    return client.send(url, "POST", "/api/problems", body, headers)


def drive(args: argparse.Namespace) -> dict:
    draw = parse_mix(args.mix)
    points = [parse_point(p) for p in args.point] or [(106.52, 33.91)]
    urls = [u.rstrip("/") for u in args.url]
    run = Run()
    issued = iter(range(args.requests))
    issue_lock = threading.Lock()
    deadline = time.perf_counter() + args.seconds

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        client = Client(urls, args.timeout)
        try:
            while time.perf_counter() < deadline:
                with issue_lock:
                    n = next(issued, None)
                if n is None:
                    return
                url, kind = urls[n % len(urls)], rng.choice(draw)
                start = time.perf_counter()
                status, body = one_request(client, url, kind, points, n)
                seconds = time.perf_counter() - start
                with run.lock:
                    run.per_url[url] += 1
                    if status in (200, 201):
                        run.tallies[kind].seconds.append(seconds)
                        if kind == "report" and status == 201:
                            run.tracking.append(json.loads(body).get("tracking_no", ""))
                    else:
                        run.tallies[kind].failures[status] += 1
                        if status == 0:
                            run.no_answer[body.decode()] += 1
        finally:
            client.close()
            with run.lock:
                run.retried += client.retried

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.seconds + args.timeout + 5)
    elapsed = time.perf_counter() - start
    return summary(run, elapsed)


def _ms(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0] * 1000, 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000, 1)


def summary(run: Run, elapsed: float) -> dict:
    kinds: dict[str, dict] = {}
    for kind, tally in run.tallies.items():
        done = len(tally.seconds) + sum(tally.failures.values())
        if not done:
            continue
        kinds[kind] = {
            "ok": len(tally.seconds),
            "errors": sum(tally.failures.values()),
            "errors_by_status": {str(k): v for k, v in sorted(tally.failures.items())},
            "per_s": round(len(tally.seconds) / elapsed, 1),
            "p50_ms": _ms(tally.seconds, 50),
            "p95_ms": _ms(tally.seconds, 95),
        }
    repeated = [number for number, count in Counter(run.tracking).items() if count > 1]
    ok = sum(k["ok"] for k in kinds.values())
    errors = sum(k["errors"] for k in kinds.values())
    return {
        "seconds": round(elapsed, 2),
        "requests": ok + errors,
        "ok": ok,
        "errors": errors,
        "per_s": round(ok / elapsed, 1) if elapsed else 0.0,
        "kinds": kinds,
        "per_url": dict(run.per_url),
        "no_answer": dict(run.no_answer),
        "retried_on_a_new_connection": run.retried,
        "reports_acknowledged": len(run.tracking),
        "tracking_numbers_acknowledged_twice": repeated,
    }


def print_table(result: dict) -> None:
    print(
        f"{result['requests']} requests in {result['seconds']} s: {result['per_s']}/s ok, {result['errors']} errors"
    )
    print(f"{'kind':8} {'ok':>7} {'errors':>7} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8}  errors by status")
    for kind, k in result["kinds"].items():
        by_status = defaultdict(int, k["errors_by_status"])
        shown = ", ".join(f"{s}: {n}" for s, n in by_status.items()) or "-"
        print(
            f"{kind:8} {k['ok']:>7} {k['errors']:>7} {k['per_s']:>8} {k['p50_ms']!s:>8} {k['p95_ms']!s:>8}  {shown}"
        )
    for url, count in result["per_url"].items():
        print(f"  {url}: {count} requests")
    twice = result["tracking_numbers_acknowledged_twice"]
    print(
        f"reports acknowledged: {result['reports_acknowledged']}; tracking numbers acknowledged twice: {len(twice)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", action="append", required=True, help="a server's base URL (repeat for several)"
    )
    parser.add_argument("--clients", type=int, default=8, help="simultaneous clients (threads)")
    parser.add_argument("--requests", type=int, default=1000, help="requests in all (a bound)")
    parser.add_argument("--seconds", type=float, default=60.0, help="longest run in seconds (a bound)")
    parser.add_argument("--mix", default="report=1,whois=6,page=1", help="kinds and their weights")
    parser.add_argument("--point", action="append", default=[], help="lon,lat inside the county (repeatable)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for one answer")
    parser.add_argument(
        "--max-errors", type=int, default=0, help="failed requests allowed before exit status 1"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.requests < 1 or args.seconds <= 0:
        parser.error("--clients and --requests must be at least 1 and --seconds above 0")
    for url in args.url:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            parser.error(f"--url: expected http://host:port, got {url!r}")
    result = drive(args)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print_table(result)
    failed = result["errors"] > args.max_errors or result["tracking_numbers_acknowledged_twice"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
