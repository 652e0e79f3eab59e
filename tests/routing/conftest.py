"""Fixtures for patrol tests: a store holding the tiny street-grid town, its problem context, users."""

from __future__ import annotations

import pytest

from tests.routing import town


@pytest.fixture
def town_store(store, tmp_path):
    from gridmap.reference import load_directory

    load_directory(store, town.write(tmp_path / "town"))
    return store


@pytest.fixture
def town_ctx(town_store, town_settings):
    from gridmap.problems.service import context_from_settings
    from gridmap.reference import ReferenceCache

    return context_from_settings(town_store, ReferenceCache(town_store, tolerance_m=50.0), town_settings)


@pytest.fixture
def town_settings(settings):
    """Settings for plans in tests: a short search (the plan stops earlier when it stops improving)."""
    from gridmap.settings import load_settings

    return load_settings({**settings, "GRIDMAP_PATROL_TIME_LIMIT": 1.0}, environ={})
