"""Rate-limit hits counted in the database, so every worker process sees the same limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select

from gridmap.accounts.schema import rate_hits

# How often (1 in N records) old rows of a kind are pruned.
PRUNE_EVERY = 50


@dataclass(frozen=True)
class Limit:
    """At most ``count`` hits of one kind per key within ``window``; count 0 switches it off."""

    kind: str
    count: int
    window: dt.timedelta

    @property
    def active(self) -> bool:
        return self.count > 0 and self.window > dt.timedelta(0)


def utcnow() -> dt.datetime:
    """Now as a naive UTC datetime (how the database keeps times)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def naive_utc(moment: dt.datetime | None) -> dt.datetime:
    if moment is None:
        return utcnow()
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def hit_key(kind: str, value: object) -> str:
    """The stored key of a value: a hash, so names and addresses are not kept in clear."""
    return hashlib.sha256(f"{kind}\x1f{value}".encode("utf-8", "surrogatepass")).hexdigest()


def wait_seconds(conn, limit: Limit, value: object, *, now: dt.datetime | None = None) -> int:
    """Seconds until one more hit is allowed for this value (0: allowed now)."""
    if not limit.active:
        return 0
    now = naive_utc(now)
    since = now - limit.window
    times = conn.execute(
        select(rate_hits.c.at)
        .where(rate_hits.c.kind == limit.kind, rate_hits.c.key == hit_key(limit.kind, value),
               rate_hits.c.at > since)
        .order_by(rate_hits.c.at.desc())
        .limit(limit.count)
    ).scalars().all()
    if len(times) < limit.count:
        return 0
    # allowed again when the limit-th most recent hit leaves the window
    free_at = times[limit.count - 1] + limit.window
    return max(1, int((free_at - now).total_seconds() + 0.999))


def count(conn, limit: Limit, value: object, *, now: dt.datetime | None = None) -> int:
    """Hits of this value within the limit's window."""
    now = naive_utc(now)
    return int(conn.execute(
        select(func.count()).select_from(rate_hits)
        .where(rate_hits.c.kind == limit.kind, rate_hits.c.key == hit_key(limit.kind, value),
               rate_hits.c.at > now - limit.window)
    ).scalar() or 0)


def record(conn, limit: Limit, value: object, *, now: dt.datetime | None = None) -> None:
    """Count one hit for this value; now and then drop hits of this kind older than the window."""
    now = naive_utc(now)
    conn.execute(insert(rate_hits).values(kind=limit.kind, key=hit_key(limit.kind, value), at=now))
    if random.randrange(PRUNE_EVERY) == 0:
        conn.execute(delete(rate_hits).where(rate_hits.c.kind == limit.kind,
                                             rate_hits.c.at <= now - limit.window))


def clear(conn, limit: Limit, value: object) -> None:
    """Forget every hit of this value (e.g. failed logins after a successful one)."""
    conn.execute(delete(rate_hits).where(rate_hits.c.kind == limit.kind,
                                         rate_hits.c.key == hit_key(limit.kind, value)))


def minutes_text(seconds: int) -> str:
    """A wait in words: "45 秒" or "约 12 分钟"."""
    if seconds < 60:
        return f"{seconds} 秒"
    return f"约 {(seconds + 59) // 60} 分钟"
