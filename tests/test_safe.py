"""gridmap.safe: each escaping context checked by a real parser (Python's HTML parser, node's
JavaScript engine), and every map builder's script checked with hostile names."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from gridmap import safe

HOSTILE = [
    "王记`小吃",
    "${alert(1)}",
    "`;alert(1);`",
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    'it\'s "quoted"',
    "back\\slash\\`${x}",
    "line\u2028sep\u2029para",
    "<!-- comment",
    "a & b > c",
    "\\",
    "$",
    "${",
    "a\r\nb",
]
NODE = shutil.which("node") or shutil.which("nodejs")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (npm installs it for the assets)")


class _Parsed(HTMLParser):
    """Elements and text as an HTML parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.script: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        (self.script if self._in_script else self.text).append(data)


def _parse(html: str) -> _Parsed:
    parser = _Parsed()
    parser.feed(html)
    parser.close()
    return parser


def _node(source: str) -> str:
    done = subprocess.run([NODE, "-e", source], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


# ---------------------------------------------------------------- HTML


@pytest.mark.parametrize("value", HOSTILE)
def test_html_text_is_text_for_the_html_parser(value):
    parsed = _parse(f"<p>{safe.html_text(value)}</p>")
    assert [tag for tag, _ in parsed.tags] == ["p"]  # no element made from the value
    assert "".join(parsed.text) == value


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("quote", ['"', "'"])
def test_html_attr_stays_inside_its_quotes(value, quote):
    parsed = _parse(f"<a title={quote}{safe.html_attr(value)}{quote} class=x>ok</a>")
    assert parsed.tags == [("a", {"title": value, "class": "x"})]


def test_missing_values_show_as_a_dash():
    for value in (None, float("nan"), "", "  "):
        assert safe.html_text(value) == "—"
        assert safe.text(value) == ""
    assert safe.html_text(None, missing="") == ""
    assert safe.html_text(0) == "0"


def test_url_part_keeps_one_path_segment():
    assert safe.url_part("U1/../x?y#z'\"<") == "U1%2F..%2Fx%3Fy%23z%27%22%3C"
    assert safe.url_part("住建局") == "%E4%BD%8F%E5%BB%BA%E5%B1%80"


# ---------------------------------------------------------------- JavaScript


def _script_page(js: str) -> _Parsed:
    return _parse(f"<script>{js}</script><p>after</p>")


@pytest.mark.parametrize("value", HOSTILE)
def test_script_json_never_ends_the_script_element(value):
    for js in (
        f"var v = {safe.script_json({'name': value, 'list': [value]})};",
        f"var v = {safe.js_string(value)};",
        f"var v = `{safe.js_template(value)}`;",
        f"var v = `{safe.template_html(value)}`;",
    ):
        parsed = _script_page(js)
        assert [tag for tag, _ in parsed.tags] == ["script", "p"], js
        assert "".join(parsed.script) == js
        for bad in ("\u2028", "\u2029", "</", "<!--"):
            assert bad not in js, (bad, js)


@needs_node
def test_javascript_engine_reads_back_every_value():
    """One node run: each escaped value, in its context, evaluates to exactly the original."""
    cases = []
    for value in HOSTILE:
        cases.append(f"[{safe.script_json(value)}, {safe.js_string(value)}, `{safe.js_template(value)}`]")
    out = _node(
        "globalThis.alert = () => { throw new Error('alert ran'); };\n"
        f"console.log(JSON.stringify([{','.join(cases)}]));"
    )
    got = json.loads(out)
    for value, (as_json, as_string, as_template) in zip(HOSTILE, got):
        assert as_json == value
        assert as_string == value
        assert as_template == value


@needs_node
def test_template_html_is_html_escaped_text_in_the_literal():
    value = "<b>王记`小吃${alert(1)}</b>"
    out = _node(
        f"globalThis.alert = () => {{ throw new Error('alert ran'); }};\nconsole.log(`{safe.template_html(value)}`);"
    )
    assert out.strip() == safe.html_text(value)
    assert "".join(_parse(out).text).strip() == value


def test_script_json_plain_values():
    import numpy as np

    assert (
        safe.script_json({"a": np.int64(3), "b": np.float64(1.5), "c": float("nan"), "d": math.inf})
        == '{"a":3,"b":1.5,"c":null,"d":null}'
    )
    assert safe.script_json("a'b&c") == '"a\\u0027b\\u0026c"'


# ---------------------------------------------------------------- map builders


def _hostile(i: int) -> str:
    return f"王记`小吃{i}${{alert({i})}}</script><img src=x onerror=alert({i})>'\"&"


@pytest.fixture
def hostile_model(tmp_path, store):
    """Hostile names loaded through the store (SQLite and PostgreSQL) and read back as the model."""
    from gridmap.reference import ReferenceCache, load_directory
    from tests import factory

    layers = factory.layers()
    counter = iter(range(1000))
    for _kind, gdf in layers.items():
        for column in (
            "name",
            "road_name",
            "from_name",
            "to_name",
            "category",
            "address",
            "property_company",
        ):
            if column in gdf.columns:
                gdf[column] = [_hostile(next(counter)) for _ in range(len(gdf))]
    tables = factory.tables()
    for rows in (tables["units"], tables["leaders"]):
        for row in rows:
            row[1] = _hostile(next(counter))
            row[3] = _hostile(next(counter))
    load_directory(store, factory.write_dataset(tmp_path / "hostile", layers_=layers, tables_=tables))
    return ReferenceCache(store, tolerance_m=50.0).model()


def _assert_safe_script(parts: dict) -> None:
    script = parts["script"]
    if NODE:
        _node_check(script)
    assert "<img" not in script and "</script" not in script.lower()
    for part in (parts["head"], parts["body"]):
        assert "<img" not in part and "alert(" not in part
        # no inline script outside the one the page wraps with its CSP nonce
        assert not any(tag == "script" and "src" not in attrs for tag, attrs in _parse(part).tags)


def _node_check(script: str) -> None:
    """The script parses (a backtick in a name used to end folium's template literal)."""
    done = subprocess.run(
        [NODE, "--check"], input=script, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_county_grid_unit_maps_with_hostile_names(hostile_model):
    from gridmap import maps

    opts = maps.MapOptions()
    for kwargs in ({}, {"grid_codes": ["610330100001"]}, {"unit_code": "U1"}):
        parts = maps.map_parts(maps.build_map(hostile_model, opts, **kwargs))
        _assert_safe_script(parts)
        assert "王记`小吃" in parts["script"]  # the names are there, as JSON data


def test_patrol_map_with_hostile_stop_names():
    from gridmap import maps
    from gridmap.routing.patrolmap import plan_map

    stops = [
        {
            "kind": "start",
            "seq": 0,
            "name": _hostile(0),
            "lon": 106.51,
            "lat": 33.91,
            "mandatory": False,
            "leg_m": 0.0,
        },
        {
            "kind": "point",
            "seq": 1,
            "name": _hostile(1),
            "lon": 106.52,
            "lat": 33.91,
            "mandatory": True,
            "leg_m": 900.0,
            "reason": _hostile(2),
            "checked_in_at": "2026-11-27T09:00:00+08:00",
        },
        {
            "kind": "end",
            "seq": 2,
            "name": _hostile(3),
            "lon": 106.51,
            "lat": 33.91,
            "mandatory": False,
            "leg_m": 900.0,
        },
    ]
    plan = {"line": [[106.51, 33.91], [106.52, 33.91], [106.51, 33.91]], "stops": stops, "length_m": 1800.0}
    parts = maps.map_parts(plan_map(plan, maps.MapOptions(), report_url="/report"))
    _assert_safe_script(parts)


def test_import_preview_map_with_hostile_names():
    import geopandas as gpd
    from shapely.geometry import Point

    from gridmap import maps
    from gridmap.importer import ImportReport, preview_map

    report = ImportReport(file="x.geojson", kind="points", mode="replace")
    report.data = gpd.GeoDataFrame(
        {"code": [_hostile(1)], "name": [_hostile(2)]}, geometry=[Point(106.52, 33.91)], crs="EPSG:4326"
    )
    report.feature_labels = [_hostile(3)]
    _assert_safe_script(maps.map_parts(preview_map(report)))


def test_problem_popup_escapes_every_field():
    from gridmap.problems.maplayer import popup_html

    rec = {
        "status": "reported",
        "tracking_no": "FX<1>",
        "category_name": _hostile(1),
        "description": _hostile(2),
        "source_label": _hostile(3),
        "grid": {"name": _hostile(4)},
        "unit": {"name": _hostile(5)},
        "deadline": None,
        "history": [{"at": "2026-11-27T09:00", "action_label": _hostile(6), "note": _hostile(7)}],
        "photos": [{"url": "/p/1'.jpg", "thumb_url": '/p/1".jpg'}],
    }
    html = popup_html(rec, page_base="/x")
    parsed = _parse(html)
    assert {tag for tag, _ in parsed.tags} <= {
        "div",
        "h4",
        "small",
        "span",
        "p",
        "b",
        "br",
        "ul",
        "li",
        "a",
        "img",
    }
    assert [attrs["src"] for tag, attrs in parsed.tags if tag == "img"] == ['/p/1".jpg']
    assert ("a", {"class": "gm-more", "href": "/x/problems/FX%3C1%3E"}) in parsed.tags
    assert _hostile(2) in "".join(parsed.text)
