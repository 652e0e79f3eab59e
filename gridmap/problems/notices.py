"""Who hears of a workflow action and what they are told: the notices an action puts in the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from gridmap.notify.notice import Notice
from gridmap.problems.context import ProblemContext


def for_action(
    ctx: ProblemContext,
    row: object,
    *,
    event: Mapping[str, object],
    changes: Mapping[str, object],
    now: dt.datetime,
) -> list[Notice]:
    """The notices one action on a problem (its stored row before, its event and changes) causes.

    Written in the same transaction as the event (see repository.apply_action).
    """
    del ctx, row, event, changes, now
    return []
