"""Atlas jobs: a real background process renders the atlas; progress and the file are read back."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from gridmap.errors import Conflict, InvalidInput, NotFound
from gridmap.printmap import jobs


def _wait(instance: str, job_id: str, *, seconds: float = 180.0) -> jobs.AtlasJob:
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = jobs.job_status(instance, job_id)
        seen.append(job.done)
        if job.state != "running":
            return job
        time.sleep(0.2)
    raise AssertionError(f"the atlas job did not finish in {seconds} s; progress seen: {seen[-5:]}")


def test_an_atlas_job_runs_in_the_background_and_its_pdf_has_a_page_per_grid(settings, loaded_store):
    from gridmap.reference import ReferenceCache

    instance = settings["GRIDMAP_INSTANCE_DIR"]
    grids = len(ReferenceCache(loaded_store, tolerance_m=50.0).model().grids)
    job = jobs.start_atlas(
        instance, database_url=settings["GRIDMAP_DATABASE_URL"], fmt="pdf", paper="A4", requested_by="boss"
    )
    assert job.state == "running" and re.fullmatch(r"[0-9a-f]{16}", job.id)
    with pytest.raises(Conflict, match="正在生成"):  # one at a time
        jobs.start_atlas(instance, database_url=settings["GRIDMAP_DATABASE_URL"], requested_by="boss")
    done = _wait(instance, job.id)
    assert done.state == "done", (
        done.message,
        (Path(instance) / "atlas-jobs" / job.id / "log.txt").read_text(),
    )
    assert done.done == done.total == grids + 1 and done.percent == 100
    path, _job = jobs.job_file(instance, job.id)
    assert len(PdfReader(io.BytesIO(path.read_bytes())).pages) == grids + 1
    assert [j.id for j in jobs.recent_jobs(instance)] == [job.id]


def test_bad_requests_are_named(settings, loaded_store):
    instance = settings["GRIDMAP_INSTANCE_DIR"]
    with pytest.raises(InvalidInput, match="图集格式"):
        jobs.start_atlas(instance, database_url="sqlite://", fmt="docx", requested_by="boss")
    with pytest.raises(InvalidInput):
        jobs.start_atlas(instance, database_url="sqlite://", paper="B5", requested_by="boss")
    with pytest.raises(NotFound, match="图集任务"):
        jobs.job_status(instance, "../../etc/passwd")
    assert jobs.recent_jobs(instance) == []


def test_a_job_whose_process_died_is_failed_not_running_forever(settings, loaded_store, monkeypatch):
    instance = settings["GRIDMAP_INSTANCE_DIR"]
    monkeypatch.setattr(jobs.sys, "executable", "/bin/true")  # the "renderer" exits at once, writing nothing
    job = jobs.start_atlas(instance, database_url=settings["GRIDMAP_DATABASE_URL"], requested_by="boss")
    failed = _wait(instance, job.id, seconds=20)
    assert failed.state == "failed" and "中止" in failed.message
    with pytest.raises(Conflict, match="没有生成成功"):
        jobs.job_file(instance, job.id)


def test_the_atlas_pages_start_follow_and_download(app, client, loaded_store):
    from gridmap.auth import add_user

    add_user(loaded_store, username="boss", role="office", password="secret-pass-1")
    assert client.get("/export/atlas").status_code == 302  # login first
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "boss", "password": "secret-pass-1", "csrf_token": token})
    form = client.get("/export/atlas")
    assert form.status_code == 200 and "生成图集" in form.get_data(as_text=True)
    assert client.post("/export/atlas", data={"format": "pdf"}).status_code == 403  # no CSRF token
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True)).group(1)
    started = client.post("/export/atlas", data={"format": "pdf", "paper": "A4", "csrf_token": token})
    assert started.status_code == 303
    job_url = started.headers["Location"]
    job_id = job_url.rstrip("/").rsplit("/", 1)[-1]
    running = client.get(job_url).get_data(as_text=True)
    assert "全县网格责任图集" in running
    early = client.get(f"{job_url}/download")
    assert early.status_code in (200, 409)
    _wait(app.extensions["gridmap.settings"].instance_dir, job_id)
    status = client.get(f"{job_url}?format=json").get_json()
    assert status["state"] == "done" and status["percent"] == 100
    download = client.get(f"{job_url}/download")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert "atlas.pdf" in download.headers["Content-Disposition"]
    assert client.get("/export/atlas/0123456789abcdef").status_code == 404
