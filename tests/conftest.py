"""Shared fixtures: tiny datasets, a store in a temporary folder, a fresh app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import factory, pg, s3server


@pytest.fixture
def dataset_dir(tmp_path):
    return factory.write_dataset(tmp_path / "data")


@pytest.fixture(scope="session")
def pg_cluster():
    """The session's throw-away PostgreSQL/PostGIS cluster (tests/pg.py), stopped at the end."""
    try:
        yield pg.cluster()
    finally:
        pg.stop()


@pytest.fixture(params=pg.backends())
def backend(request) -> str:
    """The store's backend: every test that uses the store runs on SQLite and on PostgreSQL.

    ``GRIDMAP_TEST_BACKENDS=sqlite`` limits the run to SQLite; otherwise a PostgreSQL that
    cannot start fails the PostgreSQL half (it is never skipped silently).
    """
    return request.param


@pytest.fixture
def database_url(request, backend, tmp_path):
    """A fresh, empty database on ``backend`` (a SQLite file, or a PostgreSQL database from the template)."""
    if backend == "postgresql":
        request.getfixturevalue("pg_cluster")
    url, database = pg.database_url(backend, tmp_path / "instance")
    yield url
    pg.drop(database)


@pytest.fixture(scope="module", params=pg.backends())
def module_database(request, tmp_path_factory):
    """(folder, url): a database shared by one test module's tests, on each backend."""
    if request.param == "postgresql":
        request.getfixturevalue("pg_cluster")
    folder = tmp_path_factory.mktemp("module")
    url, database = pg.database_url(request.param, folder / "instance")
    yield folder, url
    pg.drop(database)


@pytest.fixture
def settings(tmp_path, database_url):
    return {
        "GRIDMAP_INSTANCE_DIR": str(tmp_path / "instance"),
        "GRIDMAP_DATABASE_URL": database_url,
        "GRIDMAP_SECRET_KEY": "test-secret",
    }


@pytest.fixture
def store(settings):
    from gridmap.store import Store

    return Store(settings["GRIDMAP_DATABASE_URL"])


@pytest.fixture
def loaded_store(store, dataset_dir):
    from gridmap.reference import load_directory

    load_directory(store, dataset_dir)
    return store


@pytest.fixture
def app(settings, loaded_store):
    from web import create_app

    return create_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(app, loaded_store):
    """``login(username, role, **binding)`` -> a test client with that new user's session."""
    from gridmap.auth import add_user

    def make(username, role, **kw):
        add_user(loaded_store, username=username, role=role, password=factory.PASSWORD, **kw)
        client = app.test_client()
        form = {
            "username": username,
            "password": factory.PASSWORD,
            "csrf_token": factory.csrf_token(client, "/login"),
        }
        assert client.post("/login", data=form).status_code == 302
        return client

    return make


@pytest.fixture(scope="session")
def vendored_assets() -> Path:
    """web/static/vendor, filled by scripts/vendor_assets.py (quick when already done)."""
    from gridmap import assets

    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve().parent.parent / "scripts" / "vendor_assets.py"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode == 2:
        pytest.skip(f"npm is not installed, cannot vendor front-end assets: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    return assets.VENDOR_DIR


@pytest.fixture(scope="module")
def s3_endpoint():
    """A real S3-compatible HTTP server (moto's) on 127.0.0.1 and a free port, for one test module."""
    with s3server.moto_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["folder", "s3"])
def shared_storage(request, tmp_path) -> dict[str, str]:
    """The shared-storage settings of a deployment: an NFS-like folder, or a bucket on a real S3 server."""
    if request.param == "folder":
        return {"GRIDMAP_STORAGE": str(tmp_path / "nfs")}
    endpoint = request.getfixturevalue("s3_endpoint")
    return s3server.s3_settings(endpoint, s3server.new_bucket(endpoint))
