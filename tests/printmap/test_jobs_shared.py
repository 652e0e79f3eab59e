"""An atlas started through one app server is followed and downloaded through another: its state is in the
shared database and its file in the shared storage (a folder as on NFS, or a real S3 server)."""

from __future__ import annotations

import re

from tests.printmap.test_jobs import _login, _wait


def test_an_atlas_made_through_one_server_downloads_from_another(
    settings, loaded_store, shared_storage, tmp_path
):
    from gridmap.auth import add_user
    from web import create_app

    add_user(loaded_store, username="boss", role="office", password="secret-pass-1")
    one, two = (
        create_app({**settings, **shared_storage, "GRIDMAP_INSTANCE_DIR": str(tmp_path / name)})
        for name in ("server1", "server2")
    )
    first, second = one.test_client(), two.test_client()
    token = _login(first, "boss")
    started = first.post("/export/atlas", data={"format": "zip", "dpi": "72", "csrf_token": token})
    assert started.status_code == 303
    job_id = started.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    _login(second, "boss")
    listed = second.get("/export/atlas").get_data(as_text=True)  # the other server lists it …
    assert job_id in listed
    token_two = re.search(r'name="csrf_token" value="([^"]+)"', listed).group(1)
    busy = second.post("/export/atlas", data={"format": "pdf", "csrf_token": token_two})
    assert busy.status_code == 409 and "正在生成" in busy.get_data(as_text=True)  # … and starts no second one
    done = _wait(loaded_store, job_id)
    assert done.state == "done", done.message
    status = second.get(f"/export/atlas/{job_id}?format=json").get_json()
    assert status["state"] == "done" and status["percent"] == 100
    download = second.get(f"/export/atlas/{job_id}/download")
    assert download.status_code == 200 and download.data.startswith(b"PK")
    assert len(download.data) == status["size"]
    # the file is in the shared storage, not on either server's disk
    for name in ("server1", "server2"):
        assert not list((tmp_path / name).rglob("atlas.zip"))


def test_servers_starting_an_atlas_at_once_start_one(settings, loaded_store, tmp_path, monkeypatch):
    """Four "servers" (a store each) press the button together: one job starts, the others are told it runs."""
    import os
    import signal
    import threading

    from gridmap.errors import Conflict
    from gridmap.printmap import jobs
    from gridmap.settings import load_settings
    from gridmap.store import Store

    renderer = tmp_path / "renderer.sh"  # stays alive like a long render, writes nothing
    renderer.write_text("#!/bin/sh\nexec sleep 30\n")
    renderer.chmod(0o755)
    monkeypatch.setattr(jobs.sys, "executable", str(renderer))
    frozen = load_settings(settings, environ={})
    stores = [Store(settings["GRIDMAP_DATABASE_URL"]) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    outcomes: list = []

    def press(store) -> None:
        barrier.wait()
        try:
            outcomes.append(jobs.start_atlas(store, frozen, requested_by="boss"))
        except Conflict as refused:
            outcomes.append(refused)

    threads = [threading.Thread(target=press, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    started = [o for o in outcomes if isinstance(o, jobs.AtlasJob)]
    try:
        assert len(started) == 1 and len(outcomes) == len(stores)
        assert all("正在生成" in o.message for o in outcomes if isinstance(o, Conflict))
        assert [j.id for j in jobs.recent_jobs(loaded_store)] == [started[0].id]
        assert jobs.job_status(loaded_store, started[0].id).state == "running"
    finally:
        for job in started:
            os.kill(job.pid, signal.SIGTERM)
        for store in stores:
            store.engine.dispose()
