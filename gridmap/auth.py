"""Users, roles, password hashes, API bearer tokens, Open311 keys, and who may do what."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from gridmap.accounts import repository as limits
from gridmap.accounts.schema import api_tokens, open311_keys, user_sessions, users
from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests, Unauthorized
from gridmap.passwords import check_password, hash_password
from gridmap.store import Store, reference_tables

ROLES: dict[str, str] = {
    "office": "创建办（管理员）",
    "leader": "包片领导",
    "unit": "责任单位",
    "inspector": "巡查员",
}
MIN_PASSWORD = 8
MAX_USERNAME = 64
TOKEN_PREFIX = "gm_"
TOKEN_DAYS = 90  # defaults; the settings GRIDMAP_TOKEN_DAYS / GRIDMAP_APIKEY_DAYS override them
APIKEY_DAYS = 365
SESSION_HOURS = 24.0
MAX_LIFETIME_DAYS = 3650


@dataclass(frozen=True)
class User:
    """A logged-in person: their role and, for units and leaders, whom they stand for."""

    id: int
    username: str
    role: str
    unit_code: str | None = None
    leader_code: str | None = None
    active: bool = True

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    def as_dict(self) -> dict:
        return {"username": self.username, "role": self.role, "role_label": self.role_label,
                "unit_code": self.unit_code, "leader_code": self.leader_code}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _user(row) -> User:
    return User(id=row.id, username=row.username, role=row.role, unit_code=row.unit_code,
                leader_code=row.leader_code, active=bool(row.active))


def _lifetime(days: object, *, what: str) -> dt.timedelta:
    try:
        number = float(days)
    except (TypeError, ValueError):
        number = float("nan")
    if not 0 < number <= MAX_LIFETIME_DAYS:
        msg = f"{what}有效期应为 1 到 {MAX_LIFETIME_DAYS} 天，实际为“{days}”"
        raise InvalidInput(msg)
    return dt.timedelta(days=number)


def _expiry_text(moment: dt.datetime | None) -> str:
    if moment is None:
        return "长期"
    from zoneinfo import ZoneInfo

    local = moment.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo("Asia/Shanghai"))
    return local.strftime("%Y-%m-%d %H:%M")


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
        "password_hash": hash_password(password),
        "active": True,
        "created_at": limits.utcnow(),
    }
    try:
        with store.engine.begin() as conn:
            new_id = conn.execute(insert(users).values(**values)).inserted_primary_key[0]
    except IntegrityError:
        msg = f"用户名“{username}”已存在"
        raise Conflict(msg) from None
    return User(id=new_id, username=username, role=role, unit_code=values["unit_code"],
                leader_code=values["leader_code"])


def _user_id(conn, username: str) -> int:
    found = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
    if found is None:
        msg = f"用户“{username}”不存在；用 `gridmap user list` 查看已有用户"
        raise NotFound(msg)
    return int(found)


def _end_all(conn, user_id: int) -> tuple[int, int]:
    """Delete every session and token of a user; return how many of each."""
    sessions = conn.execute(delete(user_sessions).where(user_sessions.c.user_id == user_id)).rowcount
    tokens = conn.execute(delete(api_tokens).where(api_tokens.c.user_id == user_id)).rowcount
    return sessions, tokens


def set_password(store: Store, *, username: str, password: str) -> None:
    """Replace a user's password; their sessions and tokens end with the old one."""
    if not password or len(password) < MIN_PASSWORD:
        msg = f"密码至少 {MIN_PASSWORD} 个字符"
        raise InvalidInput(msg)
    with store.engine.begin() as conn:
        user_id = _user_id(conn, username)
        conn.execute(update(users).where(users.c.id == user_id)
                     .values(password_hash=hash_password(password)))
        _end_all(conn, user_id)


def set_active(store: Store, *, username: str, active: bool) -> None:
    """Enable or disable a user; disabling ends their sessions and tokens at once."""
    with store.engine.begin() as conn:
        user_id = _user_id(conn, username)
        conn.execute(update(users).where(users.c.id == user_id).values(active=bool(active)))
        if not active:
            _end_all(conn, user_id)


def revoke(store: Store, *, username: str) -> tuple[int, int]:
    """End every session and token of a user (the password stays); return (sessions, tokens)."""
    with store.engine.begin() as conn:
        return _end_all(conn, _user_id(conn, username))


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


@functools.cache
def _dummy_hash() -> str:
    """A hash made like real ones, checked for unknown names so they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(16))


def authenticate(store: Store, *, username: str, password: str) -> User:
    """The user with this name and password; Unauthorized otherwise (same message either way).

    An unknown or disabled name costs one password check too (against a dummy hash), so the
    answer time does not tell which names exist.
    """
    name = (username or "").strip()
    row = None
    if name and len(name) <= MAX_USERNAME:
        with store.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == name,
                                                   users.c.active.is_(True))).first()
    stored = row.password_hash if row is not None else _dummy_hash()
    matches = check_password(stored, password or "")
    if row is None or not password or not matches:
        msg = "用户名或密码错误"
        raise Unauthorized(msg)
    return _user(row)


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins allowed per user name and per client address within a window."""

    per_user: int = 10
    per_address: int = 50
    window: dt.timedelta = dt.timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "LoginLimits":
        return cls(
            per_user=int(settings.get("GRIDMAP_LOGIN_MAX_FAILURES", cls.per_user)),
            per_address=int(settings.get("GRIDMAP_LOGIN_MAX_FAILURES_PER_ADDRESS", cls.per_address)),
            window=dt.timedelta(minutes=float(settings.get("GRIDMAP_LOGIN_WINDOW_MINUTES", 15))),
        )

    def user(self) -> limits.Limit:
        return limits.Limit("login_user", self.per_user, self.window)

    def address(self) -> limits.Limit:
        return limits.Limit("login_addr", self.per_address, self.window)


def login(
    store: Store,
    *,
    username: str,
    password: str,
    address: str | None,
    rules: LoginLimits | None = None,
    now: dt.datetime | None = None,
) -> User:
    """authenticate() behind throttling: too many recent failures for this name or address → 429.

    While throttled the password is not even checked, so guessing on gets nowhere; the wait is
    the same for known and unknown names. A successful login clears the name's failures.
    """
    rules = rules or LoginLimits()
    name = (username or "").strip()[: MAX_USERNAME + 1]
    address = address or "-"
    moment = limits.naive_utc(now)
    with store.engine.connect() as conn:
        user_wait = limits.wait_seconds(conn, rules.user(), name, now=moment)
        address_wait = limits.wait_seconds(conn, rules.address(), address, now=moment)
    if user_wait or address_wait:
        minutes = rules.window.total_seconds() / 60
        if user_wait >= address_wait:
            msg = (f"登录失败次数过多：用户名“{name}”在 {minutes:g} 分钟内已输错 {rules.per_user} 次密码，"
                   f"为防止密码被猜出，请{limits.minutes_text(user_wait)}后再试。"
                   "忘记密码请联系创建办（管理员）用 `gridmap user password 用户名` 重设")
        else:
            msg = (f"登录失败次数过多：本机地址在 {minutes:g} 分钟内已输错 {rules.per_address} 次密码，"
                   f"请{limits.minutes_text(address_wait)}后再试")
        raise TooManyRequests(msg, retry_after=max(user_wait, address_wait))
    try:
        user = authenticate(store, username=name, password=password)
    except Unauthorized:
        with store.engine.begin() as conn:
            limits.record(conn, rules.user(), name, now=moment)
            limits.record(conn, rules.address(), address, now=moment)
        raise
    with store.engine.begin() as conn:
        limits.clear(conn, rules.user(), name)
    return user


# --- browser sessions -------------------------------------------------------------------
def start_session(store: Store, user: User, *, hours: float = SESSION_HOURS,
                  now: dt.datetime | None = None) -> str:
    """A new session id for a logged-in user (kept in the signed cookie; only its hash here)."""
    sid = secrets.token_urlsafe(32)
    moment = limits.naive_utc(now)
    with store.engine.begin() as conn:
        conn.execute(insert(user_sessions).values(
            sid_hash=_digest(sid), user_id=user.id, created_at=moment,
            expires_at=moment + dt.timedelta(hours=float(hours))))
        # now and then forget sessions that ran out
        if secrets.randbelow(50) == 0:
            conn.execute(delete(user_sessions).where(user_sessions.c.expires_at <= moment))
    return sid


def user_for_session(store: Store, sid: str | None, *, now: dt.datetime | None = None) -> User | None:
    """The active user of a live session, or None (ended, expired, disabled user)."""
    if not sid or not isinstance(sid, str):
        return None
    with store.engine.connect() as conn:
        row = conn.execute(
            select(users).join(user_sessions, user_sessions.c.user_id == users.c.id)
            .where(user_sessions.c.sid_hash == _digest(sid), user_sessions.c.expires_at > limits.naive_utc(now),
                   users.c.active.is_(True))
        ).first()
    return _user(row) if row else None


def end_session(store: Store, sid: str | None) -> None:
    """Log one session out: its cookie no longer works, even if someone kept a copy."""
    if sid and isinstance(sid, str):
        with store.engine.begin() as conn:
            conn.execute(delete(user_sessions).where(user_sessions.c.sid_hash == _digest(sid)))


# --- API tokens ---------------------------------------------------------------------------
def issue_token(store: Store, *, username: str, days: float = TOKEN_DAYS,
                now: dt.datetime | None = None) -> str:
    """A new API bearer token for a user, valid for ``days``; only its hash is kept, so show it once."""
    lifetime = _lifetime(days, what="访问令牌")
    user = get_user(store, username=username)
    if user is None:
        msg = f"用户“{username}”不存在或已停用"
        raise NotFound(msg)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    moment = limits.naive_utc(now)
    with store.engine.begin() as conn:
        conn.execute(insert(api_tokens).values(user_id=user.id, token_hash=_digest(token),
                                               created_at=moment, expires_at=moment + lifetime))
    return token


def user_for_token(store: Store, token: str, *, now: dt.datetime | None = None) -> User:
    """The user a bearer token belongs to; Unauthorized for an unknown, revoked or expired token."""
    if not token:
        msg = "缺少访问令牌"
        raise Unauthorized(msg)
    with store.engine.connect() as conn:
        row = conn.execute(
            select(users, api_tokens.c.expires_at.label("token_expires_at"))
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(api_tokens.c.token_hash == _digest(token), users.c.active.is_(True))
        ).first()
    if row is None:
        msg = "访问令牌无效或已停用；请用 `gridmap user token 用户名` 重新签发"
        raise Unauthorized(msg)
    if row.token_expires_at is not None and row.token_expires_at <= limits.naive_utc(now):
        msg = (f"访问令牌已于 {_expiry_text(row.token_expires_at)} 过期；"
               "请用 `gridmap user token 用户名` 重新签发")
        raise Unauthorized(msg)
    return _user(row)


# --- Open311 api keys ---------------------------------------------------------------------
@dataclass(frozen=True)
class ApiKey:
    """A partner system's Open311 key: its name, the source its reports are filed as, expiry."""

    name: str
    source: str
    expires_at: dt.datetime | None = None


def _check_source(source: object) -> str:
    from gridmap.problems.states import SOURCES

    code = str(source or "").strip()
    if code not in SOURCES:
        msg = f"来源应为 {'、'.join(f'{k}（{v}）' for k, v in SOURCES.items())} 之一，实际为“{code}”"
        raise InvalidInput(msg)
    return code


def add_api_key(store: Store, *, name: str, source: str = "citizen", days: float = APIKEY_DAYS,
                now: dt.datetime | None = None) -> str:
    """A new Open311 api_key for a partner system, filing reports as ``source``; only its hash is kept."""
    name = (name or "").strip()
    if not name:
        msg = "API 密钥名称不能为空"
        raise InvalidInput(msg)
    if len(name) > 100:
        msg = "API 密钥名称不超过 100 个字符"
        raise InvalidInput(msg)
    code = _check_source(source)
    lifetime = _lifetime(days, what="API 密钥")
    key = secrets.token_urlsafe(24)
    moment = limits.naive_utc(now)
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(open311_keys).values(name=name, key_hash=_digest(key), created_at=moment,
                                                     source=code, expires_at=moment + lifetime))
    except IntegrityError:
        msg = f"名为“{name}”的 API 密钥已存在；要换新密钥请先 `gridmap apikey revoke {name}`"
        raise Conflict(msg) from None
    return key


def api_key(store: Store, key: str | None, *, now: dt.datetime | None = None) -> ApiKey:
    """The partner an Open311 api_key belongs to; Forbidden for a missing, unknown or expired key."""
    if not key:
        msg = "缺少 api_key：提交问题需要 API 密钥（由管理员用 `gridmap apikey add 名称` 签发）"
        raise Forbidden(msg)
    with store.engine.connect() as conn:
        rows = conn.execute(select(open311_keys.c.name, open311_keys.c.key_hash, open311_keys.c.source,
                                   open311_keys.c.expires_at)).all()
    digest = _digest(key)
    for row in rows:
        if hmac.compare_digest(row.key_hash, digest):
            if row.expires_at is not None and row.expires_at <= limits.naive_utc(now):
                msg = (f"api_key（{row.name}）已于 {_expiry_text(row.expires_at)} 过期；"
                       "请联系管理员重新签发")
                raise Forbidden(msg)
            return ApiKey(name=row.name, source=row.source or "citizen", expires_at=row.expires_at)
    msg = "api_key 无效或已吊销"
    raise Forbidden(msg)


def check_api_key(store: Store, key: str | None) -> str:
    """The name of the partner an Open311 api_key belongs to; Forbidden otherwise."""
    return api_key(store, key).name


def revoke_api_key(store: Store, *, name: str) -> None:
    """Withdraw a partner's api_key at once."""
    with store.engine.begin() as conn:
        done = conn.execute(delete(open311_keys).where(open311_keys.c.name == (name or "").strip())).rowcount
    if not done:
        msg = f"没有名为“{name}”的 API 密钥；用 `gridmap apikey list` 查看"
        raise NotFound(msg)


def list_api_keys(store: Store) -> list[ApiKey]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(open311_keys).order_by(open311_keys.c.name)).all()
    return [ApiKey(name=r.name, source=r.source or "citizen", expires_at=r.expires_at) for r in rows]


def expiry_text(moment: dt.datetime | None) -> str:
    """An expiry as China local time, for messages and listings."""
    return _expiry_text(moment)


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
