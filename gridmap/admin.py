"""The office's user chores in the browser: users with bindings and last logins; create, reset, disable."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field

from gridmap import auth
from gridmap.accounts import repository
from gridmap.clock import china
from gridmap.errors import GridmapError, InvalidInput, NotFound
from gridmap.reference import ReferenceCache
from gridmap.store import Store

# What each role is bound to, in words, and the form field that carries the code.
BINDINGS: dict[str, str] = {"unit": "责任单位", "leader": "包片领导", "inspector": "巡查员"}
GENERATED_PASSWORD_BYTES = 9  # token_urlsafe(9): 12 characters


@dataclass(frozen=True)
class Account:
    """One row of the users page."""

    username: str
    role: str
    role_label: str
    binding: str | None  # code of the unit, leader or inspector the user stands for
    binding_label: str  # "责任单位 县住建局（U1）", or "—"
    active: bool
    last_login: str | None  # China time, "2026-11-30 20:19"; None when not known
    email: str | None = None  # where email notices go (the office's page only)
    phone: str | None = None  # where SMS notices go, through the webhook

    def as_dict(self) -> dict:
        return {
            "email": self.email,
            "phone": self.phone,
            "username": self.username,
            "role": self.role,
            "role_label": self.role_label,
            "binding": self.binding,
            "binding_label": self.binding_label,
            "active": self.active,
            "last_login": self.last_login,
        }


@dataclass(frozen=True)
class Choices:
    """(code, name) of every unit, leader and inspector a new user may be bound to."""

    units: list[tuple[str, str]] = field(default_factory=list)
    leaders: list[tuple[str, str]] = field(default_factory=list)
    inspectors: list[tuple[str, str]] = field(default_factory=list)

    def name(self, kind: str, code: str | None) -> str | None:
        """The name of a unit, leader or inspector by code, or None."""
        return dict(getattr(self, f"{kind}s", [])).get(code or "")


@dataclass(frozen=True)
class Overview:
    """What the users page shows: every account and the bindings to choose from."""

    accounts: list[Account]
    choices: Choices

    def as_dict(self) -> dict:
        return {"users": [a.as_dict() for a in self.accounts], "roles": auth.ROLES}


def choices(reference: ReferenceCache) -> Choices:
    """The units, leaders and inspectors of the loaded responsibility table (empty before a load)."""
    try:
        model = reference.model()
    except GridmapError:
        return Choices()

    def pairs(table) -> list[tuple[str, str]]:
        return [(str(code), str(name)) for code, name in zip(table.index, table["name"])]

    return Choices(units=pairs(model.units), leaders=pairs(model.leaders), inspectors=pairs(model.inspectors))


def _binding(user: auth.User, found: Choices) -> tuple[str | None, str]:
    code = {"unit": user.unit_code, "leader": user.leader_code, "inspector": user.username}.get(user.role)
    if code is None:
        return None, "—"
    name = found.name(user.role, code)
    if user.role == "inspector" and name is None:
        return None, "—（用户名不是巡查员表中的编号）"
    return code, f"{BINDINGS[user.role]} {name or '（不在已导入的表中）'}（{code}）"


def overview(store: Store, reference: ReferenceCache) -> Overview:
    """Every user, disabled ones too, with what they are bound to and their last known login."""
    found = choices(reference)
    logins = repository.last_logins(store)
    contacts = repository.all_contacts(store)
    accounts = []
    for user in auth.list_users(store):
        code, label = _binding(user, found)
        login = logins.get(user.id)
        accounts.append(
            Account(
                username=user.username,
                role=user.role,
                role_label=user.role_label,
                binding=code,
                binding_label=label,
                active=user.active,
                last_login=None if login is None else china(login).strftime("%Y-%m-%d %H:%M"),
                email=contacts[user.username].email if user.username in contacts else None,
                phone=contacts[user.username].phone if user.username in contacts else None,
            )
        )
    return Overview(accounts, found)


@dataclass(frozen=True)
class Created:
    """A new user, and the password made for them when the office typed none (shown once)."""

    user: auth.User
    password: str | None


def _password(typed: object) -> tuple[str, str | None]:
    """The password to set and, when it was generated here, the same to show once."""
    text = str(typed or "")
    if text.strip():
        return text, None
    made = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    return made, made


def create_user(
    store: Store,
    reference: ReferenceCache,
    *,
    username: object,
    role: object,
    unit: object = None,
    leader: object = None,
    inspector: object = None,
    password: object = None,
    now: dt.datetime | None = None,
) -> Created:
    """Create a user from the users form: a unit user needs a unit, a leader user a leader; an inspector
    user may be bound to an inspector of the sheet, whose code is then its user name (patrol plans
    find their inspector by it). The office is bound to nothing. No password typed: one is made
    and returned to show once.
    """
    name = str(username or "").strip()
    kind = str(role or "").strip()
    if kind not in auth.ROLES:
        msg = "请选择角色（创建办、包片领导、责任单位或巡查员）"
        raise InvalidInput(msg)
    # the form carries a choice for every role; only the chosen role's counts
    code = str({"unit": unit, "leader": leader, "inspector": inspector}.get(kind) or "").strip() or None
    found = choices(reference)
    if kind in ("unit", "leader"):
        label = BINDINGS[kind]
        if code is None:
            msg = f"{auth.ROLES[kind]}用户要绑定{label}：请在“绑定”中选择一个{label}"
            raise InvalidInput(msg)
        if found.name(kind, code) is None and getattr(found, f"{kind}s"):
            msg = f"“{code}”不是已导入的{label}；请从“绑定”列表中选择"
            raise InvalidInput(msg)
    if kind == "inspector" and code is not None:
        if found.name("inspector", code) is None:
            msg = f"“{code}”不是巡查员表中的编号；请从“绑定”列表中选择，或不绑定"
            raise InvalidInput(msg)
        if name and name != code:
            msg = (
                f"绑定巡查员 {code} 的用户，用户名须为其编号“{code}”（巡查路线按编号找到本人）；"
                "请把用户名改为该编号或留空"
            )
            raise InvalidInput(msg)
        name = code
    if not name:
        msg = "请填写用户名（登录时使用，不超过 64 个字符）"
        raise InvalidInput(msg)
    chosen, shown = _password(password)
    user = auth.add_user(
        store,
        username=name,
        role=kind,
        password=chosen,
        unit_code=code if kind == "unit" else None,
        leader_code=code if kind == "leader" else None,
        now=now,
    )
    return Created(user, shown)


def reset_password(store: Store, *, username: object, password: object = None) -> str | None:
    """Give a user a new password (typed, or made here and returned to show once); their sessions end."""
    chosen, shown = _password(password)
    auth.set_password(store, username=str(username or "").strip(), password=chosen)
    return shown


def set_active(store: Store, *, username: object, active: bool, by: auth.User) -> None:
    """Disable (their sessions and tokens end at once) or enable a user; nobody disables themselves."""
    name = str(username or "").strip()
    if not active and name == by.username:
        msg = "不能停用自己正在使用的账号；请由另一位创建办用户操作"
        raise InvalidInput(msg)
    auth.set_active(store, username=name, active=active)


EMAIL = re.compile(
    r"[^@\s<>,;\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}")


def set_contact(store: Store, *, username: object, email: object = None, phone: object = None) -> None:
    """Set a user's email and phone for notices (blank clears one); formats are checked."""
    name = str(username or "").strip()
    mail = str(email or "").strip() or None
    if mail is not None and (len(mail) > 254 or not EMAIL.fullmatch(mail)):
        msg = f"“{name}”的电子邮箱“{mail[:60]}”格式不对：应形如 zhangsan@county.gov.cn；不需要邮件通知可留空"
        raise InvalidInput(msg)
    digits = str(phone or "").strip().replace(" ", "") or None
    if digits is not None and not PHONE.fullmatch(digits):
        msg = (
            f"“{name}”的手机号“{digits[:30]}”格式不对：应为 11 位手机号（如 13800000000）"
            "或带区号的座机（如 0917-4700001）；不需要短信通知可留空"
        )
        raise InvalidInput(msg)
    if not repository.set_contact(store, name, email=mail, phone=digits):
        msg = f"用户“{name}”不存在，请刷新用户列表后重试"
        raise NotFound(msg)
