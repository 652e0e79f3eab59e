"""Notification throughput: events/s from the outbox to a local webhook, against plain POSTs in the same run."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gridmap.notify import repository
from gridmap.notify.notice import Notice
from gridmap.notify.worker import Worker
from gridmap.settings import load_settings
from gridmap.store import Store


class Sink:
    """A webhook receiver on 127.0.0.1 that counts distinct notice ids and requests."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.requests = 0
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ident = json.loads(body).get("id", "")
                with sink.lock:
                    sink.requests += 1
                    sink.ids.add(ident)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def plain_posts(url: str, n: int) -> float:
    """Baseline: the same JSON POSTed n times in a loop, no database. Seconds."""
    data = json.dumps(
        {"id": "x", "event": "dispatched", "message": "问题已交办"}, ensure_ascii=False
    ).encode()
    start = time.perf_counter()
    for _ in range(n):
        request = urllib.request.Request(
            url, data=data, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
    return time.perf_counter() - start


def run(n: int, workers: int) -> dict:
    sink = Sink()
    folder = Path(tempfile.mkdtemp(prefix="gridmap-bench-notify-"))
    url = f"sqlite:///{folder / 'bench.sqlite'}"
    store = Store(url)
    now = dt.datetime.now(dt.UTC)
    notices = [
        Notice(
            event="dispatched",
            message=f"问题 B{i:06d} 已交办给县住建局，请按期办理。",
            recipients=(f"u{i % 50}",),
            tracking_no=f"B{i:06d}",
            unit_code="U1",
        )
        for i in range(n)
    ]
    start = time.perf_counter()
    for notice in notices:  # one transaction per notice, as each workflow action writes its own
        repository.add(store, [notice], now=now)
    enqueue_s = time.perf_counter() - start

    settings = load_settings(
        {"GRIDMAP_DATABASE_URL": url, "GRIDMAP_INSTANCE_DIR": str(folder), "GRIDMAP_WEBHOOK_URL": sink.url},
        environ={},
    )
    runners = [Worker(store, settings, name=f"bench-{k}", batch=100) for k in range(workers)]

    def drain(worker: Worker) -> None:
        while len(sink.ids) < n:
            if worker.deliver() == 0:
                time.sleep(0.01)

    start = time.perf_counter()
    threads = [threading.Thread(target=drain, args=(w,)) for w in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deliver_s = time.perf_counter() - start
    counts = repository.delivery_counts(store)
    distinct, received = len(sink.ids), sink.requests
    baseline_s = plain_posts(sink.url, n)
    return {
        "notices": n,
        "workers": workers,
        "enqueue_per_s": round(n / enqueue_s, 1),
        "delivered_per_s": round(n / deliver_s, 1),
        "plain_posts_per_s": round(n / baseline_s, 1),
        "ratio_to_plain_posts": round((n / deliver_s) / (n / baseline_s), 3),
        "distinct_ids_received": distinct,
        "requests_received": received,
        "deliveries": counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=2000, help="notices to deliver")
    parser.add_argument("--workers", type=int, default=1, help="workers (threads) delivering at once")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args()
    result = run(args.n, args.workers)
    for key, value in result.items():
        print(f"{key:24s} {value}")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
