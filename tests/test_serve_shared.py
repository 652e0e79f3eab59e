"""Two `gridmap serve` processes on one database share nothing local: no inherited connection, one
secret key and one session table, unique tracking numbers, a model built before the workers fork.

Real servers on loopback over one database, on SQLite and on PostgreSQL (the larger multi-server
run is tests/test_multiserver.py); every load here is bounded in count and time and goes to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy.engine import make_url

from gridmap.auth import add_user
from gridmap.reference import load_directory
from gridmap.store import Store
from tests import factory
from tests.loadgen import WHOIS, gridmap_env, gridmap_serve, report_body, request

REPORTS, CLIENTS = 120, 12


@pytest.fixture(scope="module")
def servers(module_database):
    folder, url = module_database
    env = gridmap_env(folder / "instance", database_url=url, GRIDMAP_REPORTS_PER_HOUR=0)
    del env["GRIDMAP_SECRET_KEY"]  # each server must find the one key in the database
    (folder / "instance").mkdir(parents=True, exist_ok=True)
    store = Store(env["GRIDMAP_DATABASE_URL"])
    load_directory(store, factory.write_dataset(folder / "data"))
    add_user(store, username="office1", role="office", password=factory.PASSWORD)
    store.drop_connections()
    # Two machines: each server has its own instance folder; only the database is shared.
    other = {**env, "GRIDMAP_INSTANCE_DIR": str(folder / "instance-b")}
    first = gridmap_serve(env, folder / "logs", workers=2)
    second = gridmap_serve(other, folder / "logs", workers=2)
    with first, second:
        first.start(timeout=120)
        second.start(timeout=120)
        yield first, second, env


def _open_files(pid: int) -> list[str]:
    found = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                found.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    except OSError:
        pass
    return found


def _database_connections(pid: int, url: str) -> list[str]:
    """What process ``pid`` holds open of the database: the SQLite file, or TCP sockets to PostgreSQL."""
    targets = _open_files(pid)
    if url.startswith("sqlite"):
        database = url.removeprefix("sqlite:///")
        return [target for target in targets if target.startswith(database)]
    port = make_url(url).port
    inodes = {t.removeprefix("socket:[").removesuffix("]") for t in targets if t.startswith("socket:[")}
    found = []
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/net/{table}", encoding="ascii") as rows:
            for row in list(rows)[1:]:
                fields = row.split()  # sl, local, remote, state, ..., inode (10th)
                if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                    found.append(f"{table} {fields[1]} -> {fields[2]}")
    return found


def test_no_process_of_a_started_server_holds_a_database_connection(servers):
    """Before any request touches the database, neither the master nor a worker has the database
    open: the master closed what it used at start-up, so no worker inherits a connection."""
    first, second, env = servers
    for server in (first, second):
        deadline = time.monotonic() + 60
        while len(pids := server.pids()) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(pids) >= 3, pids  # the master and two workers
        held = {pid: _database_connections(pid, env["GRIDMAP_DATABASE_URL"]) for pid in pids}
        assert not any(held.values()), f"connections opened before the fork: {held}"


def test_the_model_is_built_in_the_master_before_the_workers_fork(servers):
    first, second, _env = servers
    for server in (first, second):
        assert "model ready in" in server.log(), server.log()[-2000:]
        for _ in range(4):  # every worker answers from the shared model at once
            status, body, _seconds = request(server.port, "GET", WHOIS, timeout=30)
            assert status == 200 and json.loads(body)["grid"], body[:300]


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _token(opener, base: str, path: str) -> str:
    page = opener.open(base + path, timeout=30).read().decode()
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _me(opener, base: str) -> int:
    try:
        return opener.open(base + "/api/me", timeout=30).status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_login_made_on_one_server_works_on_the_other_and_so_does_its_logout(servers):
    first, second, _env = servers
    a, b = f"http://127.0.0.1:{first.port}", f"http://127.0.0.1:{second.port}"
    browser = _opener()  # cookies do not depend on the port: one browser in front of both servers
    form = {"username": "office1", "password": factory.PASSWORD, "csrf_token": _token(browser, a, "/login")}
    browser.open(a + "/login", data=urllib.parse.urlencode(form).encode(), timeout=30)
    assert _me(browser, a) == 200
    assert _me(browser, b) == 200, "the session signed by one server is unknown to the other"
    token = _token(browser, b, "/office")
    browser.open(b + "/logout", data=urllib.parse.urlencode({"csrf_token": token}).encode(), timeout=30)
    assert _me(browser, a) == 401, "a logout on one server did not end the session on the other"


def test_reports_posted_to_both_servers_are_stored_once_with_unique_numbers(servers):
    first, second, env = servers
    ports = [first.port, second.port]
    acknowledged: list[str] = []
    failed: list[tuple[int, bytes]] = []
    guard = threading.Lock()

    def client(i: int) -> None:
        for j in range(i, REPORTS, CLIENTS):
            status, body, _seconds = request(
                ports[j % 2],
                "POST",
                "/api/problems",
                body=report_body(106.52, 33.91, f"共用数据库测试 {j}"),
                headers={"Content-Type": "application/json"},
                timeout=60,
            )
            with guard:
                if status == 201:
                    acknowledged.append(json.loads(body)["tracking_no"])
                else:
                    failed.append((status, body[:200]))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert failed == []
    assert len(acknowledged) == REPORTS and len(set(acknowledged)) == REPORTS
    stored = _stored_tracking_numbers(env["GRIDMAP_DATABASE_URL"])
    assert sorted(stored) == sorted(acknowledged)


def _stored_tracking_numbers(url: str) -> list[str]:
    """Every tracking number in the database, read through SQLAlchemy (either backend)."""
    from sqlalchemy import select

    from gridmap.problems.schema import problems

    store = Store(url)
    try:
        with store.engine.connect() as conn:
            return list(conn.execute(select(problems.c.tracking_no)).scalars())
    finally:
        store.drop_connections()


def test_new_data_reaches_every_server_while_the_old_model_keeps_answering(servers, tmp_path):
    """A load made elsewhere (another process) is picked up by each worker within the version
    check, built in the background: every request in between is answered at once, old or new."""
    first, second, env = servers
    layers = factory.layers()
    layers["grids"].loc[0, "name"] = "后台重建网格"
    load_directory(
        Store(env["GRIDMAP_DATABASE_URL"]), factory.write_dataset(tmp_path / "new", layers_=layers)
    )
    seen: dict[int, bool] = {first.port: False, second.port: False}
    slowest = 0.0
    deadline = time.monotonic() + 60
    while not all(seen.values()) and time.monotonic() < deadline:
        for port in seen:
            status, body, seconds = request(port, "GET", "/api/grids", timeout=30)
            assert status == 200, body[:300]
            slowest = max(slowest, seconds)
            names = {g["name"] for g in json.loads(body)["grids"]}
            seen[port] = seen[port] or "后台重建网格" in names
        time.sleep(0.1)
    assert all(seen.values()), seen
    assert slowest < 10, f"a request waited {slowest:.1f} s"  # generous: no request builds the model
    for server in (first, second):
        assert "rebuilding the reference model" not in server.log(), server.log()[-3000:]
