"""Tests for gridmap.assets and scripts/vendor_assets.py: folium maps load nothing from a CDN."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import branca.colormap as cm
import folium
import pytest
from branca.element import JavascriptLink
from folium import plugins

from gridmap import assets
from gridmap.errors import ConfigError
from tests.browser._hello_app import GRID  # the same one-grid layer as the smoke-test app

ROOT = Path(__file__).resolve().parent.parent
BASE = "/static/vendor"


def _full_map() -> folium.Map:
    m = folium.Map(location=[33.905, 106.505], zoom_start=14, tiles=None)
    cluster = plugins.MarkerCluster(name="考察点位").add_to(m)
    folium.Marker([33.90, 106.50], icon=folium.Icon(icon="info-sign")).add_to(cluster)
    folium.Marker([33.91, 106.51], icon=folium.Icon(icon="flag", prefix="fa", color="red", angle=45)).add_to(
        cluster
    )
    grids = folium.GeoJson(
        GRID,
        name="网格",
        popup=folium.GeoJsonPopup(fields=["name", "code"], aliases=["网格", "编码"]),
        tooltip=folium.GeoJsonTooltip(fields=["name"]),
    ).add_to(m)
    plugins.HeatMap([[33.90, 106.50, 1.0], [33.905, 106.505, 0.4]], name="问题热力").add_to(m)
    plugins.Search(layer=grids, search_label="name", placeholder="搜索网格").add_to(m)
    cm.LinearColormap(["green", "red"], vmin=0, vmax=100, caption="考核得分").add_to(m)
    folium.LayerControl().add_to(m)
    return m


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if (tag, name) in {("script", "src"), ("link", "href"), ("img", "src")} and value:
                self.urls.append((tag, value))


def _linked_urls(html: str) -> list[tuple[str, str]]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


def _local_file(url: str) -> Path:
    path = url.split("?", 1)[0].split("#", 1)[0]
    if path.startswith(BASE + "/"):
        return assets.VENDOR_DIR / path[len(BASE) + 1 :]
    assert path.startswith("/static/"), url
    return assets.STATIC_DIR / path[len("/static/") :]


def test_package_json_pins_exact_versions_that_the_lock_and_registry_agree_on():
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    deps = package["dependencies"]
    for name, spec in deps.items():
        assert re.fullmatch(r"(npm:[@\w./-]+@)?\d+\.\d+\.\d+", spec), f"{name}: {spec} is not exact"
    assert lock["packages"][""]["dependencies"] == deps, "package-lock.json is stale: npm install"
    for key, entry in assets.VENDOR.items():
        if entry["source"] == "npm":
            assert deps[key].endswith(entry["version"])
            assert entry["dir"] == f"{entry['name']}@{entry['version']}"
    assert set(deps) == {k for k, e in assets.VENDOR.items() if e["source"] == "npm"}


def test_every_registered_file_is_vendored(vendored_assets):
    assert assets.missing_files() == []
    assets.ensure_vendored()
    assert (assets.STATIC_DIR / assets.ROTATE_CSS).is_file()
    manifest = json.loads(assets.MANIFEST.read_text(encoding="utf-8"))
    assert {k: p["version"] for k, p in manifest["packages"].items()} == {
        k: e["version"] for k, e in assets.VENDOR.items()
    }


def test_vendor_script_is_idempotent_and_quick(vendored_assets):
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "vendor_assets.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout


def test_vendored_css_refers_only_to_vendored_files(vendored_assets):
    for key, entry in assets.VENDOR.items():
        for css in entry["css"]:
            path = vendored_assets / entry["dir"] / css
            text = path.read_text(encoding="utf-8")
            assert "@import" not in text, f"{path} imports another stylesheet"
            for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", text):
                if ref.startswith(("data:", "#")):
                    continue
                assert not assets.is_remote(ref), f"{path} loads {ref}"
                target = (path.parent / ref.split("?", 1)[0].split("#", 1)[0]).resolve()
                assert target.is_file(), f"{key}: {css} refers to missing {ref}"


def test_localized_map_loads_nothing_from_the_internet(vendored_assets):
    html = assets.render_map_html(_full_map(), base_url=BASE)
    urls = _linked_urls(html)
    assert urls, "expected <script src> and <link href> tags"
    for tag, url in urls:
        assert not assets.is_remote(url), f"<{tag}> loads {url}"
        assert "cdn" not in url.lower()
        assert url.startswith(("/static/vendor/", "/static/css/")), url
        assert _local_file(url).is_file(), f"{url} is not served from web/static"
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    srcs = [url for _, url in urls]
    used = (
        "leaflet",
        "jquery",
        "bootstrap",
        "bootstrap3",
        "@fortawesome/fontawesome-free",
        "leaflet.awesome-markers",
        "leaflet.markercluster",
        "leaflet-search",
        "d3",
        "folium",
    )
    for key in used:
        prefix = f"{BASE}/{assets.VENDOR[key]['dir']}/"
        assert any(url.startswith(prefix) for url in srcs), f"{key} not referenced"
    assert any(url.startswith("/static/css/leaflet.awesome.rotate.css?v=") for url in srcs)


def test_every_folium_default_cdn_url_is_known():
    for url in [url for _, url in folium.Map.default_js + folium.Map.default_css]:
        local = assets.resolve(url, base_url=BASE)
        assert local.startswith(("/static/vendor/", "/static/css/")), (url, local)


def test_localize_sets_instance_lists_and_leaves_folium_classes_alone(vendored_assets):
    cdn_js = list(folium.Map.default_js)
    m = folium.Map(tiles=None)
    assets.localize(m, base_url=BASE)
    assert all(url.startswith(BASE) for _, url in m.default_js)
    assert folium.Map.default_js == cdn_js
    assert folium.Map(tiles=None).default_js == cdn_js
    assets.localize(m, base_url="/other/vendor")  # again, with another base: still local
    assert all(url.startswith(BASE) for _, url in m.default_js)  # already local, unchanged
    html = m.get_root().render()
    assert all(not assets.is_remote(url) for _, url in _linked_urls(html))


def test_render_map_parts_for_our_own_page_template(vendored_assets):
    parts = assets.render_map_parts(_full_map(), base_url="/assets/vendor", static_url="/assets")
    assert set(parts) == {"header", "html", "script"}
    urls = _linked_urls(parts["header"])
    assert ("script", assets.asset_url("leaflet", "dist/leaflet.js", base_url="/assets/vendor")) in urls
    assert any(url.startswith("/assets/css/leaflet.awesome.rotate.css?v=") for _, url in urls)
    assert all(not assets.is_remote(url) for _, url in urls)
    assert "L.map(" in parts["script"]


def test_unknown_cdn_url_raises():
    m = folium.Map(tiles=None)
    plugins.Fullscreen().add_to(m)  # a plugin we have not vendored
    with pytest.raises(assets.UnvendoredAssetError, match=r"leaflet.fullscreen") as caught:
        assets.localize(m, base_url=BASE)
    assert isinstance(caught.value, ConfigError)
    assert "scripts/vendor_assets.py" in str(caught.value)


def test_unknown_link_added_while_rendering_raises():
    m = folium.Map(tiles=None)
    assets.localize(m, base_url=BASE)
    m.get_root().header.add_child(JavascriptLink("https://unpkg.com/leaflet-draw/dist/leaflet.draw.js"))
    with pytest.raises(assets.UnvendoredAssetError, match=r"unpkg.com"):
        m.get_root().render()


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.jsdelivr.net/npm/leaflet@2.0.0/dist/leaflet.js",  # a new major: pin it first
        "https://cdn.jsdelivr.net/npm/bootstrap@6.0.0/dist/css/bootstrap.min.css",
        "//cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.js",
        "http://example.com/x.css",
    ],
)
def test_resolve_rejects_unregistered_urls(url):
    with pytest.raises(assets.UnvendoredAssetError):
        assets.resolve(url, base_url=BASE)


def test_resolve_maps_known_urls_and_passes_local_ones():
    leaflet = assets.VENDOR["leaflet"]["dir"]
    assert (
        assets.resolve("http://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css", base_url=BASE + "/")
        == f"{BASE}/{leaflet}/dist/leaflet.css"
    )
    assert assets.resolve("/static/js/app.js", base_url=BASE) == "/static/js/app.js"
    rotate = assets.resolve(
        "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css",
        base_url=BASE,
    )
    assert re.fullmatch(r"/static/css/leaflet\.awesome\.rotate\.css\?v=[0-9a-f]{12}", rotate)
    js, css = assets.links("leaflet", "leaflet.markercluster", base_url=BASE)
    assert js == [
        f"{BASE}/{leaflet}/dist/leaflet.js",
        f"{BASE}/{assets.VENDOR['leaflet.markercluster']['dir']}/dist/leaflet.markercluster.js",
    ]
    assert len(css) == 3
    with pytest.raises(assets.UnvendoredAssetError, match="unknown vendored package"):
        assets.links("openlayers", base_url=BASE)


def test_rotate_css_covers_every_folium_icon_angle():
    text = (assets.STATIC_DIR / assets.ROTATE_CSS).read_text(encoding="utf-8")
    for angle in range(360):
        assert f".fa-rotate-{angle}{{transform:rotate({angle}deg)}}" in text


def test_our_own_elements_name_vendored_files_by_package_not_by_cdn():
    url = assets.resolve("vendor:leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js", base_url="/v")
    assert url == assets.asset_url(
        "leaflet.vectorgrid", "dist/Leaflet.VectorGrid.bundled.min.js", base_url="/v"
    )
    with pytest.raises(assets.UnvendoredAssetError, match="no-such-package"):
        assets.resolve("vendor:no-such-package/x.js", base_url="/v")
