"""Derived columns are declared once, on the layer specs, and the store and the importer follow them."""

from __future__ import annotations

import pyogrio

from gridmap.importer import run_import
from gridmap.model import GRID_CODE_LAYERS, LAYERS
from gridmap.store import reference_tables
from tests import factory


def test_layer_specs_declare_the_grid_code_once_and_the_store_follows():
    assert GRID_CODE_LAYERS == ("segments", "points", "communities")
    for spec in LAYERS:
        stored = {c.name for c in reference_tables[spec.name].columns} - {"id", "geom"}
        assert stored == {c.name for c in spec.columns} | set(spec.derived), spec.name


def test_an_imported_point_gets_the_grid_it_lies_in(tmp_path, loaded_store):
    points = factory.layers()["points"].copy()
    path = tmp_path / "points.gpkg"
    pyogrio.write_dataframe(points, path, layer="points")
    report = run_import(loaded_store, path, kind="points")
    assert report.committed, report.to_text()
    with loaded_store.reading() as conn:
        table = reference_tables["points"]
        rows = dict(conn.execute(table.select().with_only_columns(table.c.code, table.c.grid_code)).all())
    assert rows and all(rows.values()), rows
    current = loaded_store.read_current().layers["points"]
    assert "grid_code" not in current.columns  # derived columns are not part of the data read back
