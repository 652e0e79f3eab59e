"""The gridmap command, run as a real process against a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from shapely.geometry import Polygon

from tests import factory

GRIDMAP = [sys.executable, "-m", "gridmap.cli"]


@pytest.fixture
def env(tmp_path, database_url):
    return {
        **os.environ,
        "GRIDMAP_INSTANCE_DIR": str(tmp_path / "instance"),
        "GRIDMAP_DATABASE_URL": database_url,
    }


def run(env, *args):
    return subprocess.run([*GRIDMAP, *map(str, args)], env=env, capture_output=True, text=True)


def test_load_then_whois_and_audit(env, dataset_dir):
    done = run(env, "load", dataset_dir)
    assert done.returncode == 0, done.stderr
    assert "网格 2 个" in done.stdout
    who = run(env, "whois", "106.5151", "33.9101")
    assert who.returncode == 0
    answer = json.loads(who.stdout)
    assert answer["grid"]["name"] == "滨江网格"
    audit = run(env, "audit", "--json")
    assert audit.returncode == 0
    assert json.loads(audit.stdout)["counts"]["gaps"] == 0


def _missing_column(layers):
    layers["grids"] = layers["grids"].drop(columns=["name"])
    return ("grids", None, "网格名称")


def _not_a_polygon(layers):
    from shapely.geometry import LineString

    layers["grids"] = layers["grids"].set_geometry(
        [layers["grids"].geometry[0], LineString([(106.52, 33.905), (106.53, 33.915)])]
    )
    return ("grids", "FID 2", "LineString")


def _self_intersecting(layers):
    bowtie = Polygon([(106.52, 33.905), (106.53, 33.915), (106.53, 33.905), (106.52, 33.915)])
    layers["grids"] = layers["grids"].set_geometry([layers["grids"].geometry[0], bowtie])
    return ("grids", "FID 2", "Self-intersection")


def _no_crs(layers):
    layers["grids"] = layers["grids"].set_crs(None, allow_override=True)
    return ("grids", None, "坐标系")


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
@pytest.mark.parametrize("spoil", [_missing_column, _not_a_polygon, _self_intersecting, _no_crs])
def test_bad_load_names_the_problem_and_changes_nothing(env, dataset_dir, tmp_path, spoil):
    assert run(env, "load", dataset_dir).returncode == 0
    layers = factory.layers()
    layer, feature, problem = spoil(layers)
    layers["towns"]["name"] = ["改名镇", "另一个镇"]  # would show if anything were written
    bad = factory.write_dataset(tmp_path / "bad", layers_=layers)
    done = run(env, "load", bad)
    assert done.returncode != 0
    assert "layers.gpkg" in done.stderr and f"图层 {layer}" in done.stderr and problem in done.stderr
    if feature:
        assert f"要素/行 {feature}" in done.stderr
    assert "Traceback" not in done.stderr
    who = json.loads(run(env, "whois", "106.5151", "33.9101").stdout)
    assert who["grid"]["name"] == "滨江网格" and who["town"]["name"] == "双石铺镇"


def test_audit_exits_non_zero_on_overlap(env, tmp_path):
    from shapely.geometry import box

    layers = factory.layers()
    layers["grids"] = layers["grids"].set_geometry(
        [box(106.510, 33.905, 106.521, 33.915), box(106.520, 33.905, 106.530, 33.915)]
    )
    directory = factory.write_dataset(tmp_path / "overlap", layers_=layers)
    done = run(env, "audit", directory)
    assert done.returncode == 1
    assert "重叠 1 处" in done.stdout


def test_whois_bad_coordinates(env, dataset_dir):
    run(env, "load", dataset_dir)
    done = run(env, "whois", "abc", "33.9")
    assert done.returncode == 2
    assert "应为数字" in done.stderr and "Traceback" not in done.stderr


def test_whois_before_any_load(env):
    done = run(env, "whois", "106.5", "33.9")
    assert done.returncode != 0 and "gridmap load" in done.stderr
