"""`gridmap user …` and `gridmap apikey …` as real processes; the token they print works."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

GRIDMAP = [sys.executable, "-m", "gridmap.cli"]


@pytest.fixture
def env(settings, loaded_store):
    return {**os.environ, **settings}


def run(env, *args, input=None):
    return subprocess.run([*GRIDMAP, *args], env=env, capture_output=True, text=True, input=input)


def test_user_add_token_and_apikey(env, settings):
    done = run(env, "user", "add", "zhujian", "--role", "unit", "--unit", "U1", "--password", "a-good-pass")
    assert done.returncode == 0, done.stderr
    assert "已创建用户 zhujian" in done.stdout
    token = run(env, "user", "token", "zhujian")
    assert token.returncode == 0 and token.stdout.strip().startswith("gm_")
    key = run(env, "apikey", "add", "12345热线")
    assert key.returncode == 0 and len(key.stdout.strip()) > 20

    from gridmap.auth import authenticate, check_api_key, user_for_token
    from gridmap.store import Store

    store = Store(settings["GRIDMAP_DATABASE_URL"])
    assert user_for_token(store, token.stdout.strip()).unit_code == "U1"
    assert authenticate(store, username="zhujian", password="a-good-pass").role == "unit"
    assert check_api_key(store, key.stdout.strip()) == "12345热线"


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--role", "unit", "--password", "a-good-pass"], "--unit"),
        (["--role", "unit", "--unit", "NOPE", "--password", "a-good-pass"], "NOPE"),
        (["--role", "leader", "--leader", "L99", "--password", "a-good-pass"], "L99"),
        (["--role", "office", "--password", "short"], "至少 8 个字符"),
        (["--role", "king", "--password", "a-good-pass"], "king"),
    ],
)
def test_user_add_refuses_bad_input(env, monkeypatch, args, text):
    from click.testing import CliRunner

    from gridmap.cli import main

    for name in ("GRIDMAP_INSTANCE_DIR", "GRIDMAP_DATABASE_URL", "GRIDMAP_SECRET_KEY"):
        monkeypatch.setenv(name, env[name])
    done = CliRunner().invoke(main, ["user", "add", "someone", *args])
    assert done.exit_code != 0
    assert text in done.output


def test_password_prompt_and_no_default_password(env, settings):
    done = run(env, "user", "add", "boss", "--role", "office", input="pass-word-9\npass-word-9\n")
    assert done.returncode == 0, done.stderr
    from gridmap.auth import authenticate
    from gridmap.errors import Unauthorized
    from gridmap.store import Store

    store = Store(settings["GRIDMAP_DATABASE_URL"])
    for guess in ("", "admin", "123456", "password", "gridmap"):
        with pytest.raises(Unauthorized):
            authenticate(store, username="boss", password=guess)
    assert run(env, "user", "token", "nobody").returncode != 0
