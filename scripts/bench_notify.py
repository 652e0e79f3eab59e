"""Bench notifications: outbox → webhook throughput, the outbox's cost to a report, reports over HTTP.

Prints a table of ratios against baselines measured in the same run and writes JSON.

1. Throughput: N notices in the outbox (a county's day, 200, and 100 times that) delivered by
   the real worker (gridmap.notify.worker.Worker.deliver, in this process) to a webhook receiver
   on 127.0.0.1 started here; the baseline is a plain loop of urllib POSTs of the same bodies to
   the same receiver. Goal: every notice arrives exactly once (distinct ids = requests = N).
2. The outbox's cost to one report, in this process: report_problem() into a fresh SQLite store
   with the demo county and three office users, with the office's notice (one outbox row, three
   inbox rows, in the report's transaction) and without (notify=False), in alternating rounds.
   Reported: the library call alone is the strictest measure (no HTTP around it).
3. POST /api/problems to ``gridmap serve`` on 4 gunicorn workers (scripts/bench_problems.py's
   bench_http), /api/ping the baseline: as today, with no office user (a report writes no notice),
   and with three office users told of every report. Goals: ≥ 300 reports/s with the notices, and
   with the notices ≥ 0.8 of the rate without (the outbox costs < 25% of a report as it arrives).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gridmap.auth import add_user
from gridmap.notify import channels, repository
from gridmap.notify.notice import Notice
from gridmap.notify.worker import Worker
from gridmap.problems.context import context_from_settings
from gridmap.problems.service import report_problem
from gridmap.reference import ReferenceCache, load_directory
from gridmap.settings import load_settings
from gridmap.store import Store

DEMO = ROOT / "geodata" / "demo"
DAY = 200  # notices of a county's day (reports, dispatches, chasing)
OFFICE = ("office1", "office2", "office3")
GOAL_COST_RATIO = 0.8
GOAL_HTTP = 300.0


class Sink:
    """A webhook receiver on 127.0.0.1: counts requests and distinct notice ids."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.requests = 0
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ident = str(json.loads(body).get("id", ""))
                with sink.lock:
                    sink.requests += 1
                    sink.ids.add(ident)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.ids.clear()
            self.requests = 0

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _settings(folder: Path, **more: str):
    values = {
        "GRIDMAP_DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}",
        "GRIDMAP_INSTANCE_DIR": str(folder),
        **more,
    }
    return load_settings(values, environ={})


# --- 1. throughput -----------------------------------------------------------------------
def throughput(n: int, *, sink: Sink, workers: int = 1, batch: int = 100, timeout_s: float = 1800.0) -> dict:
    """N notices from a fresh outbox to the sink by the real worker, then the same bodies by plain POSTs."""
    folder = Path(tempfile.mkdtemp(prefix="gridmap-bench-notify-"))
    settings = _settings(folder, GRIDMAP_WEBHOOK_URL=sink.url)
    store = Store(settings.database_url)
    now = dt.datetime.now(dt.UTC)
    notices = [
        Notice(
            event="dispatched",
            message=f"问题 FX20261201-{i:05d}（垃圾暴露，滨江路）已交办给县住建局，请在 12月2日 17:00 前办理。",
            recipients=(f"unit{i % 20}",),
            problem_id=i + 1,
            tracking_no=f"FX20261201-{i:05d}",
            unit_code="U1",
        )
        for i in range(n)
    ]
    start = time.perf_counter()
    for notice in notices:  # one transaction per notice, as each workflow action writes its own
        repository.add(store, [notice], now=now)
    enqueue_s = time.perf_counter() - start
    sink.reset()
    runners = [Worker(store, settings, name=f"bench-{k}", batch=batch) for k in range(workers)]
    give_up = time.monotonic() + timeout_s

    def drain(worker: Worker) -> None:
        while sink.requests < n and time.monotonic() < give_up:
            if worker.deliver() == 0:
                time.sleep(0.01)

    start = time.perf_counter()
    threads = [threading.Thread(target=drain, args=(w,)) for w in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deliver_s = time.perf_counter() - start
    received, requests = len(sink.ids), sink.requests
    counts = repository.delivery_counts(store)
    # the baseline: the same JSON bodies, POSTed one after another as channels.send_webhook does
    bodies = [
        json.dumps(
            channels.webhook_body(
                outbox_id=i + 1,
                event=x.event,
                message=x.message,
                tracking_no=x.tracking_no,
                unit_code=x.unit_code,
                recipients=[{"username": u} for u in x.recipients],
                phone=None,
                created_at=now,
                attempt=1,
                now=now,
            ),
            ensure_ascii=False,
        ).encode("utf-8")
        for i, x in enumerate(notices)
    ]
    start = time.perf_counter()
    for data in bodies:
        request = urllib.request.Request(
            sink.url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
    plain_s = time.perf_counter() - start
    store.engine.dispose()
    worker_rate, plain_rate = n / deliver_s, n / plain_s
    return {
        "notices": n,
        "workers": workers,
        "enqueue_per_s": round(n / enqueue_s, 1),
        "worker_per_s": round(worker_rate, 1),
        "plain_posts_per_s": round(plain_rate, 1),
        "ratio_to_plain_posts": round(worker_rate / plain_rate, 3),
        "distinct_ids_received": received,
        "requests_received": requests,
        "deliveries": counts,
        "exactly_once": received == n and requests == n and counts == {"sent": n},
    }


# --- 2. the outbox's cost to a report --------------------------------------------------------
def report_context(folder: Path):
    """A problem context over a fresh SQLite store with the demo county and the office's users."""
    settings = _settings(folder, GRIDMAP_REPORTS_PER_HOUR="0")
    store = Store(settings.database_url)
    load_directory(store, DEMO)
    for name in OFFICE:
        add_user(store, username=name, role="office", password="bench-pass-123")
    return context_from_settings(store, ReferenceCache(store, tolerance_m=50.0), settings)


def outbox_cost(*, rounds: int, per_round: int) -> dict:
    """Reports per second with the office's notice and without, alternating rounds in one store."""
    ctx = report_context(Path(tempfile.mkdtemp(prefix="gridmap-bench-report-")))
    minx, miny, maxx, maxy = ctx.reference.model().grids.total_bounds
    rng = np.random.default_rng(7)
    spots = list(zip(rng.uniform(minx, maxx, 4000), rng.uniform(miny, maxy, 4000)))
    count = 0

    def burst(notify: bool) -> float:
        nonlocal count
        start = time.perf_counter()
        for _ in range(per_round):
            lon, lat = spots[count % len(spots)]
            count += 1
            report_problem(
                ctx, lon=lon, lat=lat, category="garbage", description=f"基准测试 {count}", notify=notify
            )
        return time.perf_counter() - start

    burst(True)  # warm: the whois index, categories, the calendar
    burst(False)
    before = outbox_rows(ctx.store)
    times: dict[bool, list[float]] = {True: [], False: []}
    for r in range(rounds):
        for notify in (True, False) if r % 2 == 0 else (False, True):
            times[notify].append(burst(notify))
    written = outbox_rows(ctx.store) - before
    ctx.store.engine.dispose()
    on = rounds * per_round / sum(times[True])
    off = rounds * per_round / sum(times[False])
    return {
        "reports_per_round": per_round,
        "rounds": rounds,
        "with_notice_per_s": round(on, 1),
        "without_notice_per_s": round(off, 1),
        "ratio": round(on / off, 3),
        "outbox_cost_share": round(1 - on / off, 3),
        "notices_written": written,
        "notices_expected": rounds * per_round,
        "office_users": len(OFFICE),
        "goal_ratio": GOAL_COST_RATIO,
    }


def outbox_rows(store: Store) -> int:
    """How many 'reported' notices there are: each is in every office user's inbox, count one's."""
    return len(repository.inbox(store, OFFICE[0], limit=10**9))


# --- 3. reports over HTTP on 4 workers ---------------------------------------------------------
def bench_http(*, seconds: float, clients: int, workers: int) -> dict:
    """Reports/s over HTTP as today (no office user: a report writes no notice) and with the office told."""
    spec = importlib.util.spec_from_file_location("bench_problems", ROOT / "scripts" / "bench_problems.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plain = module.bench_http(seconds=seconds, clients=clients, workers=workers)
    told = module.bench_http(seconds=seconds, clients=clients, workers=workers, office_users=OFFICE)
    return {
        **told,
        "without_notice": plain,
        "ratio_to_without_notice": round(told["reports_per_s"] / plain["reports_per_s"], 3),
        "errors": told["errors"] + plain["errors"],
    }


def table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", default="bench-notify.json")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test); goals not enforced")
    parser.add_argument(
        "-n", type=int, default=None, help="notices to deliver (default: a day, 200, and 100x)"
    )
    parser.add_argument("--workers", type=int, default=1, help="delivery workers (threads) at once")
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds of the report cost")
    parser.add_argument("--per-round", type=int, default=150, help="reports per round")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each HTTP run")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--http-workers", type=int, default=4, help="gunicorn workers for the HTTP run")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args(argv)
    sizes = (args.n,) if args.n else (20, 100) if args.quick else (DAY, 100 * DAY)
    rounds, per_round = (2, 5) if args.quick else (args.rounds, args.per_round)
    results: dict = {"cores": os.cpu_count(), "load_before": load_average()}
    sink = Sink()
    try:
        results["throughput"] = [throughput(n, sink=sink, workers=args.workers) for n in sizes]
    finally:
        sink.stop()
    results["report_cost"] = c = outbox_cost(rounds=rounds, per_round=per_round)
    rows = [("measure 测量项", "value 结果", "goal 目标")]
    for t in results["throughput"]:
        rows += [
            (
                f"outbox writes 写入发件箱（{t['notices']} 条，每条一个事务）",
                f"{t['enqueue_per_s']}/s",
                "report 报告",
            ),
            (
                f"plain urllib POSTs, {t['notices']} bodies 直接发送",
                f"{t['plain_posts_per_s']}/s",
                "baseline 基准",
            ),
            (
                f"outbox → webhook, {t['workers']} worker 通知发送（{t['notices']} 条）",
                f"{t['worker_per_s']}/s  ({t['ratio_to_plain_posts']}x)",
                "report 报告",
            ),
            (
                "  received exactly once 每条恰好一次",
                f"{t['distinct_ids_received']} ids / {t['requests_received']} requests",
                f"= {t['notices']}",
            ),
        ]
    rows += [
        (
            f"report_problem without notice 上报（不写通知，{c['rounds']}×{c['reports_per_round']}）",
            f"{c['without_notice_per_s']}/s",
            "baseline 基准",
        ),
        (
            "report_problem with the office's notice 上报并通知创建办",
            f"{c['with_notice_per_s']}/s  ({c['ratio']}x)",
            "report 报告",
        ),
        ("  notices written 写入通知", f"{c['notices_written']}", f"= {c['notices_expected']}"),
    ]
    if not args.skip_http:
        results["http"] = h = bench_http(
            seconds=args.seconds, clients=args.clients, workers=args.http_workers
        )
        rows += [
            ("HTTP GET /api/ping", f"{h['ping_per_s']}/s", "baseline 基准"),
            (
                f"HTTP POST /api/problems 上报（{h['workers']} workers, {h['clients']} clients, "
                f"{h['cores']} cores）",
                f"{h['reports_per_s']}/s  ({h['reports_vs_ping']}x ping)",
                f"≥ {GOAL_HTTP:g}/s",
            ),
            (
                "HTTP POST /api/problems, no office user (no notice) 上报（无通知）",
                f"{h['without_notice']['reports_per_s']}/s",
                "baseline 基准",
            ),
            (
                "  with / without the office's notice 有/无通知之比",
                f"{h['ratio_to_without_notice']}x",
                f"≥ {GOAL_COST_RATIO}x",
            ),
            ("  HTTP errors 错误", str(h["errors"]), "0"),
        ]
    results["load_after"] = load_average()
    rows.append(
        ("load average before → after 负载", f"{results['load_before']} → {results['load_after']}", "")
    )
    print(table(rows))
    Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\n结果已写入 {args.json}")
    ok = (
        all(t["exactly_once"] for t in results["throughput"])
        and c["notices_written"] == c["notices_expected"]
    )
    if not args.quick and "http" in results:  # the goals are a report as it arrives, over HTTP
        h = results["http"]
        ok = ok and h["reports_per_s"] >= GOAL_HTTP and h["errors"] == 0
        ok = ok and h["ratio_to_without_notice"] >= GOAL_COST_RATIO
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
