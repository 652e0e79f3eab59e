"""Atlas jobs: a real background process renders the atlas; progress (in the database) and the file (in the
shared storage) are read back, also by another app server."""

from __future__ import annotations

import datetime as dt
import io
import re
import socket
import time

import pytest
from pypdf import PdfReader

from gridmap import clock
from gridmap.atlasjobs import repository
from gridmap.errors import Conflict, InvalidInput, NotFound
from gridmap.printmap import jobs
from gridmap.settings import load_settings


def _wait(store, job_id: str, *, seconds: float = 180.0) -> jobs.AtlasJob:
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = jobs.job_status(store, job_id)
        seen.append(job.done)
        if job.state != "running":
            return job
        time.sleep(0.2)
    raise AssertionError(f"the atlas job did not finish in {seconds} s; progress seen: {seen[-5:]}")


def test_an_atlas_job_runs_in_the_background_and_its_pdf_has_a_page_per_grid(settings, loaded_store):
    from gridmap.reference import ReferenceCache

    instance = settings["GRIDMAP_INSTANCE_DIR"]
    grids = len(ReferenceCache(loaded_store, tolerance_m=50.0).model().grids)
    frozen = load_settings(settings, environ={})
    job = jobs.start_atlas(loaded_store, frozen, fmt="pdf", paper="A4", requested_by="boss")
    assert job.state == "running" and re.fullmatch(r"[0-9a-f]{16}", job.id)
    with pytest.raises(Conflict, match="正在生成"):  # one at a time
        jobs.start_atlas(loaded_store, frozen, requested_by="boss")
    done = _wait(loaded_store, job.id)
    assert done.state == "done", (done.message, jobs.log_path(instance, job.id).read_text())
    assert done.done == done.total == grids + 1 and done.percent == 100
    data, _job = jobs.job_file(loaded_store, frozen, job.id)
    assert len(PdfReader(io.BytesIO(data)).pages) == grids + 1
    assert [j.id for j in jobs.recent_jobs(loaded_store)] == [job.id]


def test_bad_requests_are_named(settings, loaded_store):
    frozen = load_settings(settings, environ={})
    with pytest.raises(InvalidInput, match="图集格式"):
        jobs.start_atlas(loaded_store, frozen, fmt="docx", requested_by="boss")
    with pytest.raises(InvalidInput):
        jobs.start_atlas(loaded_store, frozen, paper="B5", requested_by="boss")
    with pytest.raises(NotFound, match="图集任务"):
        jobs.job_status(loaded_store, "../../etc/passwd")
    with pytest.raises(NotFound, match="图集任务"):
        jobs.job_status(loaded_store, "0123456789abcdef")
    assert jobs.recent_jobs(loaded_store) == []


def test_a_job_whose_process_died_is_failed_not_running_forever(settings, loaded_store, monkeypatch):
    frozen = load_settings(settings, environ={})
    monkeypatch.setattr(jobs.sys, "executable", "/bin/true")  # the "renderer" exits at once, writing nothing
    job = jobs.start_atlas(loaded_store, frozen, requested_by="boss")
    failed = _wait(loaded_store, job.id, seconds=20)
    assert failed.state == "failed" and "中止" in failed.message
    with pytest.raises(Conflict, match="没有生成成功"):
        jobs.job_file(loaded_store, frozen, job.id)
    again = jobs.start_atlas(loaded_store, frozen, requested_by="boss")  # a dead job does not block the next
    assert again.id != job.id


def test_a_job_of_another_server_is_trusted_until_it_stops_showing_progress(
    settings, loaded_store, monkeypatch
):
    """Its pid means nothing here: it runs while its heartbeat is fresh, and has died once it is stale."""
    monkeypatch.setattr(jobs.sys, "executable", "/bin/true")  # no real rendering in this test
    now = clock.to_db(None) - dt.timedelta(hours=1)
    row = {
        "id": "00000000000000aa",
        "fmt": "pdf",
        "paper": "A4",
        "landscape": False,
        "dpi": 300,
        "requested_by": "boss",
        "started_at": now,
        "state": "running",
        "done": 3,
        "total": 10,
        "message": "",
        "size": 0,
        "host": socket.gethostname() + "-other",
        "pid": 1,
        "heartbeat_at": now,
    }
    repository.insert_job(loaded_store, row, keep=9, check_running=lambda r: None)
    frozen = load_settings(settings, environ={})
    with pytest.raises(Conflict, match="完成 30%"):
        jobs.start_atlas(loaded_store, frozen, requested_by="boss", now=now + dt.timedelta(minutes=5))
    later = now + jobs.STALE_AFTER + dt.timedelta(minutes=1)
    assert repository.claim_job(loaded_store, row["id"], host="x", pid=2, now=now)  # claimed once …
    assert not repository.claim_job(loaded_store, row["id"], host="y", pid=3, now=now)  # … never twice
    repository.update_job(loaded_store, row["id"], pid=None, heartbeat_at=now)
    started = jobs.start_atlas(loaded_store, frozen, requested_by="boss", now=later, fmt="zip")
    old = jobs.job_status(loaded_store, row["id"])
    assert old.state == "failed" and "中止" in old.message
    assert [j.id for j in jobs.recent_jobs(loaded_store)] == [started.id, row["id"]]


def _login(client, username):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": username, "password": "secret-pass-1", "csrf_token": token})
    form = client.get("/export/atlas")
    assert form.status_code == 200 and "生成图集" in form.get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True)).group(1)


def test_the_atlas_pages_start_follow_and_download(app, client, loaded_store):
    from gridmap.auth import add_user

    add_user(loaded_store, username="boss", role="office", password="secret-pass-1")
    assert client.get("/export/atlas").status_code == 302  # login first
    assert client.post("/export/atlas", data={"format": "pdf"}).status_code in (302, 403)
    token = _login(client, "boss")
    assert client.post("/export/atlas", data={"format": "pdf"}).status_code == 403  # no CSRF token
    started = client.post("/export/atlas", data={"format": "pdf", "paper": "A4", "csrf_token": token})
    assert started.status_code == 303
    job_url = started.headers["Location"]
    job_id = job_url.rstrip("/").rsplit("/", 1)[-1]
    running = client.get(job_url).get_data(as_text=True)
    assert "全县网格责任图集" in running
    early = client.get(f"{job_url}/download")
    assert early.status_code in (200, 409)
    _wait(loaded_store, job_id)
    status = client.get(f"{job_url}?format=json").get_json()
    assert status["state"] == "done" and status["percent"] == 100
    download = client.get(f"{job_url}/download")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert "atlas.pdf" in download.headers["Content-Disposition"]
    assert client.get("/export/atlas/0123456789abcdef").status_code == 404
