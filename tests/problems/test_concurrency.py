"""500 reports from 20 concurrent clients to a real gunicorn: all stored, none lost, numbers unique."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD, ON_XINJIAN_ROAD

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPOTS = (ON_BINJIANG_ROAD, ON_XINJIAN_ROAD, NEAR_HOSPITAL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(settings, loaded_store, tmp_path):
    """`gridmap serve` with 4 workers: several processes write to one SQLite file at once."""
    port = _free_port()
    # many anonymous reports from one address: switch off the per-address limit
    env = {**os.environ, **settings, "PORT": str(port), "PYTHONPATH": ROOT, "GRIDMAP_REPORTS_PER_HOUR": "0"}
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - the server writes to it until teardown
    process = subprocess.Popen(
        [sys.executable, "-m", "gridmap.cli", "serve", "--workers", "4"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/ping")
            if conn.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail((tmp_path / "serve.log").read_text())
    yield port
    process.terminate()
    process.wait(timeout=20)
    log.close()


def _post(port: int, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "POST",
            "/api/problems",
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.slow
def test_500_reports_from_20_clients(server, loaded_store):
    from gridmap.problems.schema import problems

    def one(i: int):
        spot = SPOTS[i % len(SPOTS)]
        return _post(
            server,
            {
                "lon": spot[0],
                "lat": spot[1],
                "category": "garbage",
                "description": f"并发上报第 {i} 条",
                "source": "citizen",
            },
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(500)))
    errors = [(status, body) for status, body in results if status != 201]
    assert errors == []
    numbers = [body["tracking_no"] for _, body in results]
    assert len(set(numbers)) == 500
    with loaded_store.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(problems)).scalar()
        distinct = conn.execute(select(func.count(problems.c.tracking_no.distinct()))).scalar()
    assert stored == distinct == 500

    # the same Idempotency-Key sent by several clients at once still makes one problem
    body = {
        "lon": ON_BINJIANG_ROAD[0],
        "lat": ON_BINJIANG_ROAD[1],
        "category": "stall",
        "description": "重发",
    }
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: _post(server, body, {"Idempotency-Key": "same-key"}), range(8)))
    assert sorted(status for status, _ in replies).count(201) == 1
    assert {status for status, _ in replies} <= {200, 201}
    assert len({reply["tracking_no"] for _, reply in replies}) == 1
    with loaded_store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(problems)).scalar() == 501
