"""The SQL of notifications: enqueue notices in the caller's transaction, read and mark the inbox."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from gridmap.clock import to_db
from gridmap.notify.notice import Notice
from gridmap.notify.schema import notify_inbox, notify_outbox


def enqueue(conn: Connection, notices: Sequence[Notice], *, now: dt.datetime) -> list[int]:
    """Write notices to the outbox and the recipients' inboxes inside the caller's transaction.

    A notice whose ``dedupe`` key is already in the outbox is skipped. Returns the new ids.
    """
    ids: list[int] = []
    at = to_db(now)
    for notice in notices:
        if notice.dedupe is not None:
            seen = conn.execute(
                select(notify_outbox.c.id).where(notify_outbox.c.dedupe_key == notice.dedupe)
            ).first()
            if seen is not None:
                continue
        recipients = sorted(set(notice.recipients))
        result = conn.execute(
            insert(notify_outbox).values(
                event=notice.event,
                problem_id=notice.problem_id,
                tracking_no=notice.tracking_no,
                unit_code=notice.unit_code,
                recipients=json.dumps(recipients, ensure_ascii=False),
                phone=notice.phone,
                message=notice.message,
                extra=json.dumps(notice.extra, ensure_ascii=False) if notice.extra else None,
                dedupe_key=notice.dedupe,
                created_at=at,
            )
        )
        outbox_id = result.inserted_primary_key[0]  # type: ignore[index]
        if recipients:
            conn.execute(
                insert(notify_inbox),
                [{"username": u, "outbox_id": outbox_id, "created_at": at} for u in recipients],
            )
        ids.append(int(outbox_id))
    return ids
