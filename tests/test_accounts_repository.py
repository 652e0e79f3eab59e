"""The accounts' data layer: its rows and times, and every account write queued behind the SQLite write lock."""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import threading

import pytest

from gridmap import auth
from gridmap.accounts import repository
from gridmap.auth import LoginLimits
from gridmap.clock import CHINA, fixed, to_db
from gridmap.errors import NotFound, Unauthorized
from gridmap.store import Store

PASSWORD = "secret-pass-1"
RULES = LoginLimits(per_user=10, per_address=50, window=dt.timedelta(minutes=15))


@pytest.fixture
def store(database_url):
    return Store(database_url)


def test_change_user_of_an_unknown_name_writes_nothing(store):
    auth.add_user(store, username="boss", role="office", password=PASSWORD)
    assert repository.change_user(store, "nobody", active=False, end_access=True) is None
    with pytest.raises(NotFound, match="nobody"):
        auth.set_active(store, username="nobody", active=False)
    assert [u.username for u in auth.list_users(store) if u.active] == ["boss"]


def test_duplicate_names_are_refused_by_the_repository(store):
    stamp = dt.datetime(2026, 11, 27, 8, 0)
    first = repository.insert_user(
        store,
        username="li",
        role="inspector",
        unit_code=None,
        leader_code=None,
        password_hash="x$y$z",
        created_at=stamp,
    )
    again = repository.insert_user(
        store,
        username="li",
        role="office",
        unit_code=None,
        leader_code=None,
        password_hash="x$y$z",
        created_at=stamp,
    )
    assert isinstance(first, int) and again is None
    assert repository.find_user(store, user_id=first).role == "inspector"


def test_times_given_in_china_time_are_stored_as_utc(store):
    auth.add_user(store, username="boss", role="office", password=PASSWORD)
    issued = dt.datetime(2026, 11, 27, 9, 0, tzinfo=CHINA)  # 01:00 UTC
    token = auth.issue_token(store, username="boss", days=1, now=issued)
    found = repository.token_user(store, hashlib.sha256(token.encode()).hexdigest())
    assert found is not None
    expires_at = found[1]
    assert expires_at == dt.datetime(2026, 11, 28, 1, 0)
    assert auth.expiry_text(expires_at) == "2026-11-28 09:00"
    clock = fixed(issued + dt.timedelta(days=1))
    with pytest.raises(Unauthorized, match="2026-11-28 09:00"):
        auth.user_for_token(store, token, now=clock())
    assert auth.user_for_token(store, token, now=to_db(issued + dt.timedelta(hours=23))).username == "boss"


def _writes(store: Store) -> dict:
    """Each account write, ready to run (users and keys they need exist already)."""
    auth.add_user(store, username="boss", role="office", password=PASSWORD)
    boss = auth.get_user(store, username="boss")
    sid = auth.start_session(store, boss, hours=1)
    auth.add_api_key(store, name="old", days=30)

    def failed_login():
        with pytest.raises(Unauthorized):
            auth.login(store, username="boss", password="wrong-pass", address="10.0.0.1", rules=RULES)

    writes = {
        "add_user": lambda: auth.add_user(store, username="li", role="inspector", password=PASSWORD),
        "set_password": lambda: auth.set_password(store, username="boss", password="another-pass-2"),
        "set_active": lambda: auth.set_active(store, username="boss", active=False),
        "revoke": lambda: auth.revoke(store, username="boss"),
        "start_session": lambda: auth.start_session(store, boss, hours=1),
        "end_session": lambda: auth.end_session(store, sid),
        "issue_token": lambda: auth.issue_token(store, username="boss", days=1),
        "add_api_key": lambda: auth.add_api_key(store, name="partner", days=1),
        "revoke_api_key": lambda: auth.revoke_api_key(store, name="old"),
        "failed_login": failed_login,
        "good_login": lambda: auth.login(
            store, username="boss", password=PASSWORD, address="10.0.0.1", rules=RULES
        ),
    }
    assert sorted(writes) == sorted(WRITES)
    return writes


WRITES = [
    "add_user",
    "set_password",
    "set_active",
    "revoke",
    "start_session",
    "end_session",
    "issue_token",
    "add_api_key",
    "revoke_api_key",
    "failed_login",
    "good_login",
]


@pytest.mark.parametrize("write", WRITES)
def test_every_account_write_waits_for_the_write_lock(store, write):
    run = _writes(store)[write]
    errors: list[BaseException] = []

    def target():
        try:
            run()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    if store.engine.dialect.name == "postgresql":  # another server's writer holds the advisory lock
        from sqlalchemy import text

        from gridmap.store import WRITE_LOCK_KEY

        with store.engine.connect() as other:
            other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": WRITE_LOCK_KEY})
            other.commit()
            try:
                worker = threading.Thread(target=target, daemon=True)
                worker.start()
                worker.join(1.0)
                assert worker.is_alive(), f"{write} wrote without waiting for the write lock"
            finally:
                other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": WRITE_LOCK_KEY})
                other.commit()
        worker.join(30)
        assert not worker.is_alive() and not errors, errors
        return
    lock = os.open(f"{store.engine.url.database}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another writer holds the lock
        worker = threading.Thread(target=target, daemon=True)
        worker.start()
        worker.join(1.0)
        assert worker.is_alive(), f"{write} wrote without waiting for the write lock"
    finally:
        os.close(lock)  # releases it
    worker.join(30)
    assert not worker.is_alive() and not errors, errors
