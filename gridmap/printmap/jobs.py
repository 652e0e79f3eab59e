"""Atlas jobs: the county atlas rendered by a background process; its state in the database, its file in
the shared storage, so that any app server shows its progress and serves its download."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gridmap import clock
from gridmap.atlasjobs import repository
from gridmap.errors import Conflict, GridmapError, InvalidInput, NotFound
from gridmap.printmap.page import page_options
from gridmap.storage import Storage, storage_from_settings
from gridmap.store import Store

JOBS_FOLDER = "atlas-jobs"  # the files' keys in the shared storage; the logs' folder on each server
KEEP_JOBS = 10  # finished jobs kept (with their files); older ones are deleted when a new one starts
STALE_AFTER = dt.timedelta(minutes=15)  # a job with no sign of progress for this long has died
PROGRESS_EVERY_S = 1.0  # progress is written at most this often
# What the background process needs to find the database and the shared storage.
_PASSED_SETTINGS = (
    "GRIDMAP_DATABASE_URL",
    "GRIDMAP_INSTANCE_DIR",
    "GRIDMAP_STORAGE",
    "GRIDMAP_S3_ENDPOINT",
    "GRIDMAP_S3_ACCESS_KEY",
    "GRIDMAP_S3_SECRET_KEY",
    "GRIDMAP_S3_REGION",
)
_ID = re.compile(r"^[0-9a-f]{16}$")
_FILENAMES = {"pdf": ("全县网格责任图集.pdf", "atlas.pdf"), "zip": ("全县网格责任图集_PNG.zip", "atlas.zip")}
_DIED = "生成图集的进程意外中止，请重新生成"


@dataclasses.dataclass(frozen=True)
class AtlasJob:
    """One atlas being made (or made): its options, who asked, and how far it has got."""

    id: str
    fmt: str
    paper: str
    landscape: bool
    dpi: int
    requested_by: str
    started_at: str  # ISO 8601, China time
    state: str = "running"  # running | done | failed
    done: int = 0
    total: int = 0
    message: str = ""
    finished_at: str | None = None
    size: int = 0
    pid: int | None = None
    host: str = ""

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def filename(self) -> str:
        return _FILENAMES[self.fmt][0]

    @property
    def ascii_filename(self) -> str:
        return _FILENAMES[self.fmt][1]

    @property
    def key(self) -> str:
        """Where its file is kept in the shared storage."""
        return f"{JOBS_FOLDER}/{self.id}/{self.ascii_filename}"

    def as_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out.pop("pid")
        out.pop("host")
        out["percent"] = self.percent
        return out


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a finished child that nobody waited for is a zombie: not running any more
    with contextlib.suppress(OSError, ChildProcessError):
        waited, _status = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    return True


def _died(row: Mapping[str, Any], *, now: dt.datetime) -> bool:
    """Whether a job marked running has in fact stopped: its process on this server is gone, or it has
    shown no progress for STALE_AFTER (its server may be another one, or down)."""
    if row["state"] != "running":
        return False
    if row["host"] == socket.gethostname() and row["pid"] and not _alive(row["pid"]):
        return True
    return clock.to_db(now) - row["heartbeat_at"] > STALE_AFTER


def _job(row: Mapping[str, Any], *, now: dt.datetime | None = None) -> AtlasJob:
    state, message = row["state"], row["message"]
    if _died(row, now=clock.utcnow() if now is None else now):
        state, message = "failed", _DIED
    finished = row["finished_at"]
    return AtlasJob(
        id=row["id"],
        fmt=row["fmt"],
        paper=row["paper"],
        landscape=bool(row["landscape"]),
        dpi=int(row["dpi"]),
        requested_by=row["requested_by"],
        started_at=clock.china(row["started_at"]).isoformat(timespec="seconds"),
        state=state,
        done=int(row["done"]),
        total=int(row["total"]),
        message=message,
        finished_at=None if finished is None else clock.china(finished).isoformat(timespec="seconds"),
        size=int(row["size"]),
        pid=row["pid"],
        host=row["host"],
    )


def job_status(store: Store, job_id: object) -> AtlasJob:
    """The job with this id; NotFound for an unknown or malformed id."""
    text = str(job_id or "")
    row = repository.get_job(store, text) if _ID.match(text) else None
    if row is None:
        msg = f"没有编号为“{text[:40]}”的图集任务（可能已被清理），请重新生成"
        raise NotFound(msg)
    return _job(row)


def recent_jobs(store: Store, *, limit: int = KEEP_JOBS) -> list[AtlasJob]:
    """The latest jobs, newest first."""
    return [_job(row) for row in repository.list_jobs(store, limit=limit)]


def job_file(store: Store, settings: Mapping[str, Any], job_id: object) -> tuple[bytes, AtlasJob]:
    """The finished atlas file of a job, from the shared storage; Conflict while it is being made or if it failed."""
    job = job_status(store, job_id)
    if job.state != "done":
        msg = "图集还在生成中，请稍候" if job.state == "running" else f"这次图集没有生成成功：{job.message}"
        raise Conflict(msg)
    return storage_from_settings(settings).get(job.key), job


def log_path(instance_dir: str | Path, job_id: str) -> Path:
    """The background process's log, on the server that started it."""
    return Path(instance_dir) / JOBS_FOLDER / job_id / "log.txt"


def start_atlas(
    store: Store,
    settings: Mapping[str, Any],
    *,
    fmt: object = "pdf",
    paper: object = "A4",
    landscape: object = False,
    dpi: object = 300,
    requested_by: str,
    now: dt.datetime | None = None,
) -> AtlasJob:
    """Start rendering the atlas in a background process; one at a time across every server (Conflict)."""
    fmt = str(fmt or "pdf").strip().lower()
    if fmt not in _FILENAMES:
        msg = f"图集格式“{fmt[:20]}”不支持：可选 pdf（多页 PDF）或 zip（PNG 压缩包）"
        raise InvalidInput(msg)
    options = page_options(fmt="pdf" if fmt == "pdf" else "png", paper=paper, landscape=landscape, dpi=dpi)
    moment = clock.to_db(now)

    def check_running(row: dict[str, Any]) -> dict[str, Any] | None:
        if _died(row, now=clock.from_db(moment)):
            return {"state": "failed", "message": _DIED, "finished_at": moment}
        job = _job(row)
        when = job.started_at[:16].replace("T", " ")
        msg = f"已有一份图集正在生成（{job.requested_by} 于 {when} 发起，完成 {job.percent}%），请等它完成"
        raise Conflict(msg)

    job_id = secrets.token_hex(8)
    host = socket.gethostname()
    row = {
        "id": job_id,
        "fmt": fmt,
        "paper": options.paper,
        "landscape": options.landscape,
        "dpi": options.dpi,
        "requested_by": requested_by,
        "started_at": moment,
        "state": "running",
        "done": 0,
        "total": 0,
        "message": "",
        "size": 0,
        "host": host,
        "heartbeat_at": moment,
    }
    dropped = repository.insert_job(store, row, keep=KEEP_JOBS - 1, check_running=check_running)
    storage = storage_from_settings(settings)
    instance_dir = settings["GRIDMAP_INSTANCE_DIR"]
    for old in dropped:
        for name in _FILENAMES.values():
            storage.delete(f"{JOBS_FOLDER}/{old}/{name[1]}")
        with contextlib.suppress(OSError):
            log_path(instance_dir, old).unlink()
            log_path(instance_dir, old).parent.rmdir()
    log = log_path(instance_dir, job_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    passed = {name: str(settings[name] or "") for name in _PASSED_SETTINGS}
    env = {**os.environ, **passed}
    try:
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "gridmap.printmap.jobs", job_id],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the request and the worker that started it
            )
    except OSError:
        repository.update_job(store, job_id, state="failed", message=_DIED, finished_at=clock.to_db(None))
        raise
    # the starter's record of the process (the process writes its own when it claims the job)
    repository.update_job(store, job_id, pid=process.pid)
    return _job({**row, "pid": process.pid, "finished_at": None}, now=clock.from_db(moment))


def _run(job_id: str) -> int:
    """The background process: claim the job once, render, report progress, keep the file, record the outcome."""
    from gridmap.cliopen import open_reference
    from gridmap.printmap import fonts, source_note
    from gridmap.printmap.atlas import render_atlas
    from gridmap.settings import load_settings

    settings = load_settings()
    cache = open_reference(settings)
    store = cache.store
    row = repository.get_job(store, job_id)
    if row is None or not repository.claim_job(
        store, job_id, host=socket.gethostname(), pid=os.getpid(), now=clock.to_db(None)
    ):
        print(f"atlas job {job_id} is unknown or another process has it", file=sys.stderr)
        return 1
    job = _job(row)
    try:
        storage: Storage = storage_from_settings(settings)
        model = cache.model()
        fonts.register()
        repository.update_job(store, job_id, total=len(model.grids) + 1, heartbeat_at=clock.to_db(None))
        last = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last
            if done < total and time.monotonic() - last < PROGRESS_EVERY_S:
                return
            last = time.monotonic()
            repository.update_job(store, job_id, done=done, total=total, heartbeat_at=clock.to_db(None))

        data = render_atlas(
            model,
            fmt=job.fmt,
            paper=job.paper,
            landscape=job.landscape,
            dpi=job.dpi,
            progress=progress,
            source=source_note(store),
        )
        storage.put(job.key, data)
        outcome: dict[str, Any] = {"state": "done", "size": len(data)}
    except GridmapError as error:
        outcome = {"state": "failed", "message": error.message}
    except Exception as error:  # recorded for the office; the log keeps the details
        print(repr(error), file=sys.stderr)
        outcome = {"state": "failed", "message": "生成图集时出错，详情见服务器上的任务日志"}
    now = clock.to_db(None)
    repository.update_job(store, job_id, **outcome, finished_at=now, heartbeat_at=now)
    return 0 if outcome["state"] == "done" else 1


if __name__ == "__main__":
    sys.exit(_run(sys.argv[1]))
