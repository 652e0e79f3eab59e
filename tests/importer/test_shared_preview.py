"""A preview made through one app server is confirmed through another: the upload waits in the shared storage."""

from __future__ import annotations

from gridmap.importer.uploads import Uploads
from gridmap.settings import load_settings
from tests.importer.test_web import _grids_gpkg, _login, _upload


def _server(settings, shared_storage, tmp_path, name):
    """One app server: the deployment's database and storage, an instance folder of its own."""
    from web import create_app

    return create_app({**settings, **shared_storage, "GRIDMAP_INSTANCE_DIR": str(tmp_path / name)})


def test_a_preview_made_on_one_server_is_confirmed_on_another(
    settings, loaded_store, shared_storage, tmp_path
):
    one = _server(settings, shared_storage, tmp_path, "server1")
    two = _server(settings, shared_storage, tmp_path, "server2")
    first, second = one.test_client(), two.test_client()
    token = _login(one, first)
    grids = _grids_gpkg(tmp_path, name="共享网格")
    html = _upload(first, token, grids).get_data(as_text=True)
    assert "检查通过" in html, html
    commit_token = next(p.split('"')[0] for p in html.split('name="token" value="')[1:])
    # nothing of it on either server's own disk: it waits in the shared storage
    for name in ("server1", "server2"):
        assert not (tmp_path / name / "uploads" / "imports").exists()
    kept = Uploads.from_settings(load_settings({**settings, **shared_storage}, environ={}))
    assert [key.split("/")[0] for key, _ in kept.storage.listing()] == [commit_token]
    # the browser's next request goes to the other server, with the same session cookie
    second.set_cookie(
        one.config["SESSION_COOKIE_NAME"], first.get_cookie(one.config["SESSION_COOKIE_NAME"]).value
    )
    version = loaded_store.data_version()
    done = second.post("/import/commit", data={"csrf_token": token, "token": commit_token})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert loaded_store.data_version() == version + 1
    assert "共享网格" in set(loaded_store.read_dataset().layers["grids"]["name"])
    assert kept.storage.listing() == []  # used once, then gone for every server
    again = first.post("/import/commit", data={"csrf_token": token, "token": commit_token})
    assert again.status_code == 400 and "过期" in again.get_data(as_text=True)
