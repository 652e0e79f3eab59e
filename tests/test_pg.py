"""The test session's backends: GRIDMAP_TEST_BACKENDS, and a PostgreSQL that cannot start fails loudly."""

from __future__ import annotations

import pytest

from tests import pg


def test_backends_are_both_unless_the_environment_limits_them(monkeypatch):
    monkeypatch.delenv("GRIDMAP_TEST_BACKENDS", raising=False)
    assert pg.backends() == ("sqlite", "postgresql")
    monkeypatch.setenv("GRIDMAP_TEST_BACKENDS", "sqlite")
    assert pg.backends() == ("sqlite",)
    monkeypatch.setenv("GRIDMAP_TEST_BACKENDS", " postgresql ")
    assert pg.backends() == ("postgresql",)
    monkeypatch.setenv("GRIDMAP_TEST_BACKENDS", "mysql")
    with pytest.raises(SystemExit, match="GRIDMAP_TEST_BACKENDS='mysql'"):
        pg.backends()


def test_without_postgresql_binaries_the_postgresql_tests_fail_saying_what_to_do(monkeypatch):
    monkeypatch.setattr(pg.shutil, "which", lambda _name: None)
    monkeypatch.setattr(pg.glob, "glob", lambda _pattern: [])
    monkeypatch.setattr(pg, "_cluster", None)
    monkeypatch.setattr(pg, "_failure", None)
    with pytest.raises(pg.ClusterError, match=r"make sysdeps.*GRIDMAP_TEST_BACKENDS=sqlite"):
        pg.cluster()
    with pytest.raises(pg.ClusterError, match="did not start"):  # every later PostgreSQL test fails too
        pg.database_url("postgresql", pg.Path("/nonexistent"))
    assert pg.database_url("sqlite", pg.Path("/x"))[0] == "sqlite:////x/test.sqlite"


def test_each_test_gets_a_fresh_database_from_the_template(pg_cluster):
    from gridmap.store import SCHEMA_VERSION, Store

    first, second = pg_cluster.create_database(), pg_cluster.create_database()
    try:
        a, b = Store(pg_cluster.url(first)), Store(pg_cluster.url(second))
        a.import_reference("units", _units(), mode="replace")
        assert a.get_meta("schema_version") == b.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert a.data_version() == 1 and b.data_version() == 0  # nothing leaks between databases
        a.engine.dispose()
        b.engine.dispose()
    finally:
        pg_cluster.drop_database(first)
        pg_cluster.drop_database(second)


def _units():
    import pandas as pd

    return pd.DataFrame(
        {"code": ["U1"], "name": ["县住建局"], "kind": [None], "contact": [None], "phone": [None]}
    )
