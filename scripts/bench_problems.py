"""Bench problems: bulk assignment against the raw shapely STRtree query; reports over HTTP.

Prints a table of ratios against baselines measured in the same run and writes JSON.

1. Assign N (default 1,000,000) random spots over the demo county to grid and unit
   (gridmap.problems.bulk) vs. the raw shapely STRtree grid query on the same spots
   (points + ``STRtree.query(predicate="intersects")``). Goal: ≥ 0.5 of the raw rate.
   A sample is checked against whois lookup() one spot at a time (must agree).
2. POST /api/problems to ``gridmap serve`` (gunicorn gevent workers, GRIDMAP_WORKERS) by
   concurrent clients for a few seconds; /api/ping measured the same way is the baseline.
   Goal: ≥ 100 reports/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gridmap.io.read import read_dataset
from gridmap.problems.bulk import BulkAssigner
from gridmap.responsibility import build_model
from gridmap.whois import WhoisIndex

DEMO = ROOT / "geodata" / "demo"


def bench_assign(n: int, *, sample: int = 2000) -> dict:
    model = build_model(read_dataset(DEMO))
    minx, miny, maxx, maxy = model.grids.total_bounds
    rng = np.random.default_rng(3)
    pad = 0.005  # some spots fall outside every grid
    lon = rng.uniform(minx - pad, maxx + pad, n)
    lat = rng.uniform(miny - pad, maxy + pad, n)
    tree = shapely.STRtree(np.asarray(model.grids.geometry.values))
    assigner = BulkAssigner(model)
    raw_times, ours_times = [], []
    for _ in range(2):  # alternate, keep the best of each
        t = time.perf_counter()
        _q, _t = tree.query(shapely.points(lon, lat), predicate="intersects")
        raw_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = assigner.assign(lon, lat)
        ours_times.append(time.perf_counter() - t)
    whois = WhoisIndex(model, tolerance_m=50.0)
    mismatches = 0
    for i in rng.choice(n, size=min(sample, n), replace=False):
        answer = whois.lookup(lon[i], lat[i])
        grid = answer["grid"]["code"] if answer["grid"] else None
        unit = answer["responsible_unit"]["code"] if answer["responsible_unit"] else None
        mismatches += (grid, unit) != (result.grid_code[i], result.unit_code[i])
    raw_rate = n / min(raw_times)
    ours_rate = n / min(ours_times)
    return {
        "points": n,
        "raw_strtree_per_s": round(raw_rate),
        "assign_per_s": round(ours_rate),
        "ratio": round(ours_rate / raw_rate, 2),
        "goal_ratio": 0.5,
        "in_grid_share": round(float((result.grid >= 0).mean()), 3),
        "whois_sample": int(min(sample, n)),
        "whois_mismatches": int(mismatches),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hammer(
    port: int, method: str, path: str, body_for, *, seconds: float, clients: int
) -> tuple[float, int, int]:
    """(requests per second, answered 200/201, errors) from ``clients`` keep-alive connections."""
    from tests.loadgen import hammer

    done = hammer(port, method, path, body_for, seconds=seconds, clients=clients, keep_alive=True)
    return done["per_s"], done["ok"], done["errors"]


def bench_http(
    *, seconds: float, clients: int, workers: int | None = None, office_users: tuple[str, ...] = ()
) -> dict:
    """Reports/s over HTTP; ``workers`` gunicorn workers (default GRIDMAP_WORKERS), ``office_users`` told of each."""
    tmp = Path(tempfile.mkdtemp(prefix="gridmap-bench-problems-"))
    port = _free_port()
    env = {
        **os.environ,
        "GRIDMAP_INSTANCE_DIR": str(tmp),
        "GRIDMAP_DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite'}",
        "PORT": str(port),
        "GRIDMAP_REPORTS_PER_HOUR": "0",
    }  # one address sends them all: no per-address limit
    gridmap = [sys.executable, "-m", "gridmap.cli"]
    subprocess.run([*gridmap, "load", str(DEMO)], env=env, check=True, capture_output=True)
    from gridmap.auth import add_user
    from gridmap.settings import load_settings
    from gridmap.store import Store

    for name in office_users:  # each report then writes the office's notice in its transaction
        add_user(Store(env["GRIDMAP_DATABASE_URL"]), username=name, role="office", password="bench-pass-123")
    # --workers, else GRIDMAP_WORKERS, else one per core
    workers = str(workers or load_settings(environ=env)["GRIDMAP_WORKERS"])
    server = subprocess.Popen(
        [*gridmap, "serve", "--workers", workers],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    model = build_model(read_dataset(DEMO))
    minx, miny, maxx, maxy = model.grids.total_bounds
    rng = np.random.default_rng(5)
    spots = list(zip(rng.uniform(minx, maxx, 5000), rng.uniform(miny, maxy, 5000)))

    def report(i: int, j: int) -> bytes:
        lon, lat = spots[(i * 7919 + j) % len(spots)]
        return json.dumps(
            {
                "lon": lon,
                "lat": lat,
                "category": "garbage",
                "description": f"基准测试 {i}-{j}",
                "source": "inspector",
            }
        ).encode()

    try:
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/api/ping")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        for i in range(4 * int(workers)):  # warm every worker (reference model, whois index)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request(
                "POST", "/api/problems", body=report(99, i), headers={"Content-Type": "application/json"}
            )
            conn.getresponse().read()
        ping_rate, _, ping_errors = _hammer(
            port, "GET", "/api/ping", lambda i, j: None, seconds=seconds, clients=clients
        )
        rate, _stored, errors = _hammer(
            port, "POST", "/api/problems", report, seconds=seconds, clients=clients
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
    from sqlalchemy import create_engine, text

    engine = create_engine(env["GRIDMAP_DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(text("select count(*), count(distinct tracking_no) from problems")).first()
    return {
        "cores": os.cpu_count(),
        "workers": int(workers),
        "clients": clients,
        "office_users": len(office_users),
        "ping_per_s": round(ping_rate, 1),
        "reports_per_s": round(rate, 1),
        "reports_vs_ping": round(rate / ping_rate, 2),
        "goal_reports_per_s": 100,
        "errors": ping_errors + errors,
        "stored_rows": int(rows[0]),
        "unique_tracking_numbers": int(rows[1]),
    }


def table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", default="bench-problems.json")
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn workers (default GRIDMAP_WORKERS)"
    )
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args(argv)
    results: dict = {"assign": bench_assign(args.points)}
    a = results["assign"]
    rows = [
        ("measure", "value", "goal"),
        (
            f"raw shapely STRtree grid query ({a['points']:,} spots)",
            f"{a['raw_strtree_per_s']:,}/s",
            "baseline",
        ),
        ("bulk assignment to grid and unit", f"{a['assign_per_s']:,}/s  ({a['ratio']}x)", "≥ 0.5x"),
        (f"disagreements with whois ({a['whois_sample']} spots)", str(a["whois_mismatches"]), "0"),
    ]
    if not args.skip_http:
        results["http"] = h = bench_http(seconds=args.seconds, clients=args.clients, workers=args.workers)
        rows += [
            ("HTTP GET /api/ping", f"{h['ping_per_s']}/s", "baseline"),
            (
                f"HTTP POST /api/problems ({h['workers']} workers, {h['clients']} clients, {h['cores']} cores)",
                f"{h['reports_per_s']}/s  ({h['reports_vs_ping']}x ping)",
                "≥ 100/s",
            ),
            ("HTTP errors", str(h["errors"]), "0"),
            (
                "stored rows / unique tracking numbers",
                f"{h['stored_rows']} / {h['unique_tracking_numbers']}",
                "equal",
            ),
        ]
    print(table(rows))
    Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\n结果已写入 {args.json}")
    ok = a["ratio"] >= 0.5 and a["whois_mismatches"] == 0
    if "http" in results:
        h = results["http"]
        ok = ok and h["errors"] == 0 and h["stored_rows"] == h["unique_tracking_numbers"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
