"""Response templates (惯用语): the office's common notes per workflow action, seeded with a default set."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from gridmap.auth import User
from gridmap.clock import to_db, utcnow
from gridmap.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from gridmap.problems.states import ACTION_LABELS
from gridmap.store import Store
from gridmap.wording import repository

MAX_TEXT = 200  # characters in one template
MAX_PER_ACTION = 30

# The actions with a note, in the order the phrase page shows them, and the county's usual wording.
DEFAULTS: dict[str, tuple[str, ...]] = {
    "accept": ("经核实，问题属实，予以立案", "情况属实，请责任单位按时处置"),
    "reject": (
        "经核实，不属于城市管理问题，不予立案",
        "经现场核实，问题不存在",
        "重复上报，已有相同问题在办理中",
        "位置不在本县管辖范围内，请向属地反映",
        "描述不清且无法联系上报人核实，不予立案",
    ),
    "send_verify": ("请于规定时间内到现场核实问题是否存在", "请核实具体位置并拍照反馈"),
    "confirm": ("经现场核实，问题属实", "现场核实属实，已拍照留存"),
    "refute": ("经现场核实，问题不存在", "现场未发现所反映的问题", "问题已自行消除"),
    "dispatch": ("请按期限整改并上传整改照片", "请尽快处置，处置后及时反馈"),
    "return": (
        "经核查，该问题不属于本单位职责范围，请重新派遣",
        "该位置由其他单位负责管理，请重新派遣",
        "问题位置有误，请核实后重新派遣",
    ),
    "rectify": ("已按要求整改完毕，请核查", "已清理完毕，现场已恢复", "已修复，附整改照片"),
    "verify": ("经现场核查，已整改到位", "整改到位，同意结案"),
    "rework": ("整改不到位，请返工", "现场仍有残留，请彻底清理", "整改照片不清楚，请重新拍照反馈"),
    "extend": ("涉及施工，需延长整改期限", "需协调多个部门，延长整改期限"),
    "request_extension": ("需采购材料，申请延期", "受天气影响无法施工，申请延期"),
    "request_park": ("需列入年度计划和预算，申请挂账", "需待施工季节处置，申请挂账"),
    "approve": ("同意", "同意，请按新期限完成"),
    "refuse": ("理由不充分，请按原期限完成", "请先行采取临时措施，按期整改"),
    "park": ("已列入年度计划，挂账办理", "需等待施工季节，挂账办理"),
    "unpark": ("条件已具备，恢复办理",),
    "set_urgency": (
        "涉及安全隐患，按紧急件办理",
        "群众反映强烈，提高紧急程度",
        "已采取临时措施，按一般件办理",
    ),
    "urge": ("请尽快处置并反馈", "问题已逾期，请立即处置", "群众反映强烈，请优先办理"),
    "close": ("问题已解决，予以结案", "整改到位，群众满意，予以结案"),
    "merge": ("与已受理问题重复，合并办理",),
    "followup": ("电话回访，群众表示满意", "电话回访，群众反映问题仍未解决", "电话无人接听"),
}
ACTIONS: tuple[str, ...] = tuple(DEFAULTS)


@dataclass(frozen=True)
class Phrase:
    """One template: its id, the action it serves, its text and place in the list."""

    id: int
    action: str
    text: str
    position: int

    def as_dict(self) -> dict:
        return {"id": self.id, "action": self.action, "text": self.text, "position": self.position}


def action_label(action: str) -> str:
    """How an action is named on the phrase page."""
    return ACTION_LABELS.get(action, action)


def _require_office(user: User | None) -> User:
    if user is None:
        msg = "请先登录"
        raise Unauthorized(msg)
    if user.role != "office":
        msg = f"惯用语由创建办维护，{user.role_label}只能在处理问题时选用"
        raise Forbidden(msg)
    return user


def ensure_seeded(store: Store, *, now: dt.datetime | None = None) -> bool:
    """Write the default set once (on first use); whether it was written now."""
    stamp = to_db(now or utcnow())
    values = [
        {"action": action, "text": text, "position": i + 1, "updated_by": None, "updated_at": stamp}
        for action, texts in DEFAULTS.items()
        for i, text in enumerate(texts)
    ]
    return repository.seed(store, values, marker={"text": "", "position": 0, "updated_at": stamp})


def all_phrases(store: Store, *, now: dt.datetime | None = None) -> dict[str, list[Phrase]]:
    """Every action's templates in order (every known action present, maybe empty); seeds on first use."""
    ensure_seeded(store, now=now)
    out: dict[str, list[Phrase]] = {action: [] for action in ACTIONS}
    for r in repository.rows(store):
        out.setdefault(r.action, []).append(Phrase(r.id, r.action, r.text, r.position))
    return out


def picker(store: Store, *, now: dt.datetime | None = None) -> dict[str, list[str]]:
    """For the action forms: action -> its template texts (only actions that have some)."""
    return {a: [p.text for p in found] for a, found in all_phrases(store, now=now).items() if found}


def _clean_text(value: object) -> str:
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    text = "".join(ch for ch in text if ch in "\t" or unicodedata.category(ch)[0] != "C").strip()
    text = " ".join(text.split())
    if not text:
        msg = "惯用语内容 text 不能为空，请填写一句常用的处理意见，例如“经核实，不属于城市管理问题”"
        raise InvalidInput(msg)
    if len(text) > MAX_TEXT:
        msg = f"惯用语最多 {MAX_TEXT} 个字，现在有 {len(text)} 个字，请删减后再保存"
        raise InvalidInput(msg)
    return text


def _clean_action(value: object) -> str:
    action = str(value or "").strip()
    if action not in ACTIONS:
        names = "、".join(f"{a}（{action_label(a)}）" for a in ACTIONS)
        msg = f"操作 action 应为 {names} 之一，实际为“{action[:32]}”"
        raise InvalidInput(msg)
    return action


def _phrase_id(value: object) -> int:
    text = str(value or "").strip()
    if not text.isdigit():
        msg = f"惯用语编号 id 应为正整数，实际为“{text[:20]}”"
        raise InvalidInput(msg)
    return int(text)


def _found(store: Store, phrase_id: int):
    row = repository.find(store, phrase_id)
    if row is None:
        msg = f"惯用语 {phrase_id} 不存在（可能已被删除），请刷新页面"
        raise NotFound(msg)
    return row


def add_phrase(
    store: Store, *, user: User | None, action: object, text: object, now: dt.datetime | None = None
) -> Phrase:
    """The office adds a template at the end of an action's list."""
    who = _require_office(user)
    name, words = _clean_action(action), _clean_text(text)
    found = all_phrases(store, now=now)[name]
    if len(found) >= MAX_PER_ACTION:
        msg = (
            f"“{action_label(name)}”已有 {len(found)} 条惯用语（最多 {MAX_PER_ACTION} 条），请先删除不常用的"
        )
        raise InvalidInput(msg)
    if words in (p.text for p in found):
        msg = f"“{action_label(name)}”已有这条惯用语：“{words}”"
        raise InvalidInput(msg)
    values = {"action": name, "text": words, "updated_by": who.username, "updated_at": to_db(now or utcnow())}
    new_id = repository.add(store, values)
    row = _found(store, new_id)
    return Phrase(row.id, row.action, row.text, row.position)


def edit_phrase(
    store: Store, *, user: User | None, phrase_id: object, text: object, now: dt.datetime | None = None
) -> Phrase:
    """The office changes a template's text."""
    who = _require_office(user)
    pid, words = _phrase_id(phrase_id), _clean_text(text)
    row = _found(store, pid)
    repository.change(
        store, pid, {"text": words, "updated_by": who.username, "updated_at": to_db(now or utcnow())}
    )
    return Phrase(row.id, row.action, words, row.position)


def delete_phrase(store: Store, *, user: User | None, phrase_id: object) -> None:
    """The office deletes a template."""
    _require_office(user)
    pid = _phrase_id(phrase_id)
    if not repository.remove(store, pid):
        _found(store, pid)  # raises NotFound


def move_phrase(store: Store, *, user: User | None, phrase_id: object, direction: object) -> None:
    """The office moves a template one place up or down in its action's list."""
    _require_office(user)
    pid = _phrase_id(phrase_id)
    step = {"up": -1, "down": 1}.get(str(direction or "").strip())
    if step is None:
        msg = f"移动方向 direction 应为 up（上移）或 down（下移），实际为“{str(direction or '')[:10]}”"
        raise InvalidInput(msg)
    row = _found(store, pid)
    order = [p.id for p in all_phrases(store)[row.action]]
    at = order.index(pid)
    to = at + step
    if 0 <= to < len(order):
        order[at], order[to] = order[to], order[at]
        repository.reorder(store, {phrase_id: i + 1 for i, phrase_id in enumerate(order)})
