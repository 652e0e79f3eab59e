"""Basemaps: MBTiles reading (TMS rows), import, local tile serving, and the named street base."""

from __future__ import annotations

import io
import json
import math
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from shapely.geometry import LineString

from gridmap import basemaps, maps, streetbase
from gridmap.errors import ConfigError, InvalidInput
from gridmap.io import mbtiles
from gridmap.settings import BASEMAP_MBTILES, load_settings

COLOURS = {(1, 0, 0): (255, 0, 0), (1, 1, 0): (0, 255, 0), (1, 0, 1): (0, 0, 255), (1, 1, 1): (255, 255, 0)}


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(out, format="PNG")
    return out.getvalue()


def make_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], *, fmt: str = "png") -> Path:
    """An MBTiles file; ``tiles`` keyed by XYZ (z, x, y), stored with TMS rows as the spec says."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)"
        )
        meta = {
            "name": "测试底图",
            "format": fmt,
            "bounds": "-180,-85,180,85",
            "minzoom": "1",
            "maxzoom": "1",
        }
        conn.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
        conn.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()],
        )
    conn.close()
    return path


@pytest.fixture
def tiles_file(tmp_path) -> Path:
    return make_mbtiles(tmp_path / "county.mbtiles", {k: png(c) for k, c in COLOURS.items()})


def colour_of(data: bytes) -> tuple[int, int, int]:
    return Image.open(io.BytesIO(data)).convert("RGB").getpixel((128, 128))


# --- the MBTiles reader ------------------------------------------------------------------------
def test_read_tile_flips_the_row_from_tms_to_xyz(tiles_file):
    for (z, x, y), colour in COLOURS.items():
        assert colour_of(mbtiles.read_tile(tiles_file, z=z, x=x, y=y)) == colour, (z, x, y)
    # the north-west tile (y=0) is kept in TMS row 1: reading row 0 unflipped would give green
    with sqlite3.connect(tiles_file) as conn:
        stored = conn.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level=1 AND tile_column=0 AND tile_row=1"
        ).fetchone()
    conn.close()
    assert colour_of(stored[0]) == (255, 0, 0)


def test_read_tile_answers_none_for_missing_or_impossible_tiles(tiles_file, tmp_path):
    assert mbtiles.read_tile(tiles_file, z=2, x=0, y=0) is None
    assert mbtiles.read_tile(tiles_file, z=1, x=2, y=0) is None
    assert mbtiles.read_tile(tiles_file, z=1, x=0, y=-1) is None
    assert mbtiles.read_tile(tmp_path / "absent.mbtiles", z=1, x=0, y=0) is None


def test_inspect_reports_what_the_file_holds(tiles_file):
    info = mbtiles.inspect(tiles_file)
    assert (info.name, info.format, info.min_zoom, info.max_zoom, info.tiles) == ("测试底图", "png", 1, 1, 4)
    assert info.bounds == (-180.0, -85.0, 180.0, 85.0)


def test_media_type_from_magic_numbers():
    assert mbtiles.media_type(png((1, 2, 3))) == "image/png"
    assert mbtiles.media_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert mbtiles.media_type(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"


def test_inspect_refuses_what_is_not_raster_mbtiles_in_chinese(tmp_path):
    text = tmp_path / "notes.mbtiles"
    text.write_text("这不是数据库", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"不是 MBTiles 文件（不是 SQLite 数据库）.*QGIS"):
        mbtiles.inspect(text)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (a)")
    conn.close()
    with pytest.raises(InvalidInput, match="缺少 metadata、tiles 表"):
        mbtiles.inspect(other)
    with pytest.raises(InvalidInput, match="没有任何瓦片"):
        mbtiles.inspect(make_mbtiles(tmp_path / "empty.mbtiles", {}))
    with pytest.raises(InvalidInput, match="矢量瓦片"):
        mbtiles.inspect(make_mbtiles(tmp_path / "vector.mbtiles", {(0, 0, 0): b"\x1f\x8b..."}, fmt="pbf"))
    with pytest.raises(InvalidInput, match="找不到文件"):
        mbtiles.inspect(tmp_path / "absent.mbtiles")


# --- import and settings -----------------------------------------------------------------------
def test_import_copies_into_the_instance_folder_and_keeps_it_on_a_bad_file(tiles_file, tmp_path):
    instance = tmp_path / "instance"
    info = basemaps.import_mbtiles(tiles_file, instance_dir=instance)
    target = instance / BASEMAP_MBTILES
    assert info.path == target and target.read_bytes() == tiles_file.read_bytes()
    bad = tmp_path / "photo.mbtiles"
    bad.write_bytes(png((0, 0, 0)))
    with pytest.raises(InvalidInput, match="不是 MBTiles"):
        basemaps.import_mbtiles(bad, instance_dir=instance)
    assert target.read_bytes() == tiles_file.read_bytes()
    assert sorted(p.name for p in instance.iterdir()) == [BASEMAP_MBTILES]  # no partial copy left


def test_basemap_import_command(tiles_file, tmp_path, monkeypatch):
    from gridmap.cli import main

    instance = tmp_path / "instance"
    monkeypatch.setenv("GRIDMAP_INSTANCE_DIR", str(instance))
    monkeypatch.setenv("GRIDMAP_BASEMAP", "mbtiles")  # set before the file exists: import still works
    result = CliRunner().invoke(main, ["basemap", "import", str(tiles_file)])
    assert result.exit_code == 0, result.output
    assert "4 张 PNG 瓦片" in result.output and "GRIDMAP_BASEMAP=mbtiles" in result.output
    assert (instance / BASEMAP_MBTILES).is_file()
    bad = tmp_path / "readme.mbtiles"
    bad.write_text("hello", encoding="utf-8")
    result = CliRunner().invoke(main, ["basemap", "import", str(bad)])
    assert result.exit_code == 2
    assert "readme.mbtiles 不是 MBTiles 文件" in result.output


def test_basemap_setting_names_the_imported_or_a_given_mbtiles_file(tiles_file, tmp_path):
    instance = tmp_path / "instance"
    values = load_settings(environ={"GRIDMAP_INSTANCE_DIR": str(instance), "GRIDMAP_BASEMAP": "MBTiles"})
    assert values.basemap == str(instance.resolve() / BASEMAP_MBTILES)
    values = load_settings(
        environ={"GRIDMAP_INSTANCE_DIR": str(instance), "GRIDMAP_BASEMAP": str(tiles_file)}
    )
    assert values.basemap == str(tiles_file.resolve())
    with pytest.raises(ConfigError, match=r"找不到该 MBTiles 文件.*gridmap basemap import"):
        load_settings(
            environ={"GRIDMAP_INSTANCE_DIR": str(instance), "GRIDMAP_BASEMAP": str(tmp_path / "x.mbtiles")}
        )


# --- serving tiles -----------------------------------------------------------------------------
def test_mbtiles_tiles_are_served_flipped_with_caching_headers(settings, loaded_store, tiles_file):
    from web import create_app

    app = create_app({**settings, "GRIDMAP_BASEMAP": str(tiles_file)})
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert "/tiles/{z}/{x}/{y}.png" in page and '"maxNativeZoom": 1' in page
    assert "gridmapStreets" not in page  # tiles configured: no street base
    r = client.get("/tiles/1/0/0.png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert colour_of(r.data) == (255, 0, 0)
    assert r.cache_control.public and r.cache_control.max_age == 86400
    assert r.headers["ETag"]
    again = client.get("/tiles/1/0/0.png", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    assert colour_of(client.get("/tiles/1/1/0.png").data) == (0, 255, 0)
    assert client.get("/tiles/5/0/0.png").status_code == 404
    assert client.get("/tiles/1/7/0.png").status_code == 404
    csp = r.headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob:;" in csp  # no tile server outside ours


def test_local_tiles_404_without_a_local_basemap(client):
    assert client.get("/tiles/1/0/0.png").status_code == 404


# --- the street base ---------------------------------------------------------------------------
def spots(data: dict) -> list[dict]:
    """Every label spot of a street base, as a dict (level k counted by halving spacings)."""
    out = []
    for street in data["labels"]:
        top = max(spot[3] for spot in street["s"])
        for lat, lon, angle, spacing, last in street["s"]:
            level = round(math.log2(top / spacing))
            out.append(
                {"t": street["t"], "at": [lat, lon], "a": angle, "m": spacing, "last": last, "k": level}
            )
    return out


def test_street_labels_sit_on_the_street_turned_along_it():
    east_west = LineString([(106.510, 33.910), (106.520, 33.910)])
    north_south = LineString([(106.530, 33.900), (106.530, 33.910)])
    tiny = LineString([(106.540, 33.900), (106.5401, 33.900)])
    data = basemaps.street_features(
        [("滨江路", east_west), ("汉中路", north_south), ("短巷", tiny), (None, tiny)]
    )
    assert len(data["lines"]) == 4
    labels = {label["t"]: label for label in spots(data) if label["k"] == 0}
    assert set(labels) == {"滨江路", "汉中路"}  # the 9 m lane is too short to label
    assert labels["滨江路"]["at"] == pytest.approx([33.910, 106.515], abs=1e-5)
    assert labels["滨江路"]["a"] == pytest.approx(0, abs=0.5)
    assert abs(labels["汉中路"]["a"]) == pytest.approx(90, abs=0.5)
    assert labels["滨江路"]["m"] == pytest.approx(925, rel=0.02)


def shown(labels: list[dict], *, need_m: float) -> list[dict]:
    """The label spots web/static/js/streets.js shows when a name needs ``need_m`` metres."""
    return [x for x in labels if x["m"] >= need_m and (x["m"] / 2 < need_m or x["last"])]


def test_a_long_street_has_finer_label_levels_and_pieces_merge():
    west = LineString([(106.50, 33.91), (106.52, 33.91)])
    east = LineString([(106.52, 33.91), (106.54, 33.91)])  # 3.7 km together
    labels = spots(basemaps.street_features([("长街", west), ("长街", east)]))
    spacings = sorted({x["m"] for x in labels}, reverse=True)
    assert spacings[0] == pytest.approx(3700, rel=0.02)  # one piece: the two halves merged
    assert spacings[-1] >= basemaps.LABEL_MIN_SPACING_M > spacings[-1] / 2
    assert [sum(x["k"] == k for x in labels) for k in range(len(spacings))] == [
        2**k for k in range(len(spacings))
    ]
    # zoomed out (the name needs 2 km) one label in the middle; zoomed in (60 m) the finest level
    assert [x["at"][1] for x in shown(labels, need_m=2000)] == [pytest.approx(106.52, abs=1e-4)]
    assert len(shown(labels, need_m=60)) == 2 ** (len(spacings) - 1)
    assert shown(labels, need_m=5000) == []


def test_imported_streets_label_a_name_that_segments_also_have():
    osm = LineString([(106.510, 33.9101), (106.520, 33.9101)])
    segment = LineString([(106.510, 33.910), (106.520, 33.910)])
    data = basemaps.street_features([("滨江路", osm), ("滨江路", segment)], osm_count=1)
    assert data["labels"] and all(label["at"][0] == pytest.approx(33.9101) for label in spots(data))


def test_street_base_json_carries_names_as_escaped_text(store, loaded_store):
    from gridmap.reference import ReferenceCache
    from gridmap.routing import repository

    model = ReferenceCache(store, tolerance_m=50).model()
    text, etag = streetbase.street_base(store, model)
    names = {label["t"] for label in json.loads(text)["labels"]}
    assert names == {"滨江路", "新建路", "汉中路"}
    hostile = LineString([(106.511, 33.912), (106.519, 33.912)])
    rows = [
        {"name": "<img src=x onerror=alert(1)>", "kind": "residential", "osm_id": "1", "geom": hostile.wkb}
    ]
    repository.replace_streets(store, source="test.osm", rows=rows, km=0.7, components=1, at=_now())
    text2, etag2 = streetbase.street_base(store, model)
    assert etag2 != etag and "<img" not in text2 and "\\u003cimg" in text2
    data = json.loads(text2)
    assert "<img src=x onerror=alert(1)>" in {label["t"] for label in data["labels"]}
    assert len(data["lines"]) == len(json.loads(text)["lines"]) + 1


def _now():
    import datetime as dt

    return dt.datetime(2026, 11, 30, 12, 0)


def test_streets_api_answers_json_and_revalidates(client):
    r = client.get("/api/streets")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert {label["t"] for label in r.get_json()["labels"]} == {"滨江路", "新建路", "汉中路"}
    assert r.cache_control.no_cache
    assert client.get("/api/streets", headers={"If-None-Match": r.headers["ETag"]}).status_code == 304


def test_county_map_without_tiles_loads_the_street_base(client, model):
    page = client.get("/").get_data(as_text=True)
    assert "/static/js/streets.js?v=" in page and "gridmapStreets(" in page and '"/api/streets"' in page
    assert client.get("/static/js/streets.js").status_code == 200
    m = maps.build_map(model, maps.MapOptions(basemap="osm"))
    assert "gridmapStreets" not in m.get_root().render()


def test_report_page_draws_streets_only_without_tiles(settings, loaded_store, client):
    from web import create_app

    assert 'window.gridmapStreets(map, "/api/streets")' in client.get("/report").get_data(as_text=True)
    app = create_app({**settings, "GRIDMAP_BASEMAP": "osm"})
    page = app.test_client().get("/report").get_data(as_text=True)
    assert "tile.openstreetmap.org" in page


@pytest.fixture
def model(store, loaded_store):
    from gridmap.reference import ReferenceCache

    return ReferenceCache(store, tolerance_m=50).model()


def test_moved_names_stay_importable_from_maps():
    assert maps.add_basemap is basemaps.add_basemap and maps.BASEMAPS is basemaps.BASEMAPS
    assert maps.basemap_sources("tianditu") == ["https://*.tianditu.gov.cn"]
