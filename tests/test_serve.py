"""`gridmap serve` as a real server on loopback: slow clients, heavy photos, body deadlines, its log.

One server (the default configuration: gevent workers, GRIDMAP_WORKERS) over the tiny dataset is
shared by the module; every load here is bounded in count and time and goes to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from gridmap.serving import redact_query, redact_url
from tests import factory
from tests.loadgen import PING, WHOIS, SlowClients, gridmap_env, gridmap_serve, probe, request, while_running
from tests.problems.test_photo_limits import big_jpeg, png_7000

LATENCY_S = 1.0  # the bound for ping and whois under load
MEMORY_BYTES = 1.5e9  # the bound for master + workers


def _loaded_env(folder: Path, database_url: str, **extra) -> dict[str, str]:
    from gridmap.reference import load_directory
    from gridmap.store import Store

    env = gridmap_env(folder / "instance", database_url=database_url, **extra)
    (folder / "instance").mkdir(parents=True, exist_ok=True)
    store = Store(env["GRIDMAP_DATABASE_URL"])
    load_directory(store, factory.write_dataset(folder / "data"))
    store.drop_connections()
    return env


@pytest.fixture(scope="module")
def server(module_database):
    """One served instance per module and backend (SQLite and PostgreSQL)."""
    folder, url = module_database
    env = _loaded_env(folder, url)
    stale = Path(env["GRIDMAP_INSTANCE_DIR"]) / "print-cache" / "drawn-by-older-code.page"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    with gridmap_serve(env, folder / "logs") as running:
        running.start(timeout=120)
        for _ in range(8):  # build the model and whois index in every worker
            request(running.port, "GET", WHOIS, timeout=60)
        yield running


def test_ping_and_whois_answer_within_a_second_with_200_slow_connections_held(server):
    with SlowClients(server.port, slow_bodies=200, idle=50, interval=2.0, bounded_s=120) as held:
        time.sleep(3.0)  # every slow body has started; sync workers would all be stuck by now
        times = probe(server.port, rounds=8, pause=0.25, timeout=10.0)
        still_open = len(held.sockets)
    assert held.opened == 250
    assert still_open >= 190, "the slow connections were not held open during the probe"
    assert max(times[PING]) < LATENCY_S, times
    assert max(times[WHOIS]) < LATENCY_S, times


def test_eight_anonymous_reports_with_huge_photos_leave_whois_fast_and_memory_bounded(server):
    from tests.problems.conftest import ON_BINJIANG_ROAD

    bomb, jpeg = png_7000(), big_jpeg()
    assert len(bomb) < 400_000 and len(jpeg) < 8_000_000

    def body(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
        boundary = uuid.uuid4().hex
        fields = {
            "lon": ON_BINJIANG_ROAD[0],
            "lat": ON_BINJIANG_ROAD[1],
            "category": "garbage",
            "description": "大照片测试",
        }
        out = io.BytesIO()
        for name, value in fields.items():
            out.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        for name, data in files:
            out.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n".encode()
            )
            out.write(data + b"\r\n")
        out.write(f"--{boundary}--\r\n".encode())
        return out.getvalue(), f"multipart/form-data; boundary={boundary}"

    uploads = [
        [(f"bomb{i}-{k}.png", bomb) for k in range(3)]
        if i % 2 == 0
        else [(f"phone{i}-{k}.jpg", jpeg) for k in range(2)]
        for i in range(8)
    ]
    answers: list = [None] * 8

    def report(i: int) -> None:
        data, ctype = body(uploads[i])
        answers[i] = request(
            server.port, "POST", "/api/problems", body=data, headers={"Content-Type": ctype}, timeout=120
        )

    whois_times, peak = while_running(server, [threading.Thread(target=report, args=(i,)) for i in range(8)])

    for i, (status, raw, _seconds) in enumerate(answers):
        answer = json.loads(raw)
        if i % 2 == 0:  # 49-million-pixel PNGs: refused from the header, naming the photo
            assert status == 400, answer
            assert f"bomb{i}-0.png" in answer["message"] and "万像素" in answer["message"]
        else:  # 48 MP phone JPEGs: accepted, or at worst "busy, retry" in Chinese
            assert status in (201, 503), answer
            assert status == 201 or "请约" in answer["message"]
    assert sum(1 for status, *_ in answers if status == 201) >= 2
    assert whois_times and max(whois_times) < LATENCY_S, whois_times
    assert peak < MEMORY_BYTES, f"master + workers reached {peak / 2**20:.0f} MB"


def test_eight_anonymous_a3_exports_are_bounded_and_leave_whois_fast(server):
    urls = ["/export/grids/610330100001.png?paper=A3&dpi=600"] * 2 + [
        f"/export/grids/61033010000{1 + i % 2}.png?paper=A3&landscape={i // 2 % 2}&dpi=200" for i in range(6)
    ]
    answers: list = [None] * len(urls)

    def fetch(i: int) -> None:
        answers[i] = request(server.port, "GET", urls[i], timeout=120)

    whois_times, peak = while_running(
        server, [threading.Thread(target=fetch, args=(i,)) for i in range(len(urls))]
    )
    statuses = [a[0] for a in answers]
    assert statuses[:2] == [403, 403]  # 600 dpi is for logged-in users
    assert "200 dpi" in answers[0][1].decode()
    assert all(s in (200, 503) for s in statuses[2:]), statuses
    assert statuses.count(200) >= 2
    assert all(a[1].startswith(b"\x89PNG") for a in answers if a[0] == 200)
    assert whois_times and max(whois_times) < LATENCY_S, whois_times
    assert peak < MEMORY_BYTES, f"master + workers reached {peak / 2**20:.0f} MB"


def test_serve_starts_with_an_empty_print_cache(server):
    assert not list((Path(server.env["GRIDMAP_INSTANCE_DIR"]) / "print-cache").glob("drawn-by-*"))


def test_the_access_log_keeps_paths_but_not_secrets(server):
    secret = uuid.uuid4().hex
    request(server.port, "GET", f"/open311/v2/services.json?api_key={secret}&jurisdiction_id=x")
    request(
        server.port,
        "GET",
        f"/api/ping?token={secret}t&PassWord={secret}p",
        headers={"Referer": f"http://127.0.0.1/?access_token={secret}r"},
    )
    time.sleep(0.5)
    log = server.log()
    assert "/open311/v2/services.json?api_key=***&jurisdiction_id=x" in log
    assert "/api/ping?token=***&PassWord=***" in log
    assert secret not in log


def test_redaction_rules():
    assert redact_query("lon=1&lat=2") == "lon=1&lat=2"
    assert redact_query("api_key=s&x=1") == "api_key=***&x=1"
    assert (
        redact_query("session_key=a&my_token=b&db_password=c")
        == "session_key=***&my_token=***&db_password=***"
    )
    assert redact_url("/a?password=p") == "/a?password=***"
    assert redact_url("/a") == "/a"


def test_a_trickled_body_is_cut_off_with_408(tmp_path, database_url):
    env = _loaded_env(tmp_path, database_url, GRIDMAP_BODY_TIMEOUT_S=2)
    with gridmap_serve(env, tmp_path / "logs", workers=1) as running:
        running.start(timeout=120)
        sock = socket.create_connection(("127.0.0.1", running.port), timeout=5)
        try:
            sock.sendall(
                b"POST /api/problems HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 5000\r\n\r\n{"
            )
            start = time.monotonic()
            answer = b""
            sock.settimeout(1.0)
            while time.monotonic() - start < 20 and b"\r\n\r\n" not in answer:
                try:
                    sock.sendall(b" ")
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
                except TimeoutError:
                    continue
                except OSError:
                    break
            elapsed = time.monotonic() - start
            with contextlib.suppress(OSError):  # the rest of the answer, up to the server's close
                while chunk := sock.recv(65536):
                    answer += chunk
        finally:
            sock.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert "上传太慢" in answer.decode("utf-8", "replace")
        assert elapsed < 10
        # the worker serves everyone else meanwhile and after
        assert request(running.port, "GET", PING)[0] == 200


def test_serving_settings_are_parsed_and_checked(tmp_path):
    from gridmap.errors import ConfigError
    from gridmap.settings import load_settings

    values = load_settings(
        environ={
            "GRIDMAP_INSTANCE_DIR": str(tmp_path),
            "GRIDMAP_PRINT_CACHE_MB": "0",
            "GRIDMAP_HEAVY_SLOTS": "2",
            "GRIDMAP_BODY_TIMEOUT_S": "5",
        }
    )
    assert values["GRIDMAP_PRINT_CACHE_MB"] == 0 and values["GRIDMAP_HEAVY_SLOTS"] == 2
    assert values["GRIDMAP_BODY_TIMEOUT_S"] == 5.0 and values["GRIDMAP_WORKERS"] >= 2
    for name, bad in (
        ("GRIDMAP_HEAVY_SLOTS", "0"),
        ("GRIDMAP_HEAVY_WAIT_S", "-1"),
        ("GRIDMAP_PRINT_ANON_MAX_DPI", "x"),
        ("GRIDMAP_BODY_TIMEOUT_S", "0"),
    ):
        with pytest.raises(ConfigError, match=name):
            load_settings(environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path), name: bad})
