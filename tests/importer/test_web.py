"""The office's import page: login and role, CSRF, content sniffing, size limit, preview, commit."""

from __future__ import annotations

import io
import re

import pyogrio
from shapely.geometry import box

from tests import factory
from tests.importer import fixtures as fx


def _login(app, client, username="office1", role="office", **kw):
    from gridmap.auth import add_user

    add_user(app.extensions["gridmap.store"], username=username, role=role, password="secret-pass-1", **kw)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": username, "password": "secret-pass-1", "csrf_token": token})
    page = client.get("/login").get_data(as_text=True)  # logging in starts a new session
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _grids_gpkg(tmp_path, name="新网格<script>alert(1)</script>"):
    grids = factory.layers()["grids"].copy()
    grids.loc[1, "name"] = name
    path = tmp_path / "grids.gpkg"
    pyogrio.write_dataframe(grids, path, layer="grids")
    return path


def _upload(client, token, path, *, filename=None, **form):
    data = {
        "csrf_token": token,
        "kind": "grids",
        "mode": "replace",
        **form,
        "file": (io.BytesIO(path.read_bytes()), filename or path.name),
    }
    return client.post("/import/preview", data=data, content_type="multipart/form-data")


def test_anonymous_is_sent_to_login_and_other_roles_are_refused(app, client):
    response = client.get("/import")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    _login(app, client, "unit1", "unit", unit_code="U1")
    assert client.get("/import").status_code == 403


def test_preview_then_commit(app, client, tmp_path):
    token = _login(app, client)
    page = client.get("/import")
    assert page.status_code == 200 and "数据导入" in page.get_data(as_text=True)
    version = app.extensions["gridmap.store"].data_version()
    response = _upload(client, token, _grids_gpkg(tmp_path), filename="网格.gpkg")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "检查通过" in html and "GeoPackage" in html and "EPSG:4326" in html
    assert "<script>alert(1)</script>" not in html  # the name is escaped, in the map too
    sources = re.findall(
        r'(?:src|href)="([^"]*)"', html
    )  # not the page's text: a random nonce may spell "cdn"
    assert sources and not [
        u for u in sources if "cdn" in u.lower() or "unpkg" in u or u.startswith(("http:", "https:", "//"))
    ]
    assert app.extensions["gridmap.store"].data_version() == version  # preview writes nothing
    commit_token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    done = client.post("/import/commit", data={"csrf_token": token, "token": commit_token})
    assert done.status_code == 200 and "已导入 2 条网格数据" in done.get_data(as_text=True)
    assert app.extensions["gridmap.store"].data_version() == version + 1
    grids = client.get("/api/grids").get_json()
    names = {g["name"] for g in (grids if isinstance(grids, list) else grids.get("grids", []))}
    assert "新网格<script>alert(1)</script>" in names  # the cache sees the new data
    again = client.post("/import/commit", data={"csrf_token": token, "token": commit_token})
    assert again.status_code == 400  # a token commits once


def test_forms_need_the_csrf_token(app, client, tmp_path):
    _login(app, client)
    response = _upload(client, "wrong", _grids_gpkg(tmp_path))
    assert response.status_code == 403


def test_type_is_sniffed_from_content_not_name(app, client, tmp_path):
    token = _login(app, client)
    junk = tmp_path / "grids.gpkg"
    junk.write_bytes(b"\x00\x01\x02binary junk" * 100)
    response = _upload(client, token, junk)
    assert response.status_code == 400 and "无法识别" in response.get_data(as_text=True)
    # A GeoPackage called .csv is still read as a GeoPackage.
    disguised = _upload(client, token, _grids_gpkg(tmp_path), filename="表格.csv")
    assert disguised.status_code == 200 and "GeoPackage" in disguised.get_data(as_text=True)
    shp = fx.write_shapefile(tmp_path / "shp", fx.truth_grids(), encoding="utf8_cpg", system="EPSG:4326")
    bare = _upload(client, token, shp)
    assert bare.status_code == 400 and "ZIP" in bare.get_data(as_text=True)


class _UnreadableBody:
    """A request body that fails the test if anything reads it."""

    def __init__(self):
        self.reads = 0

    def read(self, *args):
        self.reads += 1
        raise AssertionError("the request body was read")

    readline = read


def _padded_gpkg(tmp_path, size: int):
    """A real GeoPackage of about `size` bytes: the grids with a long 备注 (note) column."""
    grids = factory.layers()["grids"].copy()
    grids["备注"] = ["说明" * (size // 6), ""]
    path = tmp_path / f"grids-{size}.gpkg"
    pyogrio.write_dataframe(grids, path, layer="grids")
    assert abs(path.stat().st_size - size) < 300_000
    return path


def test_upload_limit_is_the_setting_not_the_photo_limit_and_bigger_is_413_unread(
    settings, loaded_store, tmp_path
):
    from web import create_app

    app = create_app({**settings, "GRIDMAP_IMPORT_MAX_MB": 3})
    app.config["MAX_CONTENT_LENGTH"] = 2_000_000  # the app-wide limit (photos) is smaller
    client = app.test_client()
    token = _login(app, client)
    # 2.8 MB: over the app-wide limit, under GRIDMAP_IMPORT_MAX_MB -- accepted and checked.
    ok = _upload(client, token, _padded_gpkg(tmp_path, 2_800_000), filename="网格.gpkg")
    assert ok.status_code == 200, ok.get_data(as_text=True)[:500]
    assert "检查通过" in ok.get_data(as_text=True)
    # 3.4 MB file: the body is within the form allowance but the file is over the limit.
    over = _upload(client, token, _padded_gpkg(tmp_path, 3_400_000), filename="网格.gpkg")
    html = over.get_data(as_text=True)
    assert over.status_code == 413 and "文件过大" in html and "3 MB" in html
    assert "GRIDMAP_IMPORT_MAX_MB" in html
    # 40 MB announced: refused from the Content-Length alone, the body is never read.
    body = _UnreadableBody()
    refused = client.post(
        "/import/preview",
        content_type="multipart/form-data; boundary=x",
        environ_overrides={"wsgi.input": body, "CONTENT_LENGTH": "40000000"},
    )
    assert refused.status_code == 413 and body.reads == 0
    assert "文件过大" in refused.get_data(as_text=True)
    folder = tmp_path / "instance" / "uploads" / "imports"
    assert len(list(folder.iterdir())) == 1  # only the upload that passed waits for "confirm"


def test_errors_are_listed_and_nothing_is_offered_to_commit(app, client, tmp_path):
    token = _login(app, client)
    path = fx.write_csv(tmp_path, fx.truth_points(), encoding="gbk", system="EPSG:4545")
    response = _upload(client, token, path, kind="points")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "未导入" in html and "--crs" in html and 'name="token"' not in html
    fixed = _upload(client, token, path, kind="points", crs="EPSG:4545")
    assert "检查通过" in fixed.get_data(as_text=True)


def _uploads(tmp_path) -> list:
    folder = tmp_path / "instance" / "uploads" / "imports"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_failed_previews_leave_nothing_and_kept_ones_expire(app, client, tmp_path):
    import os
    import time

    token = _login(app, client)
    bad = fx.write_csv(tmp_path, fx.truth_points(), encoding="gbk", system="EPSG:4545")
    failed = _upload(client, token, bad, kind="points")  # projected, no --crs: refused
    assert failed.status_code == 200 and "未导入" in failed.get_data(as_text=True)
    assert _uploads(tmp_path) == []  # deleted at once, not after a day
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01junk" * 50)
    assert _upload(client, token, junk).status_code == 400
    assert _uploads(tmp_path) == []
    passed = _upload(client, token, _grids_gpkg(tmp_path))
    html = passed.get_data(as_text=True)
    assert "检查通过" in html
    assert len(_uploads(tmp_path)) == 1  # waits for "confirm"
    commit_token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    # Older than GRIDMAP_IMPORT_KEEP_MINUTES (60): removed the next time the page is used.
    kept = tmp_path / "instance" / "uploads" / "imports" / commit_token / "data.gpkg"
    old = time.time() - 61 * 60
    os.utime(kept, (old, old))
    assert client.get("/import").status_code == 200
    assert _uploads(tmp_path) == []
    late = client.post("/import/commit", data={"csrf_token": token, "token": commit_token})
    assert late.status_code == 400 and "过期" in late.get_data(as_text=True)


def test_a_session_keeps_a_few_pending_uploads(app, client, tmp_path):
    token = _login(app, client)
    path = _grids_gpkg(tmp_path)
    for _ in range(6):
        assert "检查通过" in _upload(client, token, path).get_data(as_text=True)
    assert len(_uploads(tmp_path)) == 4  # the oldest are deleted with their session entries


def test_keep_minutes_is_a_setting(settings, loaded_store, tmp_path):
    import os
    import time

    from web import create_app

    app = create_app({**settings, "GRIDMAP_IMPORT_KEEP_MINUTES": 120})
    client = app.test_client()
    token = _login(app, client)
    assert "检查通过" in _upload(client, token, _grids_gpkg(tmp_path)).get_data(as_text=True)
    (name,) = _uploads(tmp_path)
    old = time.time() - 61 * 60
    os.utime(tmp_path / "instance" / "uploads" / "imports" / name, (old, old))
    client.get("/import")
    assert _uploads(tmp_path) == [name]  # 61 minutes < 120: still waiting for "confirm"


def test_the_tolerance_field_starts_at_the_coverage_setting(settings, loaded_store, tmp_path):
    from web import create_app

    app = create_app({**settings, "GRIDMAP_COVERAGE_TOLERANCE_M2": 25})
    client = app.test_client()
    token = _login(app, client)
    assert 'name="tolerance" type="number" step="any" min="0" value="25"' in client.get("/import").get_data(
        as_text=True
    )
    # The second grid reaches 0.0001 degrees (about 9.2 m) into the first: about 10,000 m².
    grids = factory.layers()["grids"].copy()
    grids.geometry = [box(106.510, 33.905, 106.520, 33.915), box(106.5199, 33.905, 106.530, 33.915)]
    path = tmp_path / "overlap.gpkg"
    pyogrio.write_dataframe(grids, path, layer="grids")
    overlap = "网格 610330100001 与网格 610330100002 重叠"
    html = _upload(client, token, path).get_data(as_text=True)
    assert overlap in html and 'value="25"' in html
    # The form's own tolerance overrides the setting.
    quiet = _upload(client, token, path, tolerance="1000000").get_data(as_text=True)
    assert "检查通过" in quiet and overlap not in quiet and 'value="1e+06"' in quiet
