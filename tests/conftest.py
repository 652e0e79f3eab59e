"""Shared fixtures: tiny datasets, a store in a temporary folder, a fresh app."""

from __future__ import annotations

import pytest

from tests import factory


@pytest.fixture
def dataset_dir(tmp_path):
    return factory.write_dataset(tmp_path / "data")


@pytest.fixture
def settings(tmp_path):
    return {
        "GRIDMAP_INSTANCE_DIR": str(tmp_path / "instance"),
        "GRIDMAP_DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'test.sqlite'}",
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

    return create_app({**settings, "TESTING": True} if False else settings)


@pytest.fixture
def client(app):
    return app.test_client()
