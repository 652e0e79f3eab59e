"""Tests for scripts/bench_levels.py: the demo tiles into a larger county and a tiny run writes every ratio."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import shapely

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_levels.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_levels", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_levels"] = module
    spec.loader.exec_module(module)
    return module


def test_tiled_copies_keep_every_parent_and_reference_and_do_not_overlap(bench):
    base = bench.demo_dataset()
    tiled = bench.tile(base, 4)
    for name, gdf in base.layers.items():
        assert len(tiled.layers[name]) == 4 * len(gdf)
    sub = tiled.layers["subgrids"]
    parents = {*tiled.layers["towns"]["code"], *tiled.layers["grids"]["code"], *sub["code"]}
    assert sub["code"].is_unique and set(sub["parent_code"]) <= parents
    # the hierarchical coding survives: a child's code starts with its parent's
    assert all(c.startswith(p) for c, p in zip(sub["code"], sub["parent_code"]))
    assert set(tiled.layers["frontages"]["shop_code"]) <= set(tiled.layers["shops"]["code"])
    assert set(tiled.layers["buildings"]["community_code"]) <= set(tiled.layers["communities"]["code"])
    assert set(tiled.tables["grid_people"]["grid_code"]) <= parents
    assert tiled.tables["units"].equals(base.tables["units"])  # shared by every copy
    towns = tiled.layers["towns"].geometry.to_numpy()  # copies side by side, none on another
    assert shapely.union_all(towns).area == pytest.approx(shapely.area(towns).sum(), rel=1e-6)


def test_quick_run_writes_a_positive_ratio_for_every_measure_and_size(tmp_path):
    out = tmp_path / "levels.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--sizes", "1,2", "--lookups", "40", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["bench"] == "levels" and result["sizes"] == [1, 2]
    one, two = result["rows"]
    assert one["counts"]["subgrids"] == 129 and two["counts"]["subgrids"] == 258
    assert two["level_features"] == 2 * one["level_features"]
    for row in result["rows"]:
        for key in ("model", "audit", "whois", "level_index"):
            assert row[key]["ratio"] > 0, (key, row[key])
        assert row["audit"]["errors"] == 0  # copies are as clean as the demo
        assert row["whois"]["shops_named"] > 0 and row["whois"]["buildings_named"] > 0
    assert (
        set(result["ratio_growth"])
        == set(result["cost_growth"])
        == {"model", "audit", "whois", "level_index"}
    )
    assert "LevelIndex" in done.stdout and "whois" in done.stdout
