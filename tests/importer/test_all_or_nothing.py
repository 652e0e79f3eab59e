"""A failed import (broken file, killed process) leaves the store exactly as it was; the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from sqlalchemy import text

from gridmap.cli import main
from gridmap.importer import run_import
from gridmap.store import Store
from tests import factory
from tests.importer import fixtures as fx

ROOT = Path(__file__).resolve().parents[2]


def _assert_same(before, after) -> None:
    for name, gdf in before.layers.items():
        other = after.layers[name]
        pd.testing.assert_frame_equal(
            pd.DataFrame(gdf.drop(columns="geometry")), pd.DataFrame(other.drop(columns="geometry"))
        )
        assert list(shapely.to_wkb(gdf.geometry.to_numpy())) == list(
            shapely.to_wkb(other.geometry.to_numpy())
        )
    for name, frame in before.tables.items():
        pd.testing.assert_frame_equal(frame, after.tables[name])


def _broken_files(tmp_path: Path) -> dict[str, Path]:
    good = tmp_path / "good.gpkg"
    pyogrio.write_dataframe(factory.layers()["grids"], good, layer="grids")
    truncated = tmp_path / "truncated.gpkg"
    truncated.write_bytes(good.read_bytes()[:20000])
    bad_json = tmp_path / "bad.geojson"
    bad_json.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", ', encoding="utf-8")
    lonely = tmp_path / "lonely"
    shp = fx.write_shapefile(lonely, fx.truth_grids(), encoding="utf8_cpg", system="EPSG:4326")
    shp.with_suffix(".dbf").unlink()
    bad_zip = tmp_path / "bad.zip"
    bad_zip.write_bytes(b"PK\x03\x04" + os.urandom(300))
    not_excel = tmp_path / "table.xlsx"
    not_excel.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    return {
        "truncated_gpkg": truncated,
        "bad_json": bad_json,
        "shp_without_dbf": shp,
        "bad_zip": bad_zip,
        "fake_xlsx": not_excel,
    }


@pytest.mark.parametrize("case", ["truncated_gpkg", "bad_json", "shp_without_dbf", "bad_zip", "fake_xlsx"])
def test_broken_file_changes_nothing(tmp_path, loaded_store, case):
    before = loaded_store.read_dataset()
    version = loaded_store.data_version()
    path = _broken_files(tmp_path)[case]
    report = run_import(loaded_store, path, kind="grids")
    assert not report.ok and not report.committed
    text = report.to_text()
    assert path.name in text or path.stem in text
    assert "Traceback" not in text
    assert loaded_store.data_version() == version
    _assert_same(before, loaded_store.read_dataset())


def _big_grids(path: Path, n_side: int) -> None:
    """n_side² small squares inside town 610330100 of the tiny dataset."""
    step = 0.0004
    ix, iy = np.meshgrid(np.arange(n_side), np.arange(n_side))
    ix, iy = ix.ravel(), iy.ravel()
    x0, y0 = 106.41, 33.81
    geoms = shapely.box(x0 + ix * step, y0 + iy * step, x0 + (ix + 1) * step, y0 + (iy + 1) * step)
    codes = [f"610330100{i:06d}" for i in range(len(geoms))]
    gdf = gpd.GeoDataFrame(
        {"code": codes, "name": [f"网格{i}" for i in range(len(geoms))], "town_code": "610330100"},
        geometry=geoms,
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(gdf, path, layer="grids")


def test_killed_import_leaves_the_store_as_it_was(tmp_path, settings, loaded_store):
    before = loaded_store.read_dataset()
    version = loaded_store.data_version()
    big = tmp_path / "big.gpkg"
    _big_grids(big, 230)  # 52,900 grids: writing takes long enough to be caught in the act
    env = dict(
        os.environ,
        GRIDMAP_DATABASE_URL=settings["GRIDMAP_DATABASE_URL"],
        GRIDMAP_INSTANCE_DIR=settings["GRIDMAP_INSTANCE_DIR"],
    )
    db = Path(settings["GRIDMAP_DATABASE_URL"].removeprefix("sqlite:///"))
    wal = db.with_name(db.name + "-wal")
    process = subprocess.Popen(
        [sys.executable, "-m", "gridmap.cli", "import", str(big), "--as", "grids", "--replace"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        for line in process.stderr:
            if "写入数据库" in line:
                break
            assert time.monotonic() < deadline, "import never reached the write stage"
        if db.suffix == ".sqlite":
            start_size = wal.stat().st_size if wal.exists() else 0
            while (wal.stat().st_size if wal.exists() else 0) < start_size + 2_000_000:
                assert process.poll() is None, "the import finished before it could be killed"
                assert time.monotonic() < deadline
                time.sleep(0.005)
        else:  # PostgreSQL: kill it while it inserts grids inside its open transaction
            inserting = text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state = 'active' AND query LIKE 'INSERT INTO ref_grids%'"
            )
            while True:
                with loaded_store.reading() as conn:
                    if conn.execute(inserting).scalar():
                        break
                assert process.poll() is None, "the import finished before it could be killed"
                assert time.monotonic() < deadline
                time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    again = Store(settings["GRIDMAP_DATABASE_URL"])
    assert again.data_version() == version
    _assert_same(before, again.read_dataset())


# --- the command line -------------------------------------------------------------------------


def _cli(settings, *args):
    env = {
        "GRIDMAP_DATABASE_URL": settings["GRIDMAP_DATABASE_URL"],
        "GRIDMAP_INSTANCE_DIR": settings["GRIDMAP_INSTANCE_DIR"],
    }
    return CliRunner().invoke(main, ["import", *map(str, args)], env=env)


def test_cli_reports_in_chinese_and_exits_non_zero_on_errors(tmp_path, settings, loaded_store):
    path = fx.write_csv(tmp_path, fx.truth_points(), encoding="gbk", system="EPSG:4545")
    result = _cli(settings, path, "--as", "points", "--dry-run")
    assert result.exit_code == 1
    assert "编码：GB18030" in result.output and "--crs" in result.output
    assert "数据库保持原样" in result.output
    ok = _cli(settings, path, "--as", "points", "--dry-run", "--crs", "EPSG:4545", "--json")
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output[ok.output.index("{") :])
    assert report["ok"] and report["crs"].startswith("EPSG:4545") and report["crs_reason"]
    assert report["encoding"] == "gb18030"


def test_cli_commits_and_the_store_serves_it(tmp_path, settings, loaded_store):
    points = fx.truth_points()
    points["unit_code"] = "U1"
    path = tmp_path / "points.geojson"
    pyogrio.write_dataframe(points, path, driver="GeoJSON")
    result = _cli(settings, path, "--as", "points", "--merge")
    assert result.exit_code == 0, result.output
    assert "已导入 3 条" in result.output
    stored = Store(settings["GRIDMAP_DATABASE_URL"]).read_dataset().layers["points"]
    assert set(fx.POINT_CODES) <= set(stored["code"]) and "P1" in set(stored["code"])


def test_cli_rejects_unknown_kind_and_bad_crs(tmp_path, settings, loaded_store):
    path = fx.write_csv(tmp_path, fx.truth_points(), encoding="utf8", system="EPSG:4326")
    assert _cli(settings, path, "--as", "roads").exit_code == 2
    bad = _cli(settings, path, "--as", "points", "--crs", "mars")
    assert bad.exit_code == 1 and "无法识别的坐标系" in bad.output
