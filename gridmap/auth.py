"""Users, roles, password hashes, API bearer tokens, Open311 keys, and who may do what."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from gridmap.problems.schema import api_tokens, open311_keys, users
from gridmap.store import Store, reference_tables

ROLES: dict[str, str] = {
    "office": "创建办（管理员）",
    "leader": "包片领导",
    "unit": "责任单位",
    "inspector": "巡查员",
}
MIN_PASSWORD = 8
TOKEN_PREFIX = "gm_"


@dataclass(frozen=True)
class User:
    """A logged-in person: their role and, for units and leaders, whom they stand for."""

    id: int
    username: str
    role: str
    unit_code: str | None = None
    leader_code: str | None = None

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    def as_dict(self) -> dict:
        return {"username": self.username, "role": self.role, "role_label": self.role_label,
                "unit_code": self.unit_code, "leader_code": self.leader_code}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _user(row) -> User:
    return User(id=row.id, username=row.username, role=row.role, unit_code=row.unit_code,
                leader_code=row.leader_code)


def _reference_codes(store: Store, table: str) -> set[str] | None:
    """Codes of a reference table, or None when no reference data is loaded yet."""
    t = reference_tables[table]
    with store.engine.connect() as conn:
        codes = {r[0] for r in conn.execute(select(t.c.code))}
    return codes or None


def add_user(
    store: Store,
    *,
    username: str,
    role: str,
    password: str,
    unit_code: str | None = None,
    leader_code: str | None = None,
) -> User:
    """Create a user; units need a unit code, leaders a leader code, passwords ≥ 8 characters."""
    username = (username or "").strip()
    if not username or len(username) > 64:
        msg = "用户名不能为空，且不超过 64 个字符"
        raise InvalidInput(msg)
    if role not in ROLES:
        msg = f"角色“{role}”无效；可用角色：{'、'.join(f'{k}（{v}）' for k, v in ROLES.items())}"
        raise InvalidInput(msg)
    if not password or len(password) < MIN_PASSWORD:
        msg = f"密码至少 {MIN_PASSWORD} 个字符（系统没有默认密码，请为每个用户设置自己的密码）"
        raise InvalidInput(msg)
    if role == "unit":
        if not unit_code:
            msg = "责任单位用户需要 --unit 单位代码"
            raise InvalidInput(msg)
        codes = _reference_codes(store, "units")
        if codes is not None and unit_code not in codes:
            msg = f"单位代码“{unit_code}”不在已导入的责任单位表中"
            raise InvalidInput(msg)
    if role == "leader":
        if not leader_code:
            msg = "包片领导用户需要 --leader 领导编号"
            raise InvalidInput(msg)
        codes = _reference_codes(store, "leaders")
        if codes is not None and leader_code not in codes:
            msg = f"领导编号“{leader_code}”不在已导入的县级领导表中"
            raise InvalidInput(msg)
    values = {
        "username": username,
        "role": role,
        "unit_code": unit_code if role == "unit" else None,
        "leader_code": leader_code if role == "leader" else None,
        "password_hash": generate_password_hash(password),
        "active": True,
        "created_at": _utcnow(),
    }
    try:
        with store.engine.begin() as conn:
            new_id = conn.execute(insert(users).values(**values)).inserted_primary_key[0]
    except IntegrityError:
        msg = f"用户名“{username}”已存在"
        raise Conflict(msg) from None
    return User(id=new_id, username=username, role=role, unit_code=values["unit_code"],
                leader_code=values["leader_code"])


def set_password(store: Store, *, username: str, password: str) -> None:
    """Replace a user's password."""
    if not password or len(password) < MIN_PASSWORD:
        msg = f"密码至少 {MIN_PASSWORD} 个字符"
        raise InvalidInput(msg)
    with store.engine.begin() as conn:
        done = conn.execute(
            update(users).where(users.c.username == username)
            .values(password_hash=generate_password_hash(password))
        ).rowcount
    if not done:
        msg = f"用户“{username}”不存在"
        raise NotFound(msg)


def get_user(store: Store, *, username: str | None = None, user_id: int | None = None) -> User | None:
    """An active user by name or id, or None."""
    query = select(users).where(users.c.active.is_(True))
    query = query.where(users.c.username == username) if username is not None else query.where(
        users.c.id == user_id
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    return _user(row) if row else None


def list_users(store: Store) -> list[User]:
    with store.engine.connect() as conn:
        return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def authenticate(store: Store, *, username: str, password: str) -> User:
    """The user with this name and password; Unauthorized otherwise (same message either way)."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(users).where(users.c.username == (username or "").strip(),
                                users.c.active.is_(True))
        ).first()
    if row is None or not password or not check_password_hash(row.password_hash, password):
        msg = "用户名或密码错误"
        raise Unauthorized(msg)
    return _user(row)


def issue_token(store: Store, *, username: str) -> str:
    """A new API bearer token for a user; only its hash is kept, so show it once."""
    user = get_user(store, username=username)
    if user is None:
        msg = f"用户“{username}”不存在"
        raise NotFound(msg)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        conn.execute(insert(api_tokens).values(user_id=user.id, token_hash=_digest(token),
                                               created_at=_utcnow()))
    return token


def user_for_token(store: Store, token: str) -> User:
    """The user a bearer token belongs to; Unauthorized for an unknown token."""
    if not token:
        msg = "缺少访问令牌"
        raise Unauthorized(msg)
    with store.engine.connect() as conn:
        row = conn.execute(
            select(users).join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(api_tokens.c.token_hash == _digest(token), users.c.active.is_(True))
        ).first()
    if row is None:
        msg = "访问令牌无效或已停用；请用 `gridmap user token 用户名` 重新签发"
        raise Unauthorized(msg)
    return _user(row)


def add_api_key(store: Store, *, name: str) -> str:
    """A new Open311 api_key for a partner system; only its hash is kept."""
    name = (name or "").strip()
    if not name:
        msg = "API 密钥名称不能为空"
        raise InvalidInput(msg)
    key = secrets.token_urlsafe(24)
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(open311_keys).values(name=name, key_hash=_digest(key),
                                                     created_at=_utcnow()))
    except IntegrityError:
        msg = f"名为“{name}”的 API 密钥已存在"
        raise Conflict(msg) from None
    return key


def check_api_key(store: Store, key: str | None) -> str:
    """The name of the partner an Open311 api_key belongs to; Forbidden otherwise."""
    if not key:
        msg = "缺少 api_key：提交问题需要 API 密钥（由管理员用 `gridmap apikey add 名称` 签发）"
        raise Forbidden(msg)
    with store.engine.connect() as conn:
        names = conn.execute(select(open311_keys.c.name, open311_keys.c.key_hash)).all()
    digest = _digest(key)
    for name, key_hash in names:
        if hmac.compare_digest(key_hash, digest):
            return name
    msg = "api_key 无效"
    raise Forbidden(msg)


# --- who may do what -----------------------------------------------------------------

# action -> roles allowed to take it (ownership is checked separately for units).
ACTION_ROLES: dict[str, frozenset[str]] = {
    "accept": frozenset({"office"}),
    "reject": frozenset({"office"}),
    "dispatch": frozenset({"office"}),
    "rectify": frozenset({"unit", "office"}),
    "verify": frozenset({"inspector", "office"}),
    "rework": frozenset({"inspector", "office"}),
    "extend": frozenset({"office"}),
    "close": frozenset({"inspector", "office"}),
}


def require_action(user: User | None, action: str, *, unit_code: str | None) -> None:
    """Raise Unauthorized/Forbidden unless this user may take this action on that problem."""
    if user is None:
        msg = "请先登录"
        raise Unauthorized(msg)
    allowed = ACTION_ROLES.get(action, frozenset())
    if user.role not in allowed:
        labels = "、".join(ROLES[r] for r in sorted(allowed)) or "任何人"
        msg = f"{user.role_label}不能执行“{action}”操作（只有{labels}可以）"
        raise Forbidden(msg)
    if user.role == "unit" and user.unit_code != unit_code:
        msg = "这个问题不是交给本单位的，只能处理本单位的问题"
        raise Forbidden(msg)


def may_see_personal_data(user: User | None) -> bool:
    """Reporters' names and phones are for the campaign office only."""
    return user is not None and user.role == "office"
