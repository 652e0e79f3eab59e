"""The words of a problem's life: its statuses, actions and sources, and when it is overdue."""

from __future__ import annotations

import datetime as dt

from gridmap.model import REPORT_SOURCES

STATUS_LABELS: dict[str, str] = {
    "reported": "已上报",
    "accepted": "已立案",
    "dispatched": "已派遣（交办）",
    "rectified": "已整改",
    "verified": "已核查",
    "closed": "已结案",
    "rejected": "不予立案",
}
STATUS_COLORS: dict[str, str] = {
    "reported": "#e53935",
    "accepted": "#fb8c00",
    "dispatched": "#fdd835",
    "rectified": "#1e88e5",
    "verified": "#8e24aa",
    "closed": "#43a047",
    "rejected": "#9e9e9e",
}
ACTION_LABELS: dict[str, str] = {
    "report": "上报",
    "support": "附议（他人也反映）",
    "accept": "立案",
    "reject": "不予立案",
    "dispatch": "派遣（交办）",
    "rectify": "整改反馈",
    "verify": "核查通过",
    "rework": "返工",
    "extend": "延期",
    "close": "结案",
}
SOURCES = REPORT_SOURCES  # where a problem report came from (shared with Open311 api keys)
# Statuses in which the problem waits on somebody; "closed" and "rejected" are final.
OPEN_STATUSES = ("reported", "accepted", "dispatched", "rectified", "verified")
# Statuses in which the deadline runs: the unit has not yet fixed it.
PENDING_STATUSES = ("reported", "accepted", "dispatched")


def is_overdue(status: str, deadline: dt.datetime | None, now: dt.datetime) -> bool:
    """Past its deadline and not yet fixed (naive UTC datetimes)."""
    return deadline is not None and status in PENDING_STATUSES and deadline < now
