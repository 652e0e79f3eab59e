"""What one notification says and to whom: the plain value the features hand to the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Notice:
    """One notice about one event, for some users (by username) and perhaps a citizen's phone.

    ``event`` is a machine name (dispatched, due_soon, overdue, escalated, returned, parked,
    extension, urged, closed, followup_due, digest, …); ``message`` is the Chinese text people
    read. ``dedupe`` makes a notice produced by a periodic scan idempotent: a second notice with
    the same key is dropped. ``external=False`` keeps a notice in the app: no email, no webhook.
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
    external: bool = True  # False: the inbox only (a worker never plans deliveries for it)


# The events notices are about, with the words people read (email subjects, the inbox).
EVENT_LABELS: dict[str, str] = {
    "dispatched": "新交办",
    "returned": "回退",
    "extension_requested": "延期申请",
    "park_requested": "挂账申请",
    "request_decided": "申请结果",
    "urged": "催办",
    "closed": "已结案",
    "reworked": "返工",
    "reopened": "重新打开",
    "verify_assigned": "核实任务",
    "verified_report": "核实结果",
    "parked": "挂账",
    "unparked": "恢复办理",
    "urgency_changed": "紧急程度调整",
    "due_soon": "即将到期",
    "overdue": "已逾期",
    "escalated": "逾期升级",
    "followup_due": "待回访",
    "digest": "每日汇总",
    "reported": "新上报",
    "shop_assigned": "交办商户（门前五包）",
    "shop_supervise": "督促商户（门前五包）",
}


def event_label(event: str) -> str:
    """The Chinese name of an event (the machine name itself when unknown)."""
    return EVENT_LABELS.get(event, event)
