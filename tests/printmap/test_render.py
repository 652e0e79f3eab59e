"""Print maps drawn for real: PNG size and dpi, real CJK glyphs, PDF text and fonts, SVG, labels,
scale, overlays and bad input."""

from __future__ import annotations

import io
import re
import warnings
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pytest
from matplotlib import font_manager
from PIL import Image
from pypdf import PdfReader
from shapely.geometry import LineString, Point

from gridmap import printmap
from gridmap.errors import InvalidInput, NotFound
from gridmap.printmap import fonts, furniture, page_options
from gridmap.printmap.subjects import page_content


def _pdf_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_demo_grid_png_is_a4_at_300_dpi_with_real_chinese_glyphs(demo_model, demo_grid):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rendered = printmap.render_map(
            demo_model, kind="grid", code=demo_grid, fmt="png", paper="A4", dpi=300
        )
    glyph_warnings = [
        str(w.message) for w in caught if re.search(r"[Gg]lyph|missing from font", str(w.message))
    ]
    assert glyph_warnings == []
    image = Image.open(io.BytesIO(rendered.data))
    assert image.format == "PNG"
    assert image.size == (2480, 3508)
    assert tuple(round(v) for v in image.info["dpi"]) == (300, 300)
    name = demo_model.grids.loc[demo_grid, "name"]
    assert rendered.title.startswith(name) and rendered.title.endswith("责任图")
    # The page is not blank: the map and the table have ink of many colours.
    pixels = np.asarray(image.convert("RGB"))
    assert (pixels.min(axis=2) < 128).mean() > 0.01
    assert len(np.unique(pixels.reshape(-1, 3)[::97], axis=0)) > 50


def test_every_title_character_is_in_the_font_actually_used(demo_model, demo_grid):
    content = page_content(demo_model, "grid", demo_grid)
    fig = printmap.draw_page(demo_model, content, options=page_options(fmt="png", dpi=100))
    titles = [t for t in fig.texts if t.get_text() == content.title and t.get_gid() != "stroke"]
    assert len(titles) == 1
    used = font_manager.findfont(titles[0].get_fontproperties(), fallback_to_default=False)
    assert used == str(fonts.font_path())  # not a fallback (DejaVu has no Chinese)
    from fontTools.ttLib import TTFont

    cmap = TTFont(used, lazy=True).getBestCmap()
    for text in (content.title, content.subtitle, "−0123456789（）：、·—"):
        missing = [ch for ch in text if not ch.isspace() and ord(ch) not in cmap]
        assert missing == [], text
    assert fonts.missing_chars(content.title) == []
    assert fonts.missing_chars("\U0002a6a5") == ["\U0002a6a5"]  # a rare CJK Ext-B character


def test_landscape_a3_png_has_its_size_and_dpi(factory_model):
    rendered = printmap.render_map(
        factory_model, kind="grid", code="610330100001", fmt="png", paper="A3", landscape=True, dpi=72
    )
    image = Image.open(io.BytesIO(rendered.data))
    assert image.size == (1191, 842)
    assert tuple(round(v) for v in image.info["dpi"]) == (72, 72)
    assert rendered.filename.endswith("_A3横向.png")


def test_pdf_is_vector_with_embedded_truetype_and_selectable_text(demo_model, demo_grid):
    rendered = printmap.render_map(demo_model, kind="grid", code=demo_grid, fmt="pdf")
    reader = PdfReader(io.BytesIO(rendered.data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    fonts_seen = 0
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        assert descendant["/Subtype"] == "/CIDFontType2"  # TrueType outlines (Type 42)
        assert "/FontFile2" in descriptor  # embedded
        assert "/ToUnicode" in font
        fonts_seen += 1
    assert fonts_seen >= 1
    text = _pdf_text(rendered.data)[0]
    grid = demo_model.grids.loc[demo_grid]
    assert f"{grid['name']}责任图" in text
    for leader in demo_model.leader_records(grid["leader_codes"]):
        assert leader["name"] in text and leader["phone"] in text
    assert grid["grid_head"] in text
    assert grid["lead_department"] in text


def test_svg_is_a4_in_points(factory_model):
    rendered = printmap.render_map(factory_model, kind="county", fmt="svg")
    root = ET.fromstring(rendered.data)
    assert root.tag.endswith("svg")
    assert float(root.get("width").removesuffix("pt")) == pytest.approx(595.28, abs=0.1)
    assert float(root.get("height").removesuffix("pt")) == pytest.approx(841.89, abs=0.1)
    assert rendered.mimetype == "image/svg+xml"


@pytest.mark.parametrize(
    ("kind", "code", "words"),
    [
        ("town", "610330100", ["双石铺镇网格责任图", "王建国"]),
        ("town", "610330101", ["凤州镇网格责任图", "尚未划分网格"]),
        ("unit", "U1", ["县住建局责任区图", "滨江路", "城关农贸市场", "花园小区"]),
        ("leader", "L01", ["王建国包片网格责任图", "滨江网格"]),
        ("county", None, ["全县网格责任总图", "滨江网格", "新建路网格", "张华"]),
    ],
)
def test_every_kind_of_page(factory_model, kind, code, words):
    text = _pdf_text(printmap.render_map(factory_model, kind=kind, code=code, fmt="pdf").data)[0]
    for word in words:
        assert word in text, word


def test_map_labels_do_not_overlap(demo_model, demo_grid):
    content = page_content(demo_model, "grid", demo_grid)
    fig = printmap.draw_page(demo_model, content, options=page_options(fmt="png", dpi=100))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    boxes = []
    for text in ax.texts:
        if text.get_gid() == "stroke" or text.get_rotation() % 180 != 0 or not text.get_text():
            continue
        if text.get_zorder() != 20:  # map labels only (not the scale bar's numbers)
            continue
        boxes.append((text.get_text(), text.get_window_extent(renderer).shrunk(0.96, 0.9)))
    assert len(boxes) >= 10
    frame = ax.get_window_extent(renderer)
    for i, (name, box) in enumerate(boxes):
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        for other, box2 in boxes[i + 1 :]:
            assert not box.overlaps(box2), (name, other)
    # Every inspection point of the grid is drawn; most are named.
    names = {t for t, _ in boxes}
    point_names = set(content.points["name"])
    assert len(point_names & names) >= len(point_names) * 0.6


def test_scale_bar_and_numeric_scale_are_true(demo_model, demo_grid):
    content = page_content(demo_model, "grid", demo_grid)
    fig = printmap.draw_page(demo_model, content, options=page_options(fmt="pdf"))
    ax = fig.axes[0]
    width_m = np.diff(ax.get_xlim())[0]
    height_m = np.diff(ax.get_ylim())[0]
    bbox = ax.get_position()
    width_mm = bbox.width * fig.get_figwidth() * 25.4
    height_mm = bbox.height * fig.get_figheight() * 25.4
    assert width_m / width_mm == pytest.approx(height_m / height_mm, rel=1e-6)  # no stretching
    denominator = width_m / width_mm * 1000
    printed = [t.get_text() for t in ax.texts if t.get_text().startswith("比例尺")]
    assert printed == [f"比例尺 1:{round(denominator)}"]
    assert round(denominator) == furniture.nice_scale(denominator)
    # The whole grid is on the map.
    x0, y0, x1, y1 = demo_model.grids.geometry.loc[[demo_grid]].to_crs(demo_model.local_crs).total_bounds
    assert ax.get_xlim()[0] < x0 and x1 < ax.get_xlim()[1]
    assert ax.get_ylim()[0] < y0 and y1 < ax.get_ylim()[1]


def test_optional_layers_problems_and_patrol_route(factory_model):
    problems = gpd.GeoDataFrame(
        {"status": ["reported", "closed", "dispatched"], "title": ["垃圾堆放", "占道经营", "井盖缺失"]},
        geometry=[Point(106.513, 33.909), Point(106.516, 33.911), Point(106.518, 33.913)],
        crs="EPSG:4326",
    )
    route = gpd.GeoDataFrame(
        geometry=[LineString([(106.511, 33.906), (106.515, 33.912), (106.519, 33.914)])], crs="EPSG:4326"
    )
    stops = gpd.GeoDataFrame(
        {"name": ["起点", "农贸市场", "终点"]},
        geometry=[Point(106.511, 33.906), Point(106.515, 33.912), Point(106.519, 33.914)],
        crs="EPSG:4326",
    )
    overlays = [printmap.problem_overlay(problems), *printmap.route_overlays(route, stops)]
    rendered = printmap.render_map(
        factory_model, kind="grid", code="610330100001", fmt="pdf", overlays=overlays
    )
    text = _pdf_text(rendered.data)[0]
    for word in ("问题（按状态）", "已上报", "已结案", "已派遣", "巡查路线", "巡查点（按顺序编号）"):
        assert word in text, word
    assert "已核查" not in text  # only statuses that occur are in the legend
    bad = printmap.Overlay(data=problems.set_crs(None, allow_override=True), label="无坐标系")
    with pytest.raises(InvalidInput):
        printmap.render_map(factory_model, kind="grid", code="610330100001", overlays=[bad])


def test_bad_requests(factory_model):
    with pytest.raises(NotFound) as caught:
        printmap.render_map(factory_model, kind="grid", code="999999")
    assert "999999" in caught.value.message
    with pytest.raises(InvalidInput):
        printmap.render_map(factory_model, kind="grid", code="610330100001", dpi=1000)
    with pytest.raises(InvalidInput):
        printmap.render_map(factory_model, kind="grid", code="610330100001", paper="Letter")
    with pytest.raises(InvalidInput):
        printmap.render_map(factory_model, kind="village", code="1")
    with pytest.raises(NotFound):
        printmap.render_map(factory_model, kind="unit", code="U999")
    with pytest.raises(NotFound):
        printmap.render_map(factory_model, kind="leader", code="L999")


def test_user_text_is_printed_literally(tmp_path):
    from gridmap.io.read import read_dataset
    from gridmap.responsibility import build_model
    from tests import factory

    tables = factory.tables()
    tables["units"][0][1] = r"县住建局 $\alpha$ 50%_x^2 <b>"
    model = build_model(read_dataset(factory.write_dataset(tmp_path / "d", tables_=tables)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rendered = printmap.render_map(model, kind="unit", code="U1", fmt="pdf")
    text = _pdf_text(rendered.data)[0]
    assert r"$\alpha$ 50%_x^2 <b>" in text


def test_footer_date_is_china_standard_time(factory_model):
    import datetime as dt
    from zoneinfo import ZoneInfo

    fixed = printmap.render_map(
        factory_model,
        kind="grid",
        code="610330100001",
        fmt="pdf",
        today=dt.date(2026, 1, 2),
        source="测试数据",
    )
    text = _pdf_text(fixed.data)[0]
    assert "制图日期：2026年1月2日（北京时间）" in text and "数据来源：测试数据" in text
    before = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    text = _pdf_text(printmap.render_map(factory_model, kind="county", fmt="pdf").data)[0]
    after = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert any(f"{d.year}年{d.month}月{d.day}日" in text for d in (before, after))
