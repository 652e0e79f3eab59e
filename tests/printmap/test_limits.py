"""Print maps under abuse: resolution limit for visitors, a disk cache per data version, a busy answer."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from gridmap import printmap
from gridmap.printmap import PrintCache
from tests import factory
from tests.loadgen import saturated_heavy_work

GRID = "/export/grids/610330100001"


@pytest.fixture
def app(tmp_path, database_url):
    from gridmap.auth import add_user, issue_token
    from gridmap.reference import load_directory
    from gridmap.store import Store
    from web import create_app

    settings = {
        "GRIDMAP_INSTANCE_DIR": str(tmp_path / "instance"),
        "GRIDMAP_DATABASE_URL": database_url,
        "GRIDMAP_SECRET_KEY": "test-secret",
    }
    store = Store(settings["GRIDMAP_DATABASE_URL"])
    load_directory(store, factory.write_dataset(tmp_path / "data"))
    app = create_app(settings)
    add_user(store, username="office1", role="office", password="secret-pass-1")
    app.config["TEST_STAFF"] = {"Authorization": f"Bearer {issue_token(store, username='office1', days=90)}"}
    return app


@pytest.fixture
def renders(monkeypatch):
    """Count real renderings (cache hits do not render)."""
    calls = []
    real = printmap.render_map

    def counting(*args, **kwargs):
        calls.append(kwargs.get("dpi"))
        return real(*args, **kwargs)

    monkeypatch.setattr(printmap, "render_map", counting)
    return calls


def test_visitors_get_at_most_200_dpi_with_a_clear_message(app):
    client = app.test_client()
    r = client.get(f"{GRID}.png?dpi=600&paper=A3")
    assert r.status_code == 403
    text = r.get_data(as_text=True)
    assert "200 dpi" in text and "600 dpi" in text and "登录" in text
    ok = client.get(f"{GRID}.png?paper=A4")  # no dpi: the visitor's highest, not 300
    assert ok.status_code == 200
    assert round(Image.open(io.BytesIO(ok.data)).info["dpi"][0]) == 200
    assert client.get(f"{GRID}.png?dpi=150&paper=A3").status_code == 200


def test_logged_in_staff_may_ask_for_600_dpi(app):
    r = app.test_client().get(f"{GRID}.pdf?dpi=600&paper=A3", headers=app.config["TEST_STAFF"])
    assert r.status_code == 200 and r.data.startswith(b"%PDF")


def test_download_form_offers_visitors_only_what_they_may_ask(app):
    page = app.test_client().get("/grids/610330100001").get_data(as_text=True)
    assert 'value="600"' not in page and 'value="200" selected' in page and "登录后可选" in page


def test_the_same_page_is_rendered_once_per_data_version(app, renders, tmp_path):
    client = app.test_client()
    first = client.get(f"{GRID}.png?dpi=100")
    second = client.get(f"{GRID}.png?dpi=100")
    assert first.status_code == second.status_code == 200
    assert first.data == second.data and len(renders) == 1
    assert first.headers["Content-Disposition"] == second.headers["Content-Disposition"]
    assert list((tmp_path / "instance" / "print-cache").glob("*.page"))
    client.get(f"{GRID}.png?dpi=110")  # other options: another page
    assert len(renders) == 2
    # new data, new version: drawn afresh
    from gridmap.reference import load_directory

    load_directory(app.extensions["gridmap.store"], factory.write_dataset(tmp_path / "data2"))
    client.get(f"{GRID}.png?dpi=100")
    assert len(renders) == 3


def test_data_downloads_are_made_once_per_data_version(app, monkeypatch, tmp_path):
    from gridmap import dataexport

    calls = []
    real = dataexport.export_data

    def counting(model, *, fmt):
        calls.append(fmt)
        return real(model, fmt=fmt)

    monkeypatch.setattr(dataexport, "export_data", counting)
    client = app.test_client()
    first, second = client.get("/export/data.gpkg"), client.get("/export/data.GPKG")
    assert first.status_code == second.status_code == 200
    assert first.data == second.data and calls == ["gpkg"]
    assert "filename*=UTF-8''" in second.headers["Content-Disposition"]
    assert client.get("/export/data.xlsx").status_code == 200 and calls == ["gpkg", "xlsx"]
    from gridmap.reference import load_directory

    load_directory(app.extensions["gridmap.store"], factory.write_dataset(tmp_path / "data2"))
    assert client.get("/export/data.gpkg").status_code == 200 and calls == ["gpkg", "xlsx", "gpkg"]


def test_cache_stays_within_its_budget_dropping_the_least_recently_used(tmp_path):
    cache = PrintCache(tmp_path / "c", max_bytes=25_000)
    for i in range(5):
        cache.put(f"k{i}", {"n": i}, bytes(8_000))
        time.sleep(0.02)
        if i == 1:
            assert cache.get("k0") is not None  # used again: kept longer than k1
    kept = {p.stem for p in (tmp_path / "c").glob("*.page")}
    assert sum(p.stat().st_size for p in (tmp_path / "c").glob("*.page")) <= 25_000
    assert "k4" in kept and "k1" not in kept
    assert cache.get("k4") == ({"n": 4}, bytes(8_000))
    cache.put("huge", {}, bytes(30_000))  # larger than the whole budget: not kept
    assert cache.get("huge") is None


def test_render_waits_for_a_slot_then_answers_503_with_retry_after(app):
    with saturated_heavy_work(wait_s=0.3):
        r = app.test_client().get(f"{GRID}.png?dpi=90")
        assert r.status_code == 503
        assert int(r.headers["Retry-After"]) >= 1
        assert "服务器正忙于其他地图出图" in r.get_data(as_text=True)
    assert app.test_client().get(f"{GRID}.png?dpi=90").status_code == 200
