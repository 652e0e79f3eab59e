"""Tests for scripts/bench_scale.py: the scale bench runs end to end at a tiny size and writes its JSON."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_scale.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scale"] = module
    spec.loader.exec_module(module)
    return module


def test_bench_scale_runs_a_tiny_county_and_writes_every_number(tmp_path):
    out = tmp_path / "scale.json"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--sizes",
            "40",
            "--lookups",
            "50",
            "--requests",
            "10",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "× read_file" in done.stdout and "whois/s" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["bench"] == "scale" and result["sizes"] == [40] and result["failed"] == []
    (row,) = result["rows"]
    assert row["grids"] == 40 and row["counts"]["grids"] == 40
    base, load, page = row["baseline"], row["load"], row["page"]
    assert base["read_file_s"] > 0 and base["peak_rss_mb"] > 50
    assert base["tables"] == row["tables"] == "xlsx" and base["read_tables_s"] > 0
    assert load["load_s"] > 0 and load["audit_errors"] == 0
    assert set(load["phases_s"]) == {"read_dataset", "build_model", "audit_model"}
    assert load["load_peak_rss_mb"] > 50 and load["worker_ready_s"] > 0
    assert load["whois_per_s"] > 0 and load["whois_in_grid"] > 0.9
    assert row["load_vs_read_file"] == pytest.approx(load["load_s"] / base["read_file_s"], rel=0.01)
    assert row["rss_vs_read_file"] > 0
    download = page["download"]
    assert page["whois_errors"] == 0 and page["whois_test_client_per_s"] > 0
    assert download["failed"] == []
    assert download["bytes"] > download["html_bytes"] > 0  # the page's scripts and styles are counted
    assert download["requests"] >= 3


def test_bench_scale_reads_csv_tables_from_province_size(bench):
    assert bench.tables_for(1_000) == "xlsx"
    assert bench.tables_for(100_000) == "csv"
    assert bench.tables_for(100_000, "xlsx") == "xlsx"


def test_first_view_tiles_cover_the_bounds_at_the_fitting_zoom(bench):
    bounds = (106.60, 34.05, 106.70, 34.12)
    zoom, tiles = bench.first_view_tiles(bounds, viewport=(1366, 768))
    assert 11 <= zoom <= 14
    x0, y1 = bench._lonlat_to_tile(bounds[0], bounds[1], zoom)
    x1, y0 = bench._lonlat_to_tile(bounds[2], bounds[3], zoom)
    assert (x1 - x0) * 256 <= 1366 and (y1 - y0) * 256 <= 768
    xs, ys = {x for x, _ in tiles}, {y for _, y in tiles}
    assert min(xs) <= int(x0) and max(xs) >= int(x1) and min(ys) <= int(y0) and max(ys) >= int(y1)
    assert len(tiles) <= 7 * 5


def test_measure_map_download_counts_the_page_and_its_assets(bench, client):
    """The demo page through the test client: its HTML and same-origin scripts and styles, no failures."""
    result = bench.measure_map_download(client, bounds=(106.50, 33.90, 106.54, 33.93))
    assert result["failed"] == []
    assert result["requests"] >= 3
    assert result["html_bytes"] > 0 and result["raw_bytes"] >= result["bytes"]
    assert result["bytes_by_kind"]["asset"] > 0
    assert result["bytes"] == sum(result["bytes_by_kind"].values())


def test_measure_map_download_fetches_the_first_view_tiles_of_a_tiled_page(bench, settings, loaded_store):
    from gridmap.settingslist import SETTINGS
    from web import create_app

    if "GRIDMAP_EMBED_MAX_FEATURES" not in {s.name for s in SETTINGS}:
        pytest.skip("no vector tiles in this tree")
    client = create_app({**settings, "GRIDMAP_EMBED_MAX_FEATURES": "1"}).test_client()
    result = bench.measure_map_download(client, bounds=(106.50, 33.90, 106.54, 33.93))
    assert result["failed"] == []
    assert result["vector_templates"] and result["tile_zoom"] is not None
    assert result["bytes_by_kind"].get("tile", 0) > 0
    assert result["tiles_per_layer"] >= 1
