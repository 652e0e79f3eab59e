"""The words of a problem's life: its statuses, actions and sources, and when it is overdue."""

from __future__ import annotations

import datetime as dt

from gridmap.model import REPORT_SOURCES

STATUS_LABELS: dict[str, str] = {
    "reported": "已上报",
    "verifying": "核实中",
    "accepted": "已立案",
    "dispatched": "已派遣（交办）",
    "returned": "已回退",
    "parked": "已挂账",
    "rectified": "已整改",
    "verified": "已核查",
    "closed": "已结案",
    "rejected": "不予立案",
    "merged": "已合并",
}
STATUS_COLORS: dict[str, str] = {
    "reported": "#e53935",
    "verifying": "#d81b60",
    "accepted": "#fb8c00",
    "dispatched": "#fdd835",
    "returned": "#6d4c41",
    "parked": "#546e7a",
    "rectified": "#1e88e5",
    "verified": "#8e24aa",
    "closed": "#43a047",
    "rejected": "#9e9e9e",
    "merged": "#78909c",
}
ACTION_LABELS: dict[str, str] = {
    "report": "上报",
    "support": "附议（他人也反映）",
    "send_verify": "派核实",
    "confirm": "核实属实",
    "refute": "核实不实",
    "accept": "立案",
    "reject": "不予立案",
    "dispatch": "派遣（交办）",
    "return": "回退",
    "rectify": "整改反馈",
    "verify": "核查通过",
    "rework": "返工",
    "extend": "延期",
    "request_extension": "申请延期",
    "request_park": "申请挂账",
    "approve": "批准申请",
    "refuse": "驳回申请",
    "park": "挂账",
    "unpark": "恢复办理",
    "set_urgency": "调整紧急程度",
    "urge": "催办",
    "merge": "合并",
    "followup": "回访",
    "reopen": "重新打开",
    "close": "结案",
}
URGENCY_LABELS: dict[str, str] = {"normal": "一般", "urgent": "紧急"}
REQUEST_KINDS: dict[str, str] = {"extend": "延期", "park": "挂账"}
REQUEST_STATUS_LABELS: dict[str, str] = {
    "pending": "待审批",
    "approved": "已批准",
    "refused": "已驳回",
    "withdrawn": "已撤回",
}
SOURCES = REPORT_SOURCES  # where a problem report came from (shared with Open311 api keys)
# Statuses after which nothing happens any more.
FINAL_STATUSES = ("closed", "rejected", "merged")
# Statuses in which the problem waits on somebody.
OPEN_STATUSES = (
    "reported",
    "verifying",
    "accepted",
    "dispatched",
    "returned",
    "parked",
    "rectified",
    "verified",
)
# Statuses in which the deadline runs: the problem is not yet fixed. A parked case is not pending:
# it is never overdue and leaves the on-time counts until it is resumed.
PENDING_STATUSES = ("reported", "verifying", "accepted", "dispatched", "returned")


def is_overdue(status: str, deadline: dt.datetime | None, now: dt.datetime) -> bool:
    """Past its deadline and not yet fixed (naive UTC datetimes); a parked case never is."""
    return deadline is not None and status in PENDING_STATUSES and deadline < now


def verified_on_time(verify_deadline: dt.datetime | None, at: dt.datetime | None) -> bool | None:
    """Whether a verification (核实) answered at ``at`` met its ``verify_deadline`` (naive UTC);
    None when the case was never sent to verify or has no answer yet."""
    if verify_deadline is None or at is None:
        return None
    return at <= verify_deadline
