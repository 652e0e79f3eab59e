"""Vendored front-end assets: the registry, and rewriting folium's CDN links to local URLs.

Nothing may load from the internet at run time (the county intranet has none). The
JavaScript and CSS that folium and its plugins reference on CDNs are installed from npm
(``package.json`` / ``package-lock.json`` at the project root, exact versions) and
copied by ``scripts/vendor_assets.py`` into ``web/static/vendor/<package>@<version>/``.

* ``VENDOR`` describes every vendored package: its version (read from
  ``package-lock.json``, the one source of truth), the folder it is served from and the
  files we use.
* ``localize(m, base_url=...)`` rewrites the CDN links of a folium map, of every element
  under it and of the figure header to those local URLs, and raises
  ``UnvendoredAssetError`` for a CDN link the registry does not know, so a new plugin
  cannot silently load from the internet.
* ``render_map_html`` / ``render_map_parts`` localize and render in one step.

This module never imports Flask; ``base_url`` is whatever URL the web layer serves
``web/static/vendor`` under (for example ``/static/vendor``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from branca.element import Element, Figure, Link

from gridmap.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_LOCK = PROJECT_ROOT / "package-lock.json"
STATIC_DIR = PROJECT_ROOT / "web" / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
MANIFEST = VENDOR_DIR / "manifest.json"

#: Our own stand-in for folium's leaflet.awesome.rotate.css, relative to ``STATIC_DIR``.
ROTATE_CSS = "css/leaflet.awesome.rotate.css"

VENDOR_HINT = "请先运行 python scripts/vendor_assets.py (run python scripts/vendor_assets.py first)"

# What we use from each package. Keys are the dependency names in package.json (the
# npm alias "bootstrap3" keeps Bootstrap 3, needed only for its Glyphicons font, apart
# from Bootstrap 5). "files" are not linked from pages but referenced by the CSS
# (fonts, images) or by Leaflet's JS (default marker images). "generated" files do not
# exist in the package; scripts/vendor_assets.py builds them with the named recipe.
# "folium" is not an npm package: folium's wheel ships the Leaflet.heat build (with the
# weights patch, Leaflet.heat PR #78) that its HeatMap plugin expects; npm's
# leaflet.heat 0.2.0 lacks that patch, so we serve folium's copy.
_SPEC: dict[str, dict[str, Any]] = {
    "leaflet": {
        "js": ["dist/leaflet.js"],
        "css": ["dist/leaflet.css"],
        "files": [
            "dist/images/layers.png",
            "dist/images/layers-2x.png",
            "dist/images/marker-icon.png",
            "dist/images/marker-icon-2x.png",
            "dist/images/marker-shadow.png",
        ],
    },
    "jquery": {"js": ["dist/jquery.min.js"]},
    "bootstrap": {
        "js": ["dist/js/bootstrap.bundle.min.js"],
        "css": ["dist/css/bootstrap.min.css"],
    },
    "bootstrap3": {
        "css": ["dist/css/bootstrap-glyphicons.css"],
        "files": [
            f"dist/fonts/glyphicons-halflings-regular.{ext}" for ext in ("eot", "svg", "ttf", "woff", "woff2")
        ],
        "generated": {"dist/css/bootstrap-glyphicons.css": "glyphicons"},
    },
    "@fortawesome/fontawesome-free": {
        "css": ["css/all.min.css"],
        "files": [
            f"webfonts/{font}.{ext}"
            for font in ("fa-brands-400", "fa-regular-400", "fa-solid-900", "fa-v4compatibility")
            for ext in ("woff2", "ttf")
        ],
    },
    "leaflet.awesome-markers": {
        "js": ["dist/leaflet.awesome-markers.js"],
        "css": ["dist/leaflet.awesome-markers.css"],
        "files": [
            "dist/images/markers-soft.png",
            "dist/images/markers-soft@2x.png",
            "dist/images/markers-shadow.png",
            "dist/images/markers-shadow@2x.png",
        ],
    },
    "leaflet.markercluster": {
        "js": ["dist/leaflet.markercluster.js"],
        "css": ["dist/MarkerCluster.css", "dist/MarkerCluster.Default.css"],
    },
    "leaflet-search": {
        "js": ["dist/leaflet-search.min.js"],
        "css": ["dist/leaflet-search.min.css"],
        "files": ["images/loader.gif", "images/search-icon.png"],
    },
    "d3": {"js": ["d3.min.js"]},  # v3, for branca colormap legends (folium.Choropleth)
    "echarts": {"js": ["dist/echarts.min.js"]},  # Apache ECharts: the charts of the dashboard (/dashboard)
    # Leaflet.VectorGrid (bundled with its pbf and vector-tile decoders): maps drawn from /vt/ tiles
    "leaflet.vectorgrid": {"js": ["dist/Leaflet.VectorGrid.bundled.min.js"]},
    "folium": {"source": "python", "js": ["templates/leaflet_heat.min.js"]},
}

#: How our own map elements name a vendored file in ``default_js``/``default_css``:
#: ``vendor:<package>/<path>`` (resolved by ``localize`` like a known CDN URL).
VENDOR_SCHEME = "vendor:"

_LOCAL = "<static>"  # CDN files we replace with our own file under STATIC_DIR

# Every CDN URL folium 0.20 and the plugins we use reference, with the file that
# replaces it. The scheme is ignored; "{v}" stands for the rest of a version number,
# so a folium upgrade that only bumps a CDN version still maps, while a new major
# version (or a new plugin) raises until someone pins it here and in package.json.
_CDN: list[tuple[str, str, str]] = [
    ("//cdn.jsdelivr.net/npm/leaflet@1.{v}/dist/leaflet.js", "leaflet", "dist/leaflet.js"),
    ("//cdn.jsdelivr.net/npm/leaflet@1.{v}/dist/leaflet.css", "leaflet", "dist/leaflet.css"),
    ("//code.jquery.com/jquery-3.{v}.min.js", "jquery", "dist/jquery.min.js"),
    (
        "//cdn.jsdelivr.net/npm/bootstrap@5.{v}/dist/js/bootstrap.bundle.min.js",
        "bootstrap",
        "dist/js/bootstrap.bundle.min.js",
    ),
    (
        "//cdn.jsdelivr.net/npm/bootstrap@5.{v}/dist/css/bootstrap.min.css",
        "bootstrap",
        "dist/css/bootstrap.min.css",
    ),
    (
        "//netdna.bootstrapcdn.com/bootstrap/3.{v}/css/bootstrap-glyphicons.css",
        "bootstrap3",
        "dist/css/bootstrap-glyphicons.css",
    ),
    (
        "//cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.{v}/css/all.min.css",
        "@fortawesome/fontawesome-free",
        "css/all.min.css",
    ),
    (
        "//cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.{v}/leaflet.awesome-markers.js",
        "leaflet.awesome-markers",
        "dist/leaflet.awesome-markers.js",
    ),
    (
        "//cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.{v}/leaflet.awesome-markers.css",
        "leaflet.awesome-markers",
        "dist/leaflet.awesome-markers.css",
    ),
    (
        "//cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.{v}/leaflet.markercluster.js",
        "leaflet.markercluster",
        "dist/leaflet.markercluster.js",
    ),
    (
        "//cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.{v}/MarkerCluster.css",
        "leaflet.markercluster",
        "dist/MarkerCluster.css",
    ),
    (
        "//cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.{v}/MarkerCluster.Default.css",
        "leaflet.markercluster",
        "dist/MarkerCluster.Default.css",
    ),
    (
        "//cdn.jsdelivr.net/npm/leaflet-search@{v}/dist/leaflet-search.min.js",
        "leaflet-search",
        "dist/leaflet-search.min.js",
    ),
    (
        "//cdn.jsdelivr.net/npm/leaflet-search@{v}/dist/leaflet-search.min.css",
        "leaflet-search",
        "dist/leaflet-search.min.css",
    ),
    ("//cdnjs.cloudflare.com/ajax/libs/d3/3.{v}/d3.min.js", "d3", "d3.min.js"),
    (
        "//cdn.jsdelivr.net/gh/python-visualization/folium{@ref}/folium/templates/leaflet_heat.min.js",
        "folium",
        "templates/leaflet_heat.min.js",
    ),
    (
        "//cdn.jsdelivr.net/gh/python-visualization/folium{@ref}/folium/templates/leaflet.awesome.rotate.min.css",
        _LOCAL,
        ROTATE_CSS,
    ),
    (
        "//cdn.jsdelivr.net/gh/python-visualization/folium{@ref}/folium/templates/leaflet.awesome.rotate.css",
        _LOCAL,
        ROTATE_CSS,
    ),
]


class UnvendoredAssetError(ConfigError):
    """A page would load a file from the internet that we do not serve ourselves."""

    code = "unvendored_asset"


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{v\}|\{@ref\})", template)
    wild = {"{v}": r"[0-9A-Za-z.\-]+", "{@ref}": r"(?:@[0-9A-Za-z._\-]+)?"}
    return re.compile("".join(wild.get(p, re.escape(p)) for p in parts), re.IGNORECASE)


_CDN_PATTERNS = [(_pattern(template), key, path) for template, key, path in _CDN]


def _load_versions() -> dict[str, tuple[str, str]]:
    """(name, version) of every npm package in _SPEC, from package-lock.json (or the manifest)."""
    keys = [key for key, spec in _SPEC.items() if spec.get("source", "npm") == "npm"]
    if PACKAGE_LOCK.is_file():
        lock = json.loads(PACKAGE_LOCK.read_text(encoding="utf-8"))
        packages = lock.get("packages", {})
        found = {}
        for key in keys:
            entry = packages.get(f"node_modules/{key}")
            if entry is None or "version" not in entry:
                msg = (
                    f"package-lock.json 中没有 {key}：请在 package.json 中固定其版本并运行 "
                    f"npm install --package-lock-only (package-lock.json lacks {key})"
                )
                raise ConfigError(msg)
            found[key] = (entry.get("name", key), entry["version"])
        return found
    if MANIFEST.is_file():  # a deployment that ships web/static/vendor without the lock file
        packages = json.loads(MANIFEST.read_text(encoding="utf-8"))["packages"]
        return {key: (packages[key]["name"], packages[key]["version"]) for key in keys}
    msg = f"找不到 {PACKAGE_LOCK}（也没有 {MANIFEST}）：无法确定前端库版本。{VENDOR_HINT}"
    raise ConfigError(msg)


def _build_vendor() -> dict[str, dict[str, Any]]:
    versions = _load_versions()
    vendor: dict[str, dict[str, Any]] = {}
    for key, spec in _SPEC.items():
        source = spec.get("source", "npm")
        if source == "npm":
            name, version = versions[key]
        else:
            name, version = key, metadata.version(key)
        vendor[key] = {
            "name": name,
            "version": version,
            "dir": f"{name}@{version}",
            "source": source,
            "js": list(spec.get("js", [])),
            "css": list(spec.get("css", [])),
            "files": list(spec.get("files", [])),
            "generated": dict(spec.get("generated", {})),
        }
    return vendor


#: Every vendored package: name, version, dir (``<name>@<version>``), source, js, css,
#: files and generated, keyed by its package.json dependency name.
VENDOR: dict[str, dict[str, Any]] = _build_vendor()


def asset_files() -> list[str]:
    """Paths, relative to ``VENDOR_DIR``, of every file the registry promises to serve."""
    paths = []
    for entry in VENDOR.values():
        for path in entry["js"] + entry["css"] + entry["files"]:
            paths.append(f"{entry['dir']}/{path}")
    return paths


def missing_files() -> list[str]:
    """The promised files that are not (yet) under ``VENDOR_DIR``."""
    return [path for path in asset_files() if not (VENDOR_DIR / path).is_file()]


def ensure_vendored() -> None:
    """Raise ``ConfigError`` if ``scripts/vendor_assets.py`` has not been run for these versions."""
    missing = missing_files()
    if missing:
        shown = "、".join(missing[:3]) + ("……" if len(missing) > 3 else "")
        msg = f"前端库文件缺失（共 {len(missing)} 个，如 {shown}）。{VENDOR_HINT}"
        raise ConfigError(msg)


def _entry(key: str) -> dict[str, Any]:
    entry = VENDOR.get(key)
    if entry is None:
        msg = f"没有名为 {key!r} 的前端库 (unknown vendored package; known: {', '.join(VENDOR)})"
        raise UnvendoredAssetError(msg)
    return entry


def asset_url(key: str, path: str, *, base_url: str) -> str:
    """URL of one vendored file: ``{base_url}/{package}@{version}/{path}``."""
    return f"{base_url.rstrip('/')}/{_entry(key)['dir']}/{path}"


def links(*keys: str, base_url: str) -> tuple[list[str], list[str]]:
    """(js URLs, css URLs) of the named packages, in order, for hand-written page templates."""
    js: list[str] = []
    css: list[str] = []
    for key in keys:
        entry = _entry(key)
        js += [asset_url(key, path, base_url=base_url) for path in entry["js"]]
        css += [asset_url(key, path, base_url=base_url) for path in entry["css"]]
    return js, css


@cache
def _static_version(path: str) -> str:
    return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:12]


def static_asset_url(path: str, *, static_url: str) -> str:
    """URL of one of our own files under ``web/static``, with a content hash for caching."""
    return f"{static_url.rstrip('/')}/{path}?v={_static_version(path)}"


def is_remote(url: str) -> bool:
    """True for a URL that would leave our server (``http:``, ``https:`` or ``//host``)."""
    return url.strip().lower().startswith(("http://", "https://", "//"))


def resolve(url: str, *, base_url: str, static_url: str | None = None) -> str:
    """The local URL that replaces a CDN URL or a ``vendor:<package>/<path>`` reference; local URLs are
    returned unchanged.

    ``base_url`` is where ``web/static/vendor`` is served; ``static_url`` where
    ``web/static`` is served (default: the parent of ``base_url``).
    """
    if url.startswith(VENDOR_SCHEME):  # our own elements name a vendored file, never a CDN
        key, _, path = url.removeprefix(VENDOR_SCHEME).partition("/")
        return asset_url(key, path, base_url=base_url)
    if not is_remote(url):
        return url
    bare = re.sub(r"^[a-z]+:", "", url.strip(), flags=re.IGNORECASE)
    for pattern, key, path in _CDN_PATTERNS:
        if pattern.fullmatch(bare):
            if key == _LOCAL:
                if static_url is None:
                    static_url = base_url.rstrip("/").rsplit("/", 1)[0]
                return static_asset_url(path, static_url=static_url)
            return asset_url(key, path, base_url=base_url)
    msg = (
        f"地图引用了未本地化的外部文件 {url}：县内网无法访问互联网，"
        "请在 package.json 固定该库版本并登记到 gridmap/assets.py 的 _SPEC 与 _CDN，"
        f"再运行 scripts/vendor_assets.py (CDN URL not in the vendored-asset registry: {url})"
    )
    raise UnvendoredAssetError(msg)


def _walk(element: Element) -> Iterator[Element]:
    yield element
    if isinstance(element, Figure):
        for part in (element.header, element.html, element.script):
            yield from _walk(part)
    for child in list(element._children.values()):
        yield from _walk(child)


class _LocalizingHeader(Element):
    """A figure header that localizes links added to it while the figure renders.

    Some elements only add their links at render time (branca colormaps add d3, for
    instance), after ``localize`` has walked the tree; this catches those too.
    """

    def __init__(self, original: Element, resolver: Callable[[str], str]) -> None:
        super().__init__()
        self._name = original._name
        self._id = original._id
        self._children = original._children
        self._parent = original._parent
        self._template = original._template
        self.resolver = resolver

    def render(self, **kwargs: Any) -> str:
        for child in self._children.values():
            if isinstance(child, Link):
                child.url = self.resolver(child.url)
        return super().render(**kwargs)


def localize(element: Element, *, base_url: str, static_url: str | None = None) -> None:
    """Point every CDN link of a folium map (or any element in it) at our vendored copies.

    Walks the whole figure the element belongs to: ``default_js`` / ``default_css`` of
    the map and every plugin (set on the instance; folium's class lists stay untouched),
    links already in the figure header, and links added while rendering.

    Raises
    ------
    UnvendoredAssetError
        For a CDN URL the registry does not know.
    """

    def resolver(url: str) -> str:
        return resolve(url, base_url=base_url, static_url=static_url)

    root = element.get_root()
    for node in _walk(root):
        for attr in ("default_js", "default_css"):
            pairs = getattr(node, attr, None)
            if isinstance(pairs, (list, tuple)):
                setattr(node, attr, [(name, resolver(url)) for name, url in pairs])
        if isinstance(node, Link):
            node.url = resolver(node.url)
    if isinstance(root, Figure):
        if isinstance(root.header, _LocalizingHeader):
            root.header.resolver = resolver
        else:
            root.header = _LocalizingHeader(root.header, resolver)
            for child in root.header._children.values():
                child._parent = root.header


def render_map_html(m: Element, *, base_url: str, static_url: str | None = None) -> str:
    """The complete HTML page of a folium map, loading only vendored files."""
    localize(m, base_url=base_url, static_url=static_url)
    return m.get_root().render()


def render_map_parts(m: Element, *, base_url: str, static_url: str | None = None) -> dict[str, str]:
    """``header``, ``html`` and ``script`` of a localized map, to embed in our own page."""
    localize(m, base_url=base_url, static_url=static_url)
    root: Any = m.get_root()  # a branca Figure: header, html and script are its children
    root.render()
    return {
        "header": root.header.render(),
        "html": root.html.render(),
        "script": root.script.render(),
    }
