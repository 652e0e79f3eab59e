"""Users, roles, password hashes, API bearer tokens, Open311 keys, and who may do what."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gridmap.accounts import repository
from gridmap.accounts.repository import Limit, StoredUser, minutes_text
from gridmap.clock import china, to_db
from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests, Unauthorized
from gridmap.model import REPORT_SOURCES
from gridmap.passwords import check_password, hash_password
from gridmap.store import Store

ROLES: dict[str, str] = {
    "office": "创建办（管理员）",
    "leader": "包片领导",
    "unit": "责任单位",
    "inspector": "巡查员",
}
MIN_PASSWORD = 8
MAX_USERNAME = 64
TOKEN_PREFIX = "gm_"
MAX_LIFETIME_DAYS = 3650
PRUNE_SESSIONS_EVERY = 50  # 1 in N new sessions also forgets the sessions that ran out


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
        return {
            "username": self.username,
            "role": self.role,
            "role_label": self.role_label,
            "unit_code": self.unit_code,
            "leader_code": self.leader_code,
        }


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _user(row: StoredUser) -> User:
    return User(
        id=row.id,
        username=row.username,
        role=row.role,
        unit_code=row.unit_code,
        leader_code=row.leader_code,
        active=row.active,
    )


def _lifetime(days: float | str, *, what: str) -> dt.timedelta:
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
    return china(moment).strftime("%Y-%m-%d %H:%M")


def add_user(
    store: Store,
    *,
    username: str,
    role: str,
    password: str,
    unit_code: str | None = None,
    leader_code: str | None = None,
    now: dt.datetime | None = None,
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
        codes = repository.reference_codes(store, "units")
        if codes is not None and unit_code not in codes:
            msg = f"单位代码“{unit_code}”不在已导入的责任单位表中"
            raise InvalidInput(msg)
    if role == "leader":
        if not leader_code:
            msg = "包片领导用户需要 --leader 领导编号"
            raise InvalidInput(msg)
        codes = repository.reference_codes(store, "leaders")
        if codes is not None and leader_code not in codes:
            msg = f"领导编号“{leader_code}”不在已导入的县级领导表中"
            raise InvalidInput(msg)
    unit = unit_code if role == "unit" else None
    leader = leader_code if role == "leader" else None
    new_id = repository.insert_user(
        store,
        username=username,
        role=role,
        unit_code=unit,
        leader_code=leader,
        password_hash=hash_password(password),
        created_at=to_db(now),
    )
    if new_id is None:
        msg = f"用户名“{username}”已存在"
        raise Conflict(msg)
    return User(id=new_id, username=username, role=role, unit_code=unit, leader_code=leader)


def _changed(done: tuple[int, int] | None, username: str) -> tuple[int, int]:
    if done is None:
        msg = f"用户“{username}”不存在；用 `gridmap user list` 查看已有用户"
        raise NotFound(msg)
    return done


def set_password(store: Store, *, username: str, password: str) -> None:
    """Replace a user's password; their sessions and tokens end with the old one."""
    if not password or len(password) < MIN_PASSWORD:
        msg = f"密码至少 {MIN_PASSWORD} 个字符"
        raise InvalidInput(msg)
    _changed(
        repository.change_user(store, username, password_hash=hash_password(password), end_access=True),
        username,
    )


def set_active(store: Store, *, username: str, active: bool) -> None:
    """Enable or disable a user; disabling ends their sessions and tokens at once."""
    _changed(repository.change_user(store, username, active=bool(active), end_access=not active), username)


def revoke(store: Store, *, username: str) -> tuple[int, int]:
    """End every session and token of a user (the password stays); return (sessions, tokens)."""
    return _changed(repository.change_user(store, username, end_access=True), username)


def get_user(store: Store, *, username: str | None = None, user_id: int | None = None) -> User | None:
    """An active user by name or id, or None."""
    row = repository.find_user(store, username=username, user_id=user_id)
    return _user(row) if row else None


def list_users(store: Store) -> list[User]:
    """Every user, disabled ones too, by name."""
    return [_user(r) for r in repository.all_users(store)]


def users_named(store: Store, names: Iterable[str]) -> dict[str, User]:
    """The users with these names by name, disabled ones too (to say who did something)."""
    return {r.username: _user(r) for r in repository.users_named(store, names)}


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
        row = repository.find_user(store, username=name)
    stored = row.password_hash if row is not None else _dummy_hash()
    matches = check_password(stored, password or "")
    if row is None or not password or not matches:
        msg = "用户名或密码错误"
        raise Unauthorized(msg)
    return _user(row)


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins allowed per user name and per client address within a window."""

    per_user: int
    per_address: int
    window: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> LoginLimits:
        """The limits GRIDMAP_LOGIN_MAX_FAILURES(_PER_ADDRESS) and GRIDMAP_LOGIN_WINDOW_MINUTES set."""
        return cls(
            per_user=int(settings["GRIDMAP_LOGIN_MAX_FAILURES"]),
            per_address=int(settings["GRIDMAP_LOGIN_MAX_FAILURES_PER_ADDRESS"]),
            window=dt.timedelta(minutes=float(settings["GRIDMAP_LOGIN_WINDOW_MINUTES"])),
        )

    def user(self) -> Limit:
        return Limit("login_user", self.per_user, self.window)

    def address(self) -> Limit:
        return Limit("login_addr", self.per_address, self.window)


def login(
    store: Store,
    *,
    username: str,
    password: str,
    address: str | None,
    rules: LoginLimits,
    now: dt.datetime | None = None,
) -> User:
    """authenticate() behind throttling: too many recent failures for this name or address → 429.

    While throttled the password is not even checked, so guessing on gets nowhere; the wait is
    the same for known and unknown names. A successful login clears the name's failures.
    """
    name = (username or "").strip()[: MAX_USERNAME + 1]
    address = address or "-"
    moment = to_db(now)
    user_wait, address_wait = repository.waits(
        store, [(rules.user(), name), (rules.address(), address)], now=moment
    )
    if user_wait or address_wait:
        minutes = rules.window.total_seconds() / 60
        if user_wait >= address_wait:
            msg = (
                f"登录失败次数过多：用户名“{name}”在 {minutes:g} 分钟内已输错 {rules.per_user} 次密码，"
                f"为防止密码被猜出，请{minutes_text(user_wait)}后再试。"
                "忘记密码请联系创建办（管理员）用 `gridmap user password 用户名` 重设"
            )
        else:
            msg = (
                f"登录失败次数过多：本机地址在 {minutes:g} 分钟内已输错 {rules.per_address} 次密码，"
                f"请{minutes_text(address_wait)}后再试"
            )
        raise TooManyRequests(msg, retry_after=max(user_wait, address_wait))
    try:
        user = authenticate(store, username=name, password=password)
    except Unauthorized:
        repository.record_hits(store, [(rules.user(), name), (rules.address(), address)], now=moment)
        raise
    repository.clear_hits(store, rules.user(), name)
    return user


# --- browser sessions -------------------------------------------------------------------
def start_session(store: Store, user: User, *, hours: float, now: dt.datetime | None = None) -> str:
    """A new session id for a logged-in user, live for ``hours`` (GRIDMAP_SESSION_HOURS).

    The id goes into the signed cookie; only its hash is stored.
    """
    sid = secrets.token_urlsafe(32)
    moment = to_db(now)
    repository.insert_session(
        store,
        sid_hash=_digest(sid),
        user_id=user.id,
        created_at=moment,
        expires_at=moment + dt.timedelta(hours=float(hours)),
        prune=secrets.randbelow(PRUNE_SESSIONS_EVERY) == 0,
    )
    return sid


def user_for_session(store: Store, sid: str | None, *, now: dt.datetime | None = None) -> User | None:
    """The active user of a live session, or None (ended, expired, disabled user)."""
    if not sid or not isinstance(sid, str):
        return None
    row = repository.session_user(store, _digest(sid), now=to_db(now))
    return _user(row) if row else None


def end_session(store: Store, sid: str | None) -> None:
    """Log one session out: its cookie no longer works, even if someone kept a copy."""
    if sid and isinstance(sid, str):
        repository.delete_session(store, _digest(sid))


# --- API tokens ---------------------------------------------------------------------------
def issue_token(store: Store, *, username: str, days: float, now: dt.datetime | None = None) -> str:
    """A new API bearer token for a user, valid for ``days`` (GRIDMAP_TOKEN_DAYS unless the office says).

    Only its hash is kept, so show it once.
    """
    lifetime = _lifetime(days, what="访问令牌")
    user = get_user(store, username=username)
    if user is None:
        msg = f"用户“{username}”不存在或已停用"
        raise NotFound(msg)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    moment = to_db(now)
    repository.insert_token(
        store, user_id=user.id, token_hash=_digest(token), created_at=moment, expires_at=moment + lifetime
    )
    return token


def user_for_token(store: Store, token: str, *, now: dt.datetime | None = None) -> User:
    """The user a bearer token belongs to; Unauthorized for an unknown, revoked or expired token."""
    if not token:
        msg = "缺少访问令牌"
        raise Unauthorized(msg)
    found = repository.token_user(store, _digest(token))
    if found is None:
        msg = "访问令牌无效或已停用；请用 `gridmap user token 用户名` 重新签发"
        raise Unauthorized(msg)
    row, expires_at = found
    if expires_at is not None and expires_at <= to_db(now):
        msg = f"访问令牌已于 {_expiry_text(expires_at)} 过期；请用 `gridmap user token 用户名` 重新签发"
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
    code = str(source or "").strip()
    if code not in REPORT_SOURCES:
        msg = f"来源应为 {'、'.join(f'{k}（{v}）' for k, v in REPORT_SOURCES.items())} 之一，实际为“{code}”"
        raise InvalidInput(msg)
    return code


def add_api_key(
    store: Store, *, name: str, days: float, source: str = "citizen", now: dt.datetime | None = None
) -> str:
    """A new Open311 api_key for a partner system, filing reports as ``source``, valid for ``days``
    (GRIDMAP_APIKEY_DAYS unless the office says); only its hash is kept."""
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
    moment = to_db(now)
    if not repository.insert_api_key(
        store, name=name, key_hash=_digest(key), source=code, created_at=moment, expires_at=moment + lifetime
    ):
        msg = f"名为“{name}”的 API 密钥已存在；要换新密钥请先 `gridmap apikey revoke {name}`"
        raise Conflict(msg)
    return key


def api_key(store: Store, key: str | None, *, now: dt.datetime | None = None) -> ApiKey:
    """The partner an Open311 api_key belongs to; Forbidden for a missing, unknown or expired key."""
    if not key:
        msg = "缺少 api_key：提交问题需要 API 密钥（由管理员用 `gridmap apikey add 名称` 签发）"
        raise Forbidden(msg)
    digest = _digest(key)
    for row in repository.all_api_keys(store):
        if hmac.compare_digest(row.key_hash, digest):
            if row.expires_at is not None and row.expires_at <= to_db(now):
                msg = f"api_key（{row.name}）已于 {_expiry_text(row.expires_at)} 过期；请联系管理员重新签发"
                raise Forbidden(msg)
            return ApiKey(name=row.name, source=row.source, expires_at=row.expires_at)
    msg = "api_key 无效或已吊销"
    raise Forbidden(msg)


def check_api_key(store: Store, key: str | None) -> str:
    """The name of the partner an Open311 api_key belongs to; Forbidden otherwise."""
    return api_key(store, key).name


def revoke_api_key(store: Store, *, name: str) -> None:
    """Withdraw a partner's api_key at once."""
    if not repository.delete_api_key(store, (name or "").strip()):
        msg = f"没有名为“{name}”的 API 密钥；用 `gridmap apikey list` 查看"
        raise NotFound(msg)


def list_api_keys(store: Store) -> list[ApiKey]:
    """Every partner's key (name, source, expiry), by name; the keys themselves are not kept."""
    return [
        ApiKey(name=r.name, source=r.source, expires_at=r.expires_at) for r in repository.all_api_keys(store)
    ]


def expiry_text(moment: dt.datetime | None) -> str:
    """An expiry as China local time, for messages and listings."""
    return _expiry_text(moment)


# --- who may do what -----------------------------------------------------------------


def may_see_personal_data(user: User | None) -> bool:
    """Reporters' names and phones are for the campaign office only."""
    return user is not None and user.role == "office"
