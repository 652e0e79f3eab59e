"""What one notification says and to whom: the plain value the features hand to the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Notice:
    """One notice about one event, for some users (by username) and perhaps a citizen's phone.

    ``event`` is a machine name (dispatched, due_soon, overdue, escalated, returned, parked,
    extension, urged, closed, followup_due, digest, …); ``message`` is the Chinese text people
    read. ``dedupe`` makes a notice produced by a periodic scan idempotent: a second notice with
    the same key is dropped.
    """

    event: str
    message: str
    recipients: tuple[str, ...] = ()
    problem_id: int | None = None
    tracking_no: str | None = None
    unit_code: str | None = None
    phone: str | None = None  # a citizen's phone (SMS through the webhook); never shown in the inbox
    dedupe: str | None = None
    extra: dict = field(default_factory=dict)
