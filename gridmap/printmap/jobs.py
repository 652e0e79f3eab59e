"""Atlas jobs: the county atlas rendered by a background process, with progress any web worker can read."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from gridmap import clock
from gridmap.errors import Conflict, GridmapError, InvalidInput, NotFound
from gridmap.printmap.page import page_options

JOBS_FOLDER = "atlas-jobs"
KEEP_JOBS = 10  # finished jobs kept (with their files); older ones are deleted when a new one starts
_ID = re.compile(r"^[0-9a-f]{16}$")
_FILENAMES = {"pdf": ("全县网格责任图集.pdf", "atlas.pdf"), "zip": ("全县网格责任图集_PNG.zip", "atlas.zip")}


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

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def filename(self) -> str:
        return _FILENAMES[self.fmt][0]

    @property
    def ascii_filename(self) -> str:
        return _FILENAMES[self.fmt][1]

    def as_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out.pop("pid")
        out["percent"] = self.percent
        return out


def _folder(instance_dir: str | Path) -> Path:
    return Path(instance_dir) / JOBS_FOLDER


def _write(job_dir: Path, job: AtlasJob) -> None:
    """Replace the job's status file atomically: readers never see half of it."""
    tmp = job_dir / f".job.{os.getpid()}.json"
    tmp.write_text(json.dumps(dataclasses.asdict(job), ensure_ascii=False), encoding="utf-8")
    tmp.replace(job_dir / "job.json")


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


def _read(job_dir: Path) -> AtlasJob:
    job = AtlasJob(**json.loads((job_dir / "job.json").read_text(encoding="utf-8")))
    pid_file = job_dir / "pid"
    if job.pid is None and pid_file.is_file():  # written by the starter, before the process writes its own
        job = dataclasses.replace(job, pid=int(pid_file.read_text() or 0) or None)
    if job.state == "running" and job.pid is not None and not _alive(job.pid):
        job = dataclasses.replace(job, state="failed", message="生成图集的进程意外中止，请重新生成")
    return job


def job_status(instance_dir: str | Path, job_id: object) -> AtlasJob:
    """The job with this id; NotFound for an unknown or malformed id."""
    text = str(job_id or "")
    job_dir = _folder(instance_dir) / text
    if not _ID.match(text) or not (job_dir / "job.json").is_file():
        msg = f"没有编号为“{text[:40]}”的图集任务（可能已被清理），请重新生成"
        raise NotFound(msg)
    return _read(job_dir)


def recent_jobs(instance_dir: str | Path, *, limit: int = KEEP_JOBS) -> list[AtlasJob]:
    """The latest jobs, newest first."""
    folder = _folder(instance_dir)
    if not folder.is_dir():
        return []
    jobs = [_read(d) for d in folder.iterdir() if _ID.match(d.name) and (d / "job.json").is_file()]
    return sorted(jobs, key=lambda j: j.started_at, reverse=True)[:limit]


def job_file(instance_dir: str | Path, job_id: object) -> tuple[Path, AtlasJob]:
    """The finished atlas file of a job; Conflict while it is still being made or if it failed."""
    job = job_status(instance_dir, job_id)
    if job.state != "done":
        msg = "图集还在生成中，请稍候" if job.state == "running" else f"这次图集没有生成成功：{job.message}"
        raise Conflict(msg)
    return _folder(instance_dir) / job.id / job.ascii_filename, job


def start_atlas(
    instance_dir: str | Path,
    *,
    database_url: str,
    fmt: object = "pdf",
    paper: object = "A4",
    landscape: object = False,
    dpi: object = 300,
    requested_by: str,
    now: dt.datetime | None = None,
) -> AtlasJob:
    """Start rendering the atlas in a background process; one at a time (Conflict otherwise)."""
    fmt = str(fmt or "pdf").strip().lower()
    if fmt not in _FILENAMES:
        msg = f"图集格式“{fmt[:20]}”不支持：可选 pdf（多页 PDF）或 zip（PNG 压缩包）"
        raise InvalidInput(msg)
    options = page_options(fmt="pdf" if fmt == "pdf" else "png", paper=paper, landscape=landscape, dpi=dpi)
    folder = _folder(instance_dir)
    folder.mkdir(parents=True, exist_ok=True)
    jobs = recent_jobs(instance_dir, limit=1000)
    running = [j for j in jobs if j.state == "running"]
    if running:
        msg = f"已有一份图集正在生成（{running[0].requested_by} 于 {running[0].started_at[:16]} 发起，完成 {running[0].percent}%），请等它完成"
        raise Conflict(msg)
    for old in jobs[KEEP_JOBS - 1 :]:
        for path in (folder / old.id).iterdir():
            path.unlink()
        (folder / old.id).rmdir()
    job_id = secrets.token_hex(8)
    job_dir = folder / job_id
    job_dir.mkdir()
    job = AtlasJob(
        id=job_id,
        fmt=fmt,
        paper=options.paper,
        landscape=options.landscape,
        dpi=options.dpi,
        requested_by=requested_by,
        started_at=clock.china(now).isoformat(timespec="seconds"),
    )
    _write(job_dir, job)
    env = {**os.environ, "GRIDMAP_DATABASE_URL": database_url, "GRIDMAP_INSTANCE_DIR": str(instance_dir)}
    with (job_dir / "log.txt").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gridmap.printmap.jobs", str(job_dir)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the request and the worker that started it
        )
    (job_dir / "pid").write_text(str(process.pid))
    return dataclasses.replace(job, pid=process.pid)


def _run(job_dir: Path) -> int:
    """The background process: render, report progress, write the file, record the outcome."""
    from gridmap.cliopen import open_reference
    from gridmap.printmap import fonts, source_note
    from gridmap.printmap.atlas import render_atlas

    job = _read(job_dir)
    job = dataclasses.replace(job, pid=os.getpid())
    try:
        cache = open_reference()
        model = cache.model()
        fonts.register()
        job = dataclasses.replace(job, total=len(model.grids) + 1)
        _write(job_dir, job)

        def progress(done: int, total: int) -> None:
            nonlocal job
            job = dataclasses.replace(job, done=done, total=total)
            _write(job_dir, job)

        data = render_atlas(
            model,
            fmt=job.fmt,
            paper=job.paper,
            landscape=job.landscape,
            dpi=job.dpi,
            progress=progress,
            source=source_note(cache.store),
        )
        target = job_dir / job.ascii_filename
        tmp = job_dir / f".{job.ascii_filename}.part"
        tmp.write_bytes(data)
        tmp.replace(target)
        job = dataclasses.replace(
            job, state="done", size=len(data), finished_at=clock.china().isoformat(timespec="seconds")
        )
    except GridmapError as error:
        job = dataclasses.replace(job, state="failed", message=error.message)
    except Exception as error:  # recorded for the office; the log keeps the details
        print(repr(error), file=sys.stderr)
        job = dataclasses.replace(job, state="failed", message="生成图集时出错，详情见服务器上的任务日志")
    _write(job_dir, job)
    return 0 if job.state == "done" else 1


if __name__ == "__main__":
    sys.exit(_run(Path(sys.argv[1])))
