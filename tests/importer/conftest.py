"""Fixtures for import tests: stores that hold the town the fixtures lie in and their unit."""

from __future__ import annotations

import pandas as pd
import pytest

from gridmap.store import Store
from tests import pg
from tests.importer import fixtures


def _with_county(store: Store) -> Store:
    store.import_reference("towns", fixtures.town(), mode="replace")
    units = pd.DataFrame(
        {
            "code": [fixtures.UNIT_CODE],
            "name": ["县住建局"],
            "kind": [None],
            "contact": [None],
            "phone": [None],
        }
    )
    store.import_reference("units", units, mode="replace")
    return store


@pytest.fixture(scope="module", params=pg.backends())
def county_store(request, tmp_path_factory):
    """Shared by a module's dry runs (which write nothing; tests check that they do not); on each backend."""
    if request.param == "postgresql":
        request.getfixturevalue("pg_cluster")
    url, database = pg.database_url(request.param, tmp_path_factory.mktemp("county"), "county")
    store = Store(url)
    yield _with_county(store)
    store.engine.dispose()
    pg.drop(database)


@pytest.fixture
def fresh_county_store(store):
    """A store of its own, for tests that write."""
    return _with_county(store)


@pytest.fixture
def empty_store(store):
    return store
