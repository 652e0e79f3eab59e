"""Bench the server under slow clients: the old `gridmap serve` (4 sync workers) against today's, same run.

Both servers run over copies of one loaded demo database. Then:

1. rates, the servers taken in turn (old, new, old, new, … for --rounds, so drift hits both):
   GET /api/whois by 8 clients on a new connection per request (as scripts/bench.py), and
   POST /api/problems by 16 keep-alive clients (as scripts/bench_problems.py);
2. slow clients, each server alone: 200 connections trickling a request body one byte every
   2 s plus 50 idle keep-alive connections held open, then /api/ping and /api/whois timed on
   fresh connections (goal: every answer within 1 s).

Prints a table with the median new/old ratio of the pairs and writes JSON. Exit 1 when the new
server misses a goal: slow-client latency over 1 s, errors, or a median rate ratio under 0.9 (on a
shared machine single pairs swing by ±30 %; quote the medians, and the CPU per request beside them).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.loadgen import (
    PING,
    WHOIS,
    Server,
    SlowClients,
    free_port,
    gridmap_env,
    hammer,
    load_demo,
    probe,
    report_body,
    request,
)

# The server as `gridmap serve` ran it before issue 9: four synchronous workers, nothing buffering.
OLD = "--workers 4 --timeout 120 --no-control-socket --access-logfile - --preload"
LATENCY_GOAL_S = 1.0


def _spots(n: int = 5000) -> list[tuple[float, float]]:
    import numpy as np

    from gridmap.io.read import read_dataset

    grids = read_dataset(ROOT / "geodata" / "demo").layers["grids"].to_crs(4326)
    minx, miny, maxx, maxy = grids.total_bounds
    rng = np.random.default_rng(5)
    return list(zip(rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)))


def _server(name: str, gunicorn_args: str | None, template: Path, work: Path) -> Server:
    instance = work / f"{name}-{time.monotonic_ns()}"
    instance.mkdir(parents=True)
    shutil.copy(template / "gridmap.sqlite", instance / "gridmap.sqlite")
    shutil.copy(template / "secret_key", instance / "secret_key") if (
        template / "secret_key"
    ).exists() else None
    env = gridmap_env(instance, GRIDMAP_REPORTS_PER_HOUR=0)  # the anonymous report limit would cap the rate
    port = free_port()
    if gunicorn_args is None:
        argv = [sys.executable, "-m", "gridmap.cli", "serve", "--port", str(port)]
    else:
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            *shlex.split(gunicorn_args),
            "web:create_app()",
        ]
    return Server(argv=argv, env=env, port=port, log_path=instance / "server.log")


def _warm(server: Server, spots) -> None:
    for i in range(24):  # every worker: model, whois index, first report
        request(server.port, "GET", WHOIS, timeout=60)
        request(
            server.port,
            "POST",
            "/api/problems",
            body=report_body(*spots[i], "预热"),
            headers={"Content-Type": "application/json"},
            timeout=60,
        )


def rates(servers: dict[str, Server], spots, *, seconds: float, rounds: int) -> dict[str, dict]:
    """Whois and report rates of each server, taken in turn (A B A B …) so drift hits both alike."""
    out: dict[str, dict] = {
        name: {"whois": [], "reports": [], "errors": 0, "whois_cpu_ms": [], "reports_cpu_ms": []}
        for name in servers
    }

    def body(i: int, j: int) -> bytes:
        lon, lat = spots[(i * 7919 + j) % len(spots)]
        return report_body(lon, lat, f"基准测试 {i}-{j}")

    for _ in range(rounds):
        for name, server in servers.items():
            cpu = server.cpu_seconds()
            w = hammer(server.port, "GET", WHOIS, seconds=seconds, clients=8, keep_alive=False)
            out[name]["whois_cpu_ms"].append(round(1000 * (server.cpu_seconds() - cpu) / max(w["ok"], 1), 2))
            out[name]["whois"].append(w["per_s"])
            out[name]["errors"] += w["errors"]
        for name, server in servers.items():
            cpu = server.cpu_seconds()
            r = hammer(server.port, "POST", "/api/problems", body, seconds=seconds, clients=16)
            out[name]["reports_cpu_ms"].append(
                round(1000 * (server.cpu_seconds() - cpu) / max(r["ok"], 1), 2)
            )
            out[name]["reports"].append(r["per_s"])
            out[name]["errors"] += r["errors"]
    return out


def slow_clients(server: Server, *, slow: int, idle: int) -> dict:
    """Hold slow and idle connections, then time ping and whois on fresh connections."""
    with SlowClients(server.port, slow_bodies=slow, idle=idle, interval=2.0, bounded_s=300) as held:
        time.sleep(3.0)  # let them settle on the workers
        times = probe(server.port, rounds=8, pause=0.25, timeout=10.0, max_failures=2)
        closed = held.closed_by_server
    return {
        "slow_connections": slow,
        "idle_connections": idle,
        "ping_max_s": round(max(times[PING]), 3),
        "ping_median_s": round(statistics.median(times[PING]), 3),
        "whois_max_s": round(max(times[WHOIS]), 3),
        "whois_median_s": round(statistics.median(times[WHOIS]), 3),
        "slow_closed_by_server": closed,
        "rss_mb": round(server.rss_bytes() / 2**20),
    }


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", default="bench-serve.json")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each rate run")
    parser.add_argument("--rounds", type=int, default=3, help="old/new pairs of rate runs")
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--idle", type=int, default=50)
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME=GUNICORN ARGS to measure instead of `gridmap serve` (repeatable)",
    )
    parser.add_argument("--no-old", action="store_true", help="skip the old server")
    args = parser.parse_args(argv)
    variants: list[tuple[str, str | None]] = [] if args.no_old else [("old", OLD)]
    variants += [tuple(v.split("=", 1)) for v in args.variant] or [("new", None)]
    spots = _spots()
    work = Path(tempfile.mkdtemp(prefix="gridmap-bench-serve-"))
    template = work / "template"
    load_demo(gridmap_env(template))
    servers = {name: _server(name, gargs, template, work) for name, gargs in variants}
    results: dict = {"seconds": args.seconds, "rounds": args.rounds}
    try:
        for server in servers.values():
            server.start(timeout=180)
            _warm(server, spots)
        results["rates"] = rates(servers, spots, seconds=args.seconds, rounds=args.rounds)
        results["slow"] = {}
        for name, server in servers.items():
            results["slow"][name] = slow_clients(server, slow=args.slow, idle=args.idle)
            print(f"{name}: {json.dumps(results['slow'][name], ensure_ascii=False)}", flush=True)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    names = list(servers)
    rows = [
        (
            "server",
            "whois/s",
            "CPU ms/whois",
            "reports/s",
            "CPU ms/report",
            "errors",
            "ping max (slow)",
            "whois max (slow)",
            "RSS MB",
        )
    ]
    for name in names:
        r, sl = results["rates"][name], results["slow"][name]
        rows.append(
            (
                name,
                f"{statistics.median(r['whois']):.1f}",
                f"{statistics.median(r['whois_cpu_ms']):.2f}",
                f"{statistics.median(r['reports']):.1f}",
                f"{statistics.median(r['reports_cpu_ms']):.2f}",
                str(r["errors"]),
                f"{sl['ping_max_s']} s",
                f"{sl['whois_max_s']} s",
                str(sl["rss_mb"]),
            )
        )
    ok = True
    if "old" in names and len(names) > 1:
        new = names[-1]
        old_r, new_r = results["rates"]["old"], results["rates"][new]
        wr = [n / max(o, 0.1) for n, o in zip(new_r["whois"], old_r["whois"])]
        rr = [n / max(o, 0.1) for n, o in zip(new_r["reports"], old_r["reports"])]
        results["whois_ratio_new_old"] = [round(x, 2) for x in wr]
        results["reports_ratio_new_old"] = [round(x, 2) for x in rr]
        rows.append(
            (
                f"{new}/old (median of pairs)",
                f"{statistics.median(wr):.2f}x",
                "",
                f"{statistics.median(rr):.2f}x",
                "",
                "",
                "",
                "",
                "",
            )
        )
        ok = statistics.median(wr) >= 0.9 and statistics.median(rr) >= 0.9 and new_r["errors"] == 0
    last = results["slow"][names[-1]]
    slow_ok = last["ping_max_s"] <= LATENCY_GOAL_S and last["whois_max_s"] <= LATENCY_GOAL_S
    results["goal_latency_s"] = LATENCY_GOAL_S
    results["slow_clients_ok"] = slow_ok
    print(table(rows))
    print(
        f"goal: with {args.slow} slow + {args.idle} idle connections, ping and whois within "
        f"{LATENCY_GOAL_S} s: {'met' if slow_ok else 'MISSED'}"
    )
    Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\n结果已写入 {args.json}")
    return 0 if ok and slow_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
