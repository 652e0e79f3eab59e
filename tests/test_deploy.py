"""The city deployment's tools: scripts/add_server.sh writes a unit that serves; scripts/loadtest.py drives it.

The server runs on loopback only; the load is bounded in count and time.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from gridmap.reference import load_directory
from gridmap.store import Store
from tests import factory
from tests.loadgen import ROOT, Server, free_port

ADD_SERVER = ROOT / "scripts" / "add_server.sh"
LOADTEST = ROOT / "scripts" / "loadtest.py"


def _add_server(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(ADD_SERVER), *args], capture_output=True, text=True, timeout=30, check=False
    )


def _write_env_file(folder: Path, database_url: str) -> Path:
    instance = folder / "instance"
    instance.mkdir(exist_ok=True)
    path = folder / "gridmap.env"
    path.write_text(
        f"GRIDMAP_DATABASE_URL={database_url}\nGRIDMAP_INSTANCE_DIR={instance}\nGRIDMAP_REPORTS_PER_HOUR=0\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def env_file(tmp_path) -> Path:
    """An env file for the argument checks, which never open its database (a SQLite path)."""
    return _write_env_file(tmp_path, f"sqlite:///{tmp_path / 'instance' / 'gridmap.sqlite'}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--env-file is required"),
        (["--env-file", "/nonexistent/gridmap.env"], "does not exist"),
        (["--name", "App One"], "--name"),
        (["--port", "80000"], "--port"),
        (["--port", "http"], "--port"),
        (["--workers", "0"], "--workers"),
        (["--user", "root;rm"], "--user"),
        (["--unit-dir", "/nonexistent/units"], "does not exist"),
        (["--colour", "red"], "unknown option --colour"),
    ],
)
def test_add_server_refuses_bad_arguments_and_writes_nothing(tmp_path, env_file, args, message):
    units = tmp_path / "units"
    units.mkdir()
    given = [] if not args or "--env-file" in args else ["--env-file", str(env_file)]
    if "--unit-dir" not in args:
        given += ["--unit-dir", str(units)]
    done = _add_server(*given, *args)
    assert done.returncode == 2, done
    assert message in done.stderr
    assert list(units.iterdir()) == []


def test_add_server_needs_the_shared_database_in_the_env_file(tmp_path):
    env = tmp_path / "gridmap.env"
    env.write_text("GRIDMAP_STORAGE=/srv/gridmap\n", encoding="utf-8")
    done = _add_server("--env-file", str(env), "--unit-dir", str(tmp_path))
    assert done.returncode == 2 and "GRIDMAP_DATABASE_URL" in done.stderr


def _unit(path: Path) -> dict[str, str]:
    fields = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            fields[key] = value
    return fields


def _env_from(path: Path) -> dict[str, str]:
    """The environment systemd gives the service: PATH and the env file's lines."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            env[key.strip()] = value.strip()
    return env


def test_a_server_added_by_the_script_serves_and_the_load_test_drives_it(tmp_path, backend, database_url):
    env_file = _write_env_file(tmp_path, database_url)
    env = _env_from(env_file)
    load_directory(Store(env["GRIDMAP_DATABASE_URL"]), factory.write_dataset(tmp_path / "data"))
    port = free_port()
    done = _add_server(
        "--env-file", str(env_file), "--name", "test1", "--port", str(port), "--workers", "2",
        "--user", "nobody", "--unit-dir", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # on SQLite, a warning that several machines need PostgreSQL; none on PostgreSQL
    assert ("SQLite" in done.stderr) == (backend == "sqlite"), done.stderr
    unit = _unit(tmp_path / "gridmap-test1.service")
    assert unit["EnvironmentFile"] == str(env_file) and unit["User"] == "nobody"
    assert unit["WorkingDirectory"] == str(ROOT) and "GRIDMAP_SECRET_KEY" not in env
    argv = shlex.split(unit["ExecStart"])
    with Server(argv=argv, env=env, port=port, log_path=tmp_path / "serve.log").start(timeout=120):
        ran = subprocess.run(
            [
                sys.executable, str(LOADTEST), "--url", f"http://127.0.0.1:{port}", "--clients", "6",
                "--requests", "90", "--seconds", "60", "--mix", "report=1,whois=1,page=1", "--json",
            ],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    result = json.loads(ran.stdout)
    assert result["requests"] == 90 and result["errors"] == 0
    assert set(result["kinds"]) == {"report", "whois", "page"}
    assert all(k["ok"] > 0 and k["per_s"] > 0 and k["p95_ms"] is not None for k in result["kinds"].values())
    assert result["tracking_numbers_acknowledged_twice"] == []
    stored = _stored_problems(env["GRIDMAP_DATABASE_URL"])
    assert stored == result["reports_acknowledged"] == result["kinds"]["report"]["ok"]


def _stored_problems(url: str) -> int:
    """How many problems the database holds, read through SQLAlchemy (either backend)."""
    from sqlalchemy import func, select

    from gridmap.problems.schema import problems

    store = Store(url)
    try:
        with store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(problems)).scalar_one())
    finally:
        store.drop_connections()


def test_the_load_test_refuses_unclear_arguments():
    for args, message in (
        (["--url", "127.0.0.1:8000"], "--url"),
        (["--url", "http://127.0.0.1:9", "--mix", "report=x"], "--mix"),
        (["--url", "http://127.0.0.1:9", "--requests", "0"], "--requests"),
    ):
        ran = subprocess.run(
            [sys.executable, str(LOADTEST), *args], capture_output=True, text=True, timeout=30, check=False
        )
        assert ran.returncode != 0 and message in ran.stderr, (args, ran.stderr)


def test_the_load_test_counts_a_server_that_does_not_answer_as_errors():
    port = free_port()  # nothing listens there
    ran = subprocess.run(
        [sys.executable, str(LOADTEST), "--url", f"http://127.0.0.1:{port}", "--requests", "5",
         "--seconds", "10", "--clients", "1", "--timeout", "2", "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert ran.returncode == 1
    result = json.loads(ran.stdout)
    assert result["ok"] == 0 and result["errors"] == 5
