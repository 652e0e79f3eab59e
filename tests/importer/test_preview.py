"""The import preview map looks at the imported data, else at the county held, never at a fixed place."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import box

from gridmap.importer import ImportReport, preview_map, run_import
from tests.importer import fixtures as fx


def _fitted(m) -> list[list[float]] | None:
    found = [c.bounds for c in m._children.values() if type(c).__name__ == "FitBounds"]
    return found[0] if found else None


def test_preview_fits_the_imported_features(tmp_path, county_store):
    # Far from where the old preview looked (33.91 N, 106.52 E): another county's grids.
    polys = [box(108.90, 34.20, 108.91, 34.21), box(108.91, 34.20, 108.93, 34.22)]
    path = tmp_path / "far.gpkg"
    grids = gpd.GeoDataFrame(
        {"网格编码": ["G1", "G2"], "网格名称": ["甲", "乙"], "所属镇代码": [fx.TOWN_CODE] * 2},
        geometry=polys,
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(grids, path, layer="grids")
    report = run_import(county_store, path, kind="grids", dry_run=True)
    assert report.data is not None and len(report.data) == 2
    assert _fitted(preview_map(report)) == [
        [pytest.approx(34.20), pytest.approx(108.90)],
        [pytest.approx(34.22), pytest.approx(108.93)],
    ]


def test_a_table_preview_looks_at_the_county_held(tmp_path, county_store):
    path = tmp_path / "units.csv"
    path.write_text("单位代码,单位名称\nU9,县水务局\n", encoding="utf-8")
    report = run_import(county_store, path, kind="units", dry_run=True)
    assert report.ok, report.to_text()
    minx, miny, maxx, maxy = fx.town().total_bounds
    assert report.extent == pytest.approx((minx, miny, maxx, maxy))
    assert _fitted(preview_map(report)) == [
        [pytest.approx(miny), pytest.approx(minx)],
        [pytest.approx(maxy), pytest.approx(maxx)],
    ]


def test_with_nothing_to_show_the_preview_shows_the_country():
    m = preview_map(ImportReport(file="空.csv", kind="units"))
    assert _fitted(m) is None
    assert m.location == [35.0, 105.0] and m.options["zoom"] == 4
