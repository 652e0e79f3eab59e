"""SQL of the county atlas jobs: start one at a time, claim once, report progress, read back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update

from gridmap.atlasjobs.schema import atlas_jobs
from gridmap.store import Store

__all__ = ["claim_job", "get_job", "insert_job", "list_jobs", "update_job"]

Row = dict[str, Any]


def _plain(row: Any) -> Row:
    return dict(row._mapping)


def insert_job(
    store: Store,
    values: Mapping[str, Any],
    *,
    keep: int,
    check_running: Callable[[Row], Row | None],
) -> list[str]:
    """Add a job unless another runs (``check_running(row)`` says so: Conflict); drop all but the ``keep``
    newest others. In the one write transaction, so servers starting at once add one job between them.
    Returns the ids of the dropped jobs (their files are the caller's to delete)."""
    with store.writing() as conn:
        running = conn.execute(select(atlas_jobs).where(atlas_jobs.c.state == "running")).all()
        for row in running:
            failed = check_running(_plain(row))  # raises Conflict when it is really running
            if failed is not None:
                conn.execute(update(atlas_jobs).where(atlas_jobs.c.id == row.id).values(**failed))
        older = conn.execute(
            select(atlas_jobs.c.id).order_by(atlas_jobs.c.started_at.desc(), atlas_jobs.c.id).offset(keep)
        ).all()
        dropped = [r.id for r in older]
        if dropped:
            conn.execute(delete(atlas_jobs).where(atlas_jobs.c.id.in_(dropped)))
        conn.execute(insert(atlas_jobs).values(**values))
    return dropped


def claim_job(store: Store, job_id: str, *, host: str, pid: int, now: dt.datetime) -> bool:
    """Claim a job not yet claimed for this process; False when another process has it (it runs once)."""
    with store.writing() as conn:
        claimed = conn.execute(
            update(atlas_jobs)
            .where(
                atlas_jobs.c.id == job_id, atlas_jobs.c.claimed_at.is_(None), atlas_jobs.c.state == "running"
            )
            .values(claimed_at=now, heartbeat_at=now, host=host, pid=pid)
        )
        return claimed.rowcount == 1


def update_job(store: Store, job_id: str, **values: Any) -> None:
    """Change a job's progress or outcome."""
    with store.writing() as conn:
        conn.execute(update(atlas_jobs).where(atlas_jobs.c.id == job_id).values(**values))


def get_job(store: Store, job_id: str) -> Row | None:
    with store.reading() as conn:
        row = conn.execute(select(atlas_jobs).where(atlas_jobs.c.id == job_id)).first()
    return None if row is None else _plain(row)


def list_jobs(store: Store, *, limit: int) -> list[Row]:
    """The latest jobs, newest first."""
    with store.reading() as conn:
        rows = conn.execute(
            select(atlas_jobs).order_by(atlas_jobs.c.started_at.desc(), atlas_jobs.c.id).limit(limit)
        ).all()
    return [_plain(r) for r in rows]
