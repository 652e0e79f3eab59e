"""Print maps of the grid levels: a village grid (凤州镇 › 红花铺村) with its group grids, a group
grid, a sub-grid of a county-town grid; PNG and PDF drawn for real from a tiny hand-made dataset."""

from __future__ import annotations

import io
from urllib.parse import unquote

import geopandas as gpd
import matplotlib
import numpy as np
import pytest
from matplotlib.collections import LineCollection
from PIL import Image
from pypdf import PdfReader
from shapely.geometry import box

from gridmap import printmap
from gridmap.errors import NotFound
from gridmap.printmap import page_options, style
from gridmap.printmap.subjects import page_content
from tests import levelfactory
from tests.levelfactory import GROUPS, OWNER_PHONE, SECRETARY_PHONE, SUBGRID, VILLAGE


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return levelfactory.build(tmp_path_factory.mktemp("levels"))


def _pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _flat(text: str) -> str:
    return "".join(text.split())


def _map_axes(fig):
    """The map's axes: the one whose limits are in metres of the local CRS."""
    return max(fig.axes, key=lambda ax: abs(ax.get_xlim()[1]))


def test_village_grid_pdf_names_its_chain_people_children_and_shops(model):
    rendered = printmap.render_map(model, kind="subgrid", code=VILLAGE, fmt="pdf")
    assert rendered.title == "凤州镇 › 红花铺村网格责任图"
    assert rendered.filename == "红花铺村责任图_A4.pdf"
    text = _flat(_pdf_text(rendered.data))
    assert _flat(rendered.title) in text
    assert "村书记：李书记" + SECRETARY_PHONE in text  # the people panel, phones as on grid pages
    assert "网格员：陈网格员13900000022" in text
    assert "马镇长（镇干部）13900000020" in text  # the town's cadre, one level up
    for child in ("红花铺村一组", "红花铺村二组", GROUPS[0], "赵组长（网格员）13900000023"):
        assert child in text
    assert "门前五包商户（1户）零售1零售：红花铺小卖部" in text and "小区：红花新村—楼栋1栋：1号楼" in text
    for legend in ("本网格", "下级网格（组网格）", "门前五包范围", "商户", "楼栋"):
        assert legend in text
    # The shop owner's name and phone are office-only: never on a print map.
    assert OWNER_PHONE not in text and "王老板" not in text


def test_village_grid_png_frames_the_village_and_draws_its_children_in_colour(model):
    content = page_content(model, "subgrid", VILLAGE)
    assert content.child_subgrids == list(GROUPS)
    fig = printmap.draw_page(model, content, options=page_options(fmt="png", dpi=100))
    ax = _map_axes(fig)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    village = gpd.GeoSeries([box(*levelfactory.VILLAGE_BOX)], crs="EPSG:4326").to_crs(model.local_crs)
    vx0, vy0, vx1, vy1 = village.total_bounds
    assert x0 < vx0 and vx1 < x1 and y0 < vy0 and vy1 < y1  # the whole village is on the map
    assert (x1 - x0) < 3 * (vx1 - vx0) and (y1 - y0) < 3 * (vy1 - vy0)  # and it fills the map
    labels = {t.get_text() for t in ax.texts}
    assert {"红花铺村", "红花铺村一组", "红花铺村二组", "红花铺小卖部"} <= labels
    # Each group grid's boundary is drawn in its own colour (the table's swatch colour).
    edges = {
        matplotlib.colors.to_hex(c)
        for coll in ax.collections
        if isinstance(coll, LineCollection)
        for c in coll.get_edgecolor()
    }
    assert {style.UNIT_PALETTE[0], style.UNIT_PALETTE[1], style.SUBJECT_EDGE} <= edges

    rendered = printmap.render_map(model, kind="subgrid", code=VILLAGE, fmt="png", dpi=100)
    image = Image.open(io.BytesIO(rendered.data))
    assert image.size == (827, 1169)
    pixels = np.asarray(image.convert("RGB")).astype(int)

    def count(colour: str) -> int:
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        return int((np.abs(pixels - rgb).sum(axis=2) < 40).sum())

    assert count(style.SUBJECT_EDGE) > 500  # the village's red outline


def test_group_grid_title_has_the_whole_chain_and_the_village_people(model):
    rendered = printmap.render_map(model, kind="subgrid", code=GROUPS[0], fmt="pdf")
    assert rendered.title == "凤州镇 › 红花铺村 › 红花铺村一组网格责任图"
    text = _flat(_pdf_text(rendered.data))
    assert "网格员：赵组长13900000023" in text
    assert "上级（红花铺村）：李书记（村书记）" + SECRETARY_PHONE in text


def test_a_sub_grid_code_under_grid_prints_the_sub_grid_with_its_roads(model):
    content = page_content(model, "grid", SUBGRID)  # /export/grids/<code> and --grid reach it too
    assert content.kind == "subgrid"
    assert content.title == "双石铺镇 › 滨江网格 › 滨江一号子网格责任图"
    assert list(content.segments.index) == ["S1"]  # 滨江路 runs through it
    assert list(content.shops.index) == ["SH2"] and list(content.frontages["shop_code"]) == ["SH2"]
    assert content.locator_grids == ["610330100001"]


def test_grid_page_names_its_sub_grids_and_shops(model):
    content = page_content(model, "grid", "610330100001")
    assert content.child_subgrids == [SUBGRID]
    assert list(content.shops.index) == ["SH2"]
    fig = printmap.draw_page(model, content, options=page_options(fmt="png", dpi=72))
    assert "滨江一号子网格" in {t.get_text() for t in _map_axes(fig).texts}


def test_unknown_sub_grid_is_not_found_with_a_chinese_message(model):
    with pytest.raises(NotFound, match="网格编码“NOPE”不存在"):
        printmap.render_map(model, kind="subgrid", code="NOPE", fmt="png", dpi=72)


@pytest.fixture(scope="module")
def loaded(module_database):
    """A store (SQLite and PostgreSQL) loaded with the levels dataset: settings for CLI and web."""
    from gridmap.reference import load_directory
    from gridmap.store import Store

    folder, url = module_database
    load_directory(Store(url), levelfactory.write_dataset(folder / "data"))
    return {
        "GRIDMAP_INSTANCE_DIR": str(folder / "instance"),
        "GRIDMAP_DATABASE_URL": url,
        "GRIDMAP_SECRET_KEY": "test-secret",
    }


def test_cli_exports_a_village_grid_print(loaded, tmp_path):
    from click.testing import CliRunner

    from gridmap.cli import main

    env = {k: loaded[k] for k in ("GRIDMAP_INSTANCE_DIR", "GRIDMAP_DATABASE_URL")}
    out = tmp_path / "village.pdf"
    done = CliRunner().invoke(main, ["export-map", "--subgrid", VILLAGE, "-o", str(out)], env=env)
    assert done.exit_code == 0, done.output
    assert "凤州镇 › 红花铺村网格责任图" in done.output
    assert "李书记" in _pdf_text(out.read_bytes())
    done = CliRunner().invoke(main, ["export-map", "--subgrid", "NOPE", "-o", str(out)], env=env)
    assert done.exit_code != 0 and "网格编码“NOPE”不存在" in done.output
    atlas = tmp_path / "atlas.pdf"
    done = CliRunner().invoke(main, ["atlas", "--levels", "--workers", "1", "-o", str(atlas)], env=env)
    assert done.exit_code == 0, done.output
    assert "7 页" in done.output and len(PdfReader(atlas).pages) == 7


def test_web_serves_village_grid_prints(loaded):
    from web import create_app

    client = create_app(loaded).test_client()
    r = client.get(f"/export/subgrids/{VILLAGE}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "红花铺村责任图_A4.pdf" in unquote(r.headers["Content-Disposition"])
    assert "凤州镇›红花铺村网格责任图" in _flat(_pdf_text(r.data))
    r = client.get(f"/export/grids/{GROUPS[0]}.png?dpi=72")  # a group grid's code under grids/ too
    assert r.status_code == 200 and Image.open(io.BytesIO(r.data)).size == (595, 842)
    r = client.get("/export/subgrids/NOPE.pdf")
    assert r.status_code == 404 and "网格编码“NOPE”不存在" in r.get_data(as_text=True)


def test_a_long_chain_title_shrinks_to_fit_the_page(model):
    content = page_content(model, "subgrid", GROUPS[0])
    content.title = "凤州镇 › 红花铺村第一村民小组网格 › 红花铺村第一村民小组东片网格 › 东片第三子网格责任图"
    fig = printmap.draw_page(model, content, options=page_options(fmt="png", dpi=72))
    fig.canvas.draw()
    [title] = [t for t in fig.texts if t.get_text() == content.title and t.get_gid() != "stroke"]
    box = title.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width  # on the page, not cut at its edges
    assert title.get_fontsize() < 19


def test_atlas_with_levels_has_a_page_per_sub_grid_after_the_grids(model):
    from gridmap.printmap.atlas import render_atlas

    data = render_atlas(model, fmt="pdf", dpi=72, workers=1, levels=True)
    reader = PdfReader(io.BytesIO(data))
    titles = [item.title for item in reader.outline]
    assert titles == [
        "全县网格责任总图",
        "滨江网格",
        "新建路网格",
        "滨江一号子网格",
        "红花铺村",
        *["红花铺村一组", "红花铺村二组"],
    ]
    assert len(reader.pages) == 7
    assert "凤州镇 › 红花铺村 › 红花铺村二组网格责任图" in reader.pages[6].extract_text()


def test_town_page_lists_its_village_grids_and_their_people(model):
    content = page_content(model, "town", levelfactory.TOWN)
    assert content.child_subgrids == [VILLAGE]  # drawn and named in the village's colour
    rendered = printmap.render_map(model, kind="town", code=levelfactory.TOWN, fmt="pdf")
    text = _flat(_pdf_text(rendered.data))
    assert "村网格及网格人员" in text and "村网格1个" in text
    assert "李书记（村书记）" + SECRETARY_PHONE in text
    assert "镇干部：马镇长13900000020" in text


def test_every_demo_level_prints_with_its_chain_and_children(demo_model):
    subs = demo_model.subgrids
    if not len(subs):
        pytest.skip("演示数据尚无村、组网格")
    village = subs[(subs["level"] == "村") & subs.index.isin(subs["parent_code"])].index[0]
    town = demo_model.towns.loc[subs.loc[village, "town_code"], "name"]
    kids = subs.index[subs["parent_code"] == village].tolist()
    content = page_content(demo_model, "subgrid", village)
    assert content.title == f"{town} › {subs.loc[village, 'name']}网格责任图"
    assert content.child_subgrids == kids and content.table.swatches[: len(kids)] == kids
    text = _flat(_pdf_text(printmap.render_map(demo_model, kind="subgrid", code=village, fmt="pdf").data))
    assert all(str(subs.loc[k, "name"]) in text for k in kids)
    for person in demo_model.grid_people[demo_model.grid_people["grid_code"] == village].itertuples():
        assert f"{person.role}：" in text and person.name in text
