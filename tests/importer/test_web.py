"""The office's import page: login and role, CSRF, content sniffing, size limit, preview, commit."""

from __future__ import annotations

import io
import re

import pyogrio

from tests import factory
from tests.importer import fixtures as fx


def _login(app, client, username="office1", role="office", **kw):
    from gridmap.auth import add_user

    add_user(app.extensions["gridmap.store"], username=username, role=role,
             password="secret-pass-1", **kw)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": username, "password": "secret-pass-1",
                                "csrf_token": token})
    page = client.get("/login").get_data(as_text=True)  # logging in starts a new session
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _grids_gpkg(tmp_path, name="新网格<script>alert(1)</script>"):
    grids = factory.layers()["grids"].copy()
    grids.loc[1, "name"] = name
    path = tmp_path / "grids.gpkg"
    pyogrio.write_dataframe(grids, path, layer="grids")
    return path


def _upload(client, token, path, *, filename=None, **form):
    data = {"csrf_token": token, "kind": "grids", "mode": "replace", **form,
            "file": (io.BytesIO(path.read_bytes()), filename or path.name)}
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
    assert "cdn" not in html.lower() and "unpkg" not in html
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
    shp = fx.write_shapefile(tmp_path / "shp", fx.truth_grids(), encoding="utf8_cpg",
                             system="EPSG:4326")
    bare = _upload(client, token, shp)
    assert bare.status_code == 400 and "ZIP" in bare.get_data(as_text=True)


def test_upload_size_is_limited(settings, loaded_store, tmp_path):
    from web import create_app

    app = create_app({**settings, "GRIDMAP_IMPORT_MAX_MB": 0.001})
    client = app.test_client()
    token = _login(app, client)
    response = _upload(client, token, _grids_gpkg(tmp_path))
    assert response.status_code == 400 and "文件过大" in response.get_data(as_text=True)


def test_errors_are_listed_and_nothing_is_offered_to_commit(app, client, tmp_path):
    token = _login(app, client)
    path = fx.write_csv(tmp_path, fx.truth_points(), encoding="gbk", system="EPSG:4545")
    response = _upload(client, token, path, kind="points")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "未导入" in html and "--crs" in html and 'name="token"' not in html
    fixed = _upload(client, token, path, kind="points", crs="EPSG:4545")
    assert "检查通过" in fixed.get_data(as_text=True)
