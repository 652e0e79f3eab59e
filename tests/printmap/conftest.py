"""Fixtures: the responsibility model of the tiny hand-made dataset and of the demo county."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import factory

DEMO = Path(__file__).resolve().parents[2] / "geodata" / "demo"


@pytest.fixture(scope="session")
def factory_model(tmp_path_factory):
    from gridmap.io.read import read_dataset
    from gridmap.responsibility import build_model

    return build_model(read_dataset(factory.write_dataset(tmp_path_factory.mktemp("data"))))


@pytest.fixture(scope="session")
def demo_model():
    from gridmap.io.read import read_dataset
    from gridmap.responsibility import build_model

    if not (DEMO / "layers.gpkg").is_file():
        pytest.skip("演示数据 geodata/demo 尚未生成")
    return build_model(read_dataset(DEMO))


@pytest.fixture(scope="session")
def demo_grid(demo_model):
    """The code of a demo grid with segments, points and communities."""
    counts = demo_model.segments["grid_code"].value_counts()
    return str(counts.index[0])
