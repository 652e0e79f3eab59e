"""Several app servers over one PostgreSQL: 2,000 reports from 40 clients on two and on three servers.

The full numbers of tests/test_multiserver.py (which runs 600 to keep the suite quick): a throw-away
PostgreSQL cluster (tests/pg.py), the tiny county, N `gridmap serve` processes with their own
instance folders and one shared storage folder; reports spread over the servers; then every check
of the test (stored once, numbers unique, nothing stored for an error, one report event each, the
day counter at the highest number). Prints one JSON line per deployment size. Loopback only.

    .venv/bin/python scripts/bench_multiserver.py [--reports 2000] [--clients 40] [--servers 2 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import factory, pg
from tests.test_multiserver import check_reports, post_reports, start


def run(count: int, *, reports: int, clients: int, workers: int, folder: Path) -> dict:
    from gridmap.reference import load_directory
    from gridmap.store import Store

    cluster = pg.cluster()
    name = cluster.create_database()
    url = cluster.url(name)
    try:
        store = Store(url)
        load_directory(store, factory.write_dataset(folder / "data"))
        store.engine.dispose()
        deployment = start(url, folder / f"deploy{count}", count, workers=workers)
        try:
            began = time.perf_counter()
            outcomes = post_reports(deployment.ports, reports, clients=clients)
            seconds = time.perf_counter() - began
        finally:
            deployment.stop()
        figures = check_reports(url, outcomes)  # raises AssertionError with what is wrong
        numbers = Counter(o.tracking_no for o in outcomes if o.tracking_no)
        return {
            "servers": count,
            "workers_per_server": workers,
            "clients": clients,
            "reports": reports,
            "seconds": round(seconds, 1),
            "reports_per_s": round(reports / seconds, 1),
            "errors": sum(o.status != 201 for o in outcomes),
            "duplicate_numbers": sum(k - 1 for k in numbers.values() if k > 1),
            **figures,
        }
    finally:
        cluster.drop_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--servers", type=int, nargs="+", default=[2, 3])
    args = parser.parse_args()
    try:
        with tempfile.TemporaryDirectory(prefix="gridmap-multiserver-") as tmp:
            for count in args.servers:
                result = run(
                    count,
                    reports=args.reports,
                    clients=args.clients,
                    workers=args.workers,
                    folder=Path(tmp) / f"n{count}",
                )
                print(json.dumps(result, ensure_ascii=False), flush=True)
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
