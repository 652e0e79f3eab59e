"""A problem context over the tiny dataset, for module-scoped fixtures (one store per test module)."""

from __future__ import annotations

from pathlib import Path

from tests import factory


def make_context(folder: Path, url: str):
    """Load tests/factory.py's dataset into the store at ``url`` (any backend); its ProblemContext."""
    from gridmap.problems.context import context_from_settings
    from gridmap.reference import ReferenceCache, load_directory
    from gridmap.settings import load_settings
    from gridmap.store import Store

    settings = load_settings(
        {
            "GRIDMAP_INSTANCE_DIR": str(folder / "instance"),
            "GRIDMAP_DATABASE_URL": url,
            "GRIDMAP_SECRET_KEY": "test-secret",
        },
        environ={},
    )
    store = Store(settings["GRIDMAP_DATABASE_URL"])
    load_directory(store, factory.write_dataset(folder / "data"))
    return context_from_settings(store, ReferenceCache(store, tolerance_m=50.0), settings)
