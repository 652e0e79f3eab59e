"""Tests for scripts/bench_engines.py: the pyogrio-vs-fiona bench runs both engines on a real GeoPackage."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_engines.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_engines", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_engines"] = module
    spec.loader.exec_module(module)
    return module


def test_time_engines_reads_and_writes_with_both_engines(bench, tmp_path):
    path = tmp_path / "grids.gpkg"
    bench.make_gpkg(path, 10)
    result = bench.time_engines(path, out_dir=tmp_path, rounds=1)
    assert result["features"] == 10
    for key in ("read_s", "write_s"):
        assert set(result[key]) == {"pyogrio", "fiona"}
        assert all(s > 0 for s in result[key].values())
    assert result["read_ratio_fiona_to_pyogrio"] > 0
    assert result["write_ratio_fiona_to_pyogrio"] > 0
    assert result["faster"] in {"pyogrio", "fiona"}
    assert set(result["gdal"]) == {"pyogrio", "fiona"}
    assert not list(tmp_path.glob("*-0.gpkg"))  # written copies are removed


def test_time_engines_rejects_a_short_read(bench, tmp_path, monkeypatch):
    path = tmp_path / "grids.gpkg"
    bench.make_gpkg(path, 10)
    real = bench.gpd.read_file

    def short_fiona(*args, engine=None, **kwargs):
        gdf = real(*args, engine=engine, **kwargs)
        return gdf.iloc[:5] if engine == "fiona" else gdf

    monkeypatch.setattr(bench.gpd, "read_file", short_fiona)
    with pytest.raises(RuntimeError, match="fiona read 5 features"):
        bench.time_engines(path, out_dir=tmp_path, rounds=1)
