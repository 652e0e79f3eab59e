"""The problem context takes every limit from the settings, which alone hold the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridmap.problems.context import context_from_settings
from gridmap.settings import SETTINGS, load_settings

NO_REFERENCE = None  # building a context reads no reference data


def _settings(tmp_path: Path, database_url: str, **overrides):
    base = {
        "GRIDMAP_INSTANCE_DIR": str(tmp_path / "instance"),
        "GRIDMAP_DATABASE_URL": database_url,  # the store's own database, on each backend
    }
    return load_settings({**base, **overrides}, environ={})


def test_defaults_come_from_the_registry(store, tmp_path, database_url):
    ctx = context_from_settings(store, NO_REFERENCE, _settings(tmp_path, database_url))
    defaults = {s.name: s.default for s in SETTINGS}
    assert ctx.duplicate_radius_m == defaults["GRIDMAP_DUPLICATE_RADIUS_M"]
    assert ctx.photo_max_bytes == int(defaults["GRIDMAP_PHOTO_MAX_MB"] * 1_000_000)
    assert ctx.photo_max_count == defaults["GRIDMAP_PHOTO_MAX_COUNT"]
    assert ctx.reports_per_hour == defaults["GRIDMAP_REPORTS_PER_HOUR"]
    assert ctx.support_window_h == defaults["GRIDMAP_SUPPORT_WINDOW_HOURS"]
    assert Path(ctx.storage.root) == tmp_path / "instance" / "uploads"
    assert ctx.categories.get("garbage").code == "garbage"  # the built-in list


def test_overrides_reach_the_context(store, tmp_path, database_url):
    table = tmp_path / "categories.csv"
    table.write_text("code,name,group,deadline_hours\nwell_cover,井盖缺失,公共设施,24\n", encoding="utf-8")
    settings = _settings(
        tmp_path,
        database_url,
        GRIDMAP_DUPLICATE_RADIUS_M="12.5",
        GRIDMAP_PHOTO_MAX_MB="2",
        GRIDMAP_PHOTO_MAX_COUNT="5",
        GRIDMAP_REPORTS_PER_HOUR="0",
        GRIDMAP_SUPPORT_WINDOW_HOURS="2",
        GRIDMAP_PHOTO_DIR=str(tmp_path / "pics"),
        GRIDMAP_PROBLEM_CATEGORIES=str(table),
    )
    ctx = context_from_settings(store, NO_REFERENCE, settings)
    assert (ctx.duplicate_radius_m, ctx.photo_max_bytes, ctx.photo_max_count) == (12.5, 2_000_000, 5)
    assert (ctx.reports_per_hour, ctx.support_window_h) == (0, 2.0)
    assert Path(ctx.storage.root) == tmp_path / "pics"
    assert [c.code for c in ctx.categories] == ["well_cover"]


@pytest.mark.parametrize(
    "missing",
    [
        "GRIDMAP_DUPLICATE_RADIUS_M",
        "GRIDMAP_PHOTO_MAX_MB",
        "GRIDMAP_REPORTS_PER_HOUR",
        "GRIDMAP_SUPPORT_WINDOW_HOURS",
        "GRIDMAP_PROBLEM_CATEGORIES",
        "GRIDMAP_PHOTO_DIR",
    ],
)
def test_the_context_has_no_defaults_of_its_own(store, tmp_path, database_url, missing):
    settings = {k: v for k, v in _settings(tmp_path, database_url).items() if k != missing}
    with pytest.raises(KeyError, match=missing):
        context_from_settings(store, NO_REFERENCE, settings)
