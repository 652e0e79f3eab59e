"""Hostile import files: decompression bombs (KMZ, zipped Shapefile, XLSX) and links that GDAL would fetch."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pyogrio
import pytest

from gridmap.errors import DataError
from gridmap.importer import run_import
from gridmap.io.archive import ArchiveLimits
from gridmap.io.formats import read_source
from tests.importer import fixtures as fx

GRIDMAP = str(Path(sys.executable).with_name("gridmap"))
_MIB = 1024 * 1024

# Runs a command in a fresh process and reports its children's peak memory and the wall time.
_MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": done.returncode, "seconds": time.perf_counter() - started,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "out": done.stdout + done.stderr}))
"""


def _measured(*args: str, env: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout)


def _cli_env(tmp_path: Path, database_url: str, **extra: str) -> dict:
    """The CLI's environment over the test's database (SQLite or PostgreSQL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDMAP_")}
    env.update(
        GRIDMAP_INSTANCE_DIR=str(tmp_path / "instance"),
        GRIDMAP_DATABASE_URL=database_url,
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def kmz_bomb(tmp_path_factory) -> Path:
    """~780 KB that inflates to 768 MiB of KML, like the one in the issue."""
    return fx.write_bomb(tmp_path_factory.mktemp("bomb") / "bomb.kmz", member="doc.kml")


# --- decompression bombs ---------------------------------------------------------------------


def test_kmz_bomb_is_refused_by_the_cli_fast_and_small(kmz_bomb, tmp_path, database_url):
    assert kmz_bomb.stat().st_size < 1_000_000
    result = _measured(
        GRIDMAP,
        "import",
        str(kmz_bomb),
        "--as",
        "grids",
        "--dry-run",
        "--json",
        env=_cli_env(tmp_path, database_url),
    )
    out = result["out"]
    assert result["rc"] == 1, out
    report, _ = json.JSONDecoder().raw_decode(out, out.index("{"))
    (error,) = report["errors"]
    assert "bomb.kmz" in error["message"] and "doc.kml" in error["message"]
    assert "未解压" in error["message"] and "压缩炸弹" in error["hint"]
    assert "GRIDMAP_IMPORT_MAX_UNPACKED_MB" in error["hint"]  # what to do
    print(
        f"KMZ bomb: refused in {report['seconds']:.3f} s, process {result['seconds']:.1f} s, "
        f"peak {result['peak_mb']:.0f} MB"
    )
    assert result["peak_mb"] < 300  # the issue saw 4.9 GB
    assert report["seconds"] < 2  # the refusal itself; the issue saw 29 s
    assert result["seconds"] < 30  # with interpreter start-up, on a busy machine


def test_bomb_through_the_web_import_page(app, client, kmz_bomb, tmp_path):
    from tests.importer.test_web import _login, _upload

    token = _login(app, client)
    started = time.perf_counter()
    response = _upload(client, token, kmz_bomb, filename="网格.kmz")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "未导入" in html
    assert "网格.kmz" in html and "doc.kml" in html and "压缩炸弹" in html
    assert time.perf_counter() - started < 20
    folder = tmp_path / "instance" / "uploads" / "imports"
    assert not folder.is_dir() or not list(folder.iterdir())  # nothing left behind


def test_zipped_shapefile_bomb_is_refused_before_extraction(tmp_path):
    shp = fx.write_shapefile(tmp_path / "shp", fx.truth_grids(), encoding="utf8_cpg", system="EPSG:4326")
    parts = {p.name: p.read_bytes() for p in shp.parent.iterdir() if p.suffix != ".dbf"}
    bomb = fx.write_bomb(tmp_path / "网格.zip", member="网格.dbf", extra=parts)
    with pytest.raises(DataError) as info:
        read_source(bomb, kind="grids")
    assert "网格.dbf" in info.value.message and "网格.zip" in info.value.message
    assert "未解压" in info.value.message


def test_ratio_is_capped_below_the_size_cap(tmp_path):
    bomb = fx.write_bomb(tmp_path / "小.kmz", unpacked=40 * _MIB)  # 40 MiB from ~41 KB
    with pytest.raises(DataError, match="压缩比"):
        read_source(bomb, kind="grids")
    # The same archive passes the ratio check when the setting allows it (then is just bad KML).
    with pytest.raises(DataError) as info:
        read_source(
            bomb, kind="grids", limits=dataclasses.replace(ArchiveLimits.from_settings(), max_ratio=5000)
        )
    assert "压缩比" not in info.value.message


def test_lying_directory_cannot_push_more_out(tmp_path):
    # The directories say 1 MiB; the data inflates to 768 MiB. Reading stops at 1 MiB.
    liar = fx.write_bomb(tmp_path / "liar.kmz", stated=_MIB)
    started = time.perf_counter()
    with pytest.raises(DataError) as info:
        read_source(liar, kind="grids")
    assert "doc.kml" in info.value.message
    assert time.perf_counter() - started < 10


def test_xlsx_bomb_is_refused_before_openpyxl_and_gridmap_load_too(tmp_path):
    from gridmap.io.read import read_tables

    parts = {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
        "xl/workbook.xml": b'<?xml version="1.0"?><workbook/>',
    }
    bomb = fx.write_bomb(tmp_path / "责任表.xlsx", member="xl/worksheets/sheet1.xml", extra=parts)
    with pytest.raises(DataError) as info:
        read_source(bomb, kind="units")
    assert "xl/worksheets/sheet1.xml" in info.value.message and "责任表.xlsx" in info.value.message
    with pytest.raises(DataError, match=r"sheet1.xml"):
        read_tables(bomb)


def test_a_zip_that_states_too_many_members_is_refused_unlisted(tmp_path):
    crowd = tmp_path / "crowd.zip"
    with zipfile.ZipFile(crowd, "w") as archive:
        for i in range(10_001):
            archive.writestr(f"f{i}.shp", b"")
    with pytest.raises(DataError, match="10,001"):
        read_source(crowd, kind="grids")


def test_real_archives_still_pass(tmp_path, county_store):
    shp = fx.write_shapefile(tmp_path / "shp", fx.truth_grids(), encoding="gbk_nocpg", system="EPSG:4545")
    archive = fx.write_zip(tmp_path, shp)
    with zipfile.ZipFile(archive, "a") as extra:  # unrelated members are skipped, not counted
        extra.writestr("说明.txt", os.urandom(3_000_000))
    report = run_import(
        county_store,
        archive,
        kind="grids",
        dry_run=True,
        limits=ArchiveLimits(max_unpacked=2_000_000, max_ratio=20.0),
    )
    assert report.ok, report.to_text()


# --- links inside files ----------------------------------------------------------------------


class Listener:
    """A TCP listener on 127.0.0.1 (random port) that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(2)
            try:
                self.requests.append(conn.recv(4096))
                conn.sendall(b'HTTP/1.0 200 OK\r\n\r\nGEOGCS["SECRET-FROM-THE-SERVER"]')
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def _linked_geojson(folder: Path, url: str) -> Path:
    """Points in EPSG:4326 whose crs (and one geometry's crs) are links; a property holds a URL."""
    data = json.loads(fx.in_crs(fx.truth_points(), "EPSG:4326").to_json())
    data["crs"] = {"type": "link", "properties": {"href": f"{url}/crs.wkt", "type": "ogcwkt"}}
    data["features"][0]["geometry"]["crs"] = {"type": "url", "properties": {"url": f"{url}/g"}}
    data["features"][1]["geometry"]["CRS"] = {"type": "name", "properties": {"name": f"/vsicurl/{url}/n"}}
    data["features"][2]["properties"]["address"] = f"{url}/address"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "点位.geojson"
    path.write_text(json.dumps(data, ensure_ascii=True), encoding="utf-8")  # \\u escapes too
    return path


def test_cli_import_of_a_linked_geojson_makes_no_request(tmp_path, listener, database_url):
    path = _linked_geojson(tmp_path, listener.url)
    env = _cli_env(tmp_path, database_url, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    done = subprocess.run(
        [GRIDMAP, "import", str(path), "--as", "points", "--dry-run", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    time.sleep(0.3)
    assert listener.requests == []
    report = json.loads(done.stdout)
    warning = next(w for w in report["warnings"] if "crs" in w["message"])
    assert listener.url in warning["message"] and "不会联网" in warning["message"]
    assert "--crs" in warning["hint"]
    assert "SECRET" not in done.stdout + done.stderr


def test_web_preview_of_a_linked_geojson_makes_no_request(app, client, tmp_path, listener):
    from tests.importer.test_web import _login, _upload

    token = _login(app, client)
    response = _upload(client, token, _linked_geojson(tmp_path, listener.url), kind="points")
    html = response.get_data(as_text=True)
    time.sleep(0.3)
    assert listener.requests == []
    assert response.status_code == 200 and "不会联网" in html and "SECRET" not in html


def test_gdal_itself_is_offline_even_without_the_sanitiser(listener):
    import gridmap.io  # noqa: F401 - switches GDAL's network off for the process

    raw = json.dumps(
        {
            "type": "FeatureCollection",
            "crs": {"type": "link", "properties": {"href": f"{listener.url}/x"}},
            "features": [],
        }
    ).encode()
    pyogrio.read_dataframe(io.BytesIO(raw))  # OSR importFromUrl -> CPLHTTPFetch: refused
    with pytest.raises(pyogrio.errors.DataSourceError):  # GDAL treats the URL as a missing file
        pyogrio.read_info(f"/vsicurl/{listener.url}/data.geojson")
    time.sleep(0.3)
    assert listener.requests == []


def test_kml_network_links_and_linked_prj_are_reported_not_fetched(tmp_path, listener, county_store):
    kml = fx.write_kml(tmp_path / "kml", fx.truth_points(), encoding="utf8", system="EPSG:4326")
    text = kml.read_text(encoding="utf-8")
    link = f"<NetworkLink><name>更多</name><Link><href>{listener.url}/more.kml</href></Link></NetworkLink>"
    text = re.sub(r"(<Document[^>]*>)", r"\1" + link, text, count=1)
    kml.write_text(text, encoding="utf-8")
    report = run_import(county_store, kml, kind="points", dry_run=True)
    assert report.ok, report.to_text()
    assert any(
        "NetworkLink" in w.message and f"{listener.url}/more.kml" in w.message for w in report.warnings
    )
    shp = fx.write_shapefile(tmp_path / "shp", fx.truth_grids(), encoding="utf8_cpg", system="EPSG:4326")
    shp.with_suffix(".prj").write_text(f"{listener.url}/zone.prj", encoding="utf-8")
    report = run_import(county_store, shp, kind="grids", dry_run=True)
    assert any(".prj" in w.message and "不会联网" in w.message for w in report.warnings)
    assert report.ok, report.to_text()  # the coordinates are plausible lon/lat
    time.sleep(0.3)
    assert listener.requests == []


def test_archive_limits_come_from_the_settings(tmp_path, monkeypatch, settings, loaded_store):
    from tests.importer.test_web import _login, _upload
    from web import create_app

    kmz = fx.write_kml(
        tmp_path / "kml", fx.truth_grids(), encoding="utf8", system="EPSG:4326", kmz=True
    )  # a real KMZ of a few KB
    assert read_source(kmz, kind="grids").frame.shape[0] == 3
    monkeypatch.setenv("GRIDMAP_IMPORT_MAX_UNPACKED_MB", "0.001")  # the CLI reads the environment
    with pytest.raises(DataError, match="上限"):
        read_source(kmz, kind="grids")
    monkeypatch.delenv("GRIDMAP_IMPORT_MAX_UNPACKED_MB")
    monkeypatch.setenv("GRIDMAP_IMPORT_MAX_RATIO", "2")
    with pytest.raises(DataError, match="上限 2 倍"):
        read_source(fx.write_bomb(tmp_path / "b.kmz", unpacked=20 * _MIB), kind="grids")
    monkeypatch.delenv("GRIDMAP_IMPORT_MAX_RATIO")
    app = create_app({**settings, "GRIDMAP_IMPORT_MAX_UNPACKED_MB": 0.001})  # the web: its config
    client = app.test_client()
    html = _upload(client, _login(app, client), kmz).get_data(as_text=True)
    assert "未导入" in html and "上限" in html


# --- sheets that claim to be huge --------------------------------------------------------------


def test_sparse_sheet_is_not_padded_to_its_used_range(tmp_path):
    # Two cells a sheet apart: padding to the used range would be 17 billion cells.
    path = fx.write_sparse_xlsx(
        tmp_path / "单位.xlsx",
        {"A1": "单位代码", "B1": "单位名称", "A2": "U1", "B2": "县住建局", "XFD1048576": "x"},
    )
    source = read_source(path, kind="units")
    assert list(source.frame.iloc[0][:2]) == ["U1", "县住建局"]
    assert len(source.frame) == 2 and list(source.labels) == ["第 2 行", "第 1048576 行"]


def test_a_sheet_over_the_cell_budget_is_refused_with_a_message(tmp_path):
    from gridmap.io.read import read_tables

    cells = {"A1": "单位代码", "B1": "单位名称"}
    cells.update({f"XFD{r}": "x" for r in range(2, 400)})  # 400 rows × 16384 columns
    path = fx.write_sparse_xlsx(tmp_path / "单位.xlsx", cells, sheet="责任单位")
    with pytest.raises(DataError) as info:
        read_source(path, kind="units")
    assert "过大" in info.value.message and "责任单位" in info.value.message
    with pytest.raises(DataError, match="过大"):
        read_tables(path)  # gridmap load reads workbooks the same way


@pytest.mark.parametrize(
    "member",
    [
        '"crs": {"type": "link", "properties": {"href": "http://h/x"}}',
        '"CRS": {"type": "URL", "properties": {"url": "https://h/x"}}',
        '"\\u0063rs": {"type": "link", "properties": {"href": "http://h/x"}}',
        '"crs": {"type": "name", "properties": {"name": "/vsicurl/http://h/x"}}',
        '"crs": {"type": "name", "properties": {"name": "/etc/passwd"}}',
        '"crs": "http://h/x"',
    ],
)
def test_linked_crs_members_are_dropped_wherever_they_are(member):
    from gridmap.io.geojson import strip_linked_crs

    text = (
        '{"type": "FeatureCollection", ' + member + ', "features": [{"type": "Feature", '
        '"properties": {"note": "say \\"crs\\": {\\"type\\": \\"link\\"}"}, "geometry": '
        '{"type": "Point", "coordinates": [106.5, 33.9], ' + member + "}}]}"
    )
    out, removed, kept = strip_linked_crs(text)
    assert len(removed) == 2 and kept == 0
    assert "h/x" not in out and "/etc" not in out
    data = json.loads(out)
    assert data[next(k for k in data if k.lower() not in ("type", "features"))] is None
    assert data["features"][0]["properties"]["note"] == 'say "crs": {"type": "link"}'


@pytest.mark.parametrize(
    "crs",
    [
        {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
        {"type": "name", "properties": {"name": "http://www.opengis.net/def/crs/EPSG/0/4545"}},
        {"type": "name", "properties": {"name": "EPSG:4326"}},
        {"type": "EPSG", "properties": {"code": 4545}},
    ],
)
def test_named_crs_members_are_kept(crs):
    from gridmap.io.geojson import strip_linked_crs

    text = json.dumps({"type": "FeatureCollection", "crs": crs, "features": []})
    assert strip_linked_crs(text) == (text, [], 1)
