"""SQL of the exposure page and the reward payouts: publish, unpublish, list, mark paid."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import Row, insert, select, update

from gridmap.exposure.schema import exposures, reward_payouts
from gridmap.store import Store


def find_exposure(store: Store, problem_id: int) -> Row | None:
    """The exposure row of a problem (published or not), or None."""
    with store.reading() as conn:
        return conn.execute(select(exposures).where(exposures.c.problem_id == problem_id)).first()


def exposures_for(store: Store, problem_ids: Iterable[int]) -> dict[int, Row]:
    """Exposure rows of the given problems, by problem id."""
    ids = sorted(set(problem_ids))
    if not ids:
        return {}
    with store.reading() as conn:
        rows = conn.execute(select(exposures).where(exposures.c.problem_id.in_(ids))).all()
    return {r.problem_id: r for r in rows}


def save_exposure(
    store: Store, *, problem_id: int, title: str, comment: str | None, user: str, now: dt.datetime
) -> None:
    """Publish a problem, or change the title and comment of a published one (republish)."""
    e = exposures.c
    with store.writing() as conn:
        found = conn.execute(select(e.id, e.published).where(e.problem_id == problem_id)).first()
        if found is None:
            conn.execute(
                insert(exposures).values(
                    problem_id=problem_id,
                    title=title,
                    comment=comment,
                    published=True,
                    published_at=now,
                    published_by=user,
                    updated_at=now,
                )
            )
            return
        values: dict = {"title": title, "comment": comment, "updated_at": now, "published": True}
        if not found.published:  # published again: it goes to the top of the page
            values.update(published_at=now, published_by=user, unpublished_at=None)
        conn.execute(update(exposures).where(e.id == found.id).values(**values))


def unpublish(store: Store, *, problem_id: int, now: dt.datetime) -> bool:
    """Take a problem off the page; False if it was not on it."""
    e = exposures.c
    with store.writing() as conn:
        done = conn.execute(
            update(exposures)
            .where(e.problem_id == problem_id, e.published.is_(True))
            .values(published=False, unpublished_at=now, updated_at=now)
        )
        return bool(done.rowcount)


def published(store: Store, *, limit: int, offset: int = 0) -> list[Row]:
    """Published exposure rows, newest first."""
    e = exposures.c
    query = (
        select(exposures)
        .where(e.published.is_(True))
        .order_by(e.published_at.desc(), e.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with store.reading() as conn:
        return list(conn.execute(query).all())


def count_published(store: Store) -> int:
    """How many problems are on the exposure page."""
    with store.reading() as conn:
        rows = conn.execute(select(exposures.c.id).where(exposures.c.published.is_(True))).all()
    return len(rows)


def payouts_for(store: Store, problem_ids: Iterable[int]) -> dict[int, Row]:
    """Payout marks of the given problems, by problem id."""
    ids = sorted(set(problem_ids))
    if not ids:
        return {}
    with store.reading() as conn:
        rows = conn.execute(select(reward_payouts).where(reward_payouts.c.problem_id.in_(ids))).all()
    return {r.problem_id: r for r in rows}


def payouts_in(store: Store, month: str) -> list[Row]:
    """Payout marks of the reports filed in ``month`` (YYYY-MM)."""
    with store.reading() as conn:
        return list(conn.execute(select(reward_payouts).where(reward_payouts.c.month == month)).all())


def mark_paid(store: Store, *, marks: Sequence[dict], user: str, now: dt.datetime) -> int:
    """Record payouts (problem_id, month, phone_key, points each); reports already paid are skipped.
    How many were recorded."""
    if not marks:
        return 0
    p = reward_payouts.c
    with store.writing() as conn:
        ids = [m["problem_id"] for m in marks]
        paid = {r.problem_id for r in conn.execute(select(p.problem_id).where(p.problem_id.in_(ids)))}
        fresh = [{**m, "paid_at": now, "paid_by": user} for m in marks if m["problem_id"] not in paid]
        if fresh:
            conn.execute(insert(reward_payouts), fresh)
    return len(fresh)
