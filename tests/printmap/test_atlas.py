"""The atlas: one page per grid plus the county overview, rendered by parallel workers."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image
from pypdf import PdfReader

from gridmap.errors import InvalidInput
from gridmap.printmap.atlas import atlas_pages, render_atlas


def test_demo_atlas_pdf_has_a_page_per_grid_with_its_leaders(demo_model):
    seen = []
    data = render_atlas(
        demo_model, fmt="pdf", workers=2, progress=lambda done, total: seen.append((done, total))
    )
    reader = PdfReader(io.BytesIO(data))
    grids = demo_model.grids
    assert len(reader.pages) == len(grids) + 1
    assert seen[-1] == (len(grids) + 1, len(grids) + 1) and len(seen) == len(grids) + 1
    overview = reader.pages[0].extract_text()
    assert "全县网格责任总图" in overview
    for page, (code, grid) in zip(reader.pages[1:], grids.iterrows()):
        text = page.extract_text()
        assert f"{grid['name']}责任图" in text
        assert code in text
        for leader in demo_model.leader_records(grid["leader_codes"]):
            assert leader["name"] in text, (grid["name"], leader["name"])
    assert [item.title for item in reader.outline][:2] == ["全县网格责任总图", grids["name"].iloc[0]]


def test_atlas_zip_of_pngs_in_page_order(factory_model):
    data = render_atlas(factory_model, fmt="zip", dpi=72, workers=1)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert len(names) == len(atlas_pages(factory_model)) == 3
        assert names[0] == "00_全县网格责任总图.png"
        assert names[1] == "01_滨江网格_610330100001.png"
        image = Image.open(io.BytesIO(archive.read(names[2])))
        assert image.size == (595, 842)


def test_atlas_bad_options(factory_model):
    with pytest.raises(InvalidInput):
        render_atlas(factory_model, fmt="docx", workers=1)
    with pytest.raises(InvalidInput):
        render_atlas(factory_model, fmt="pdf", workers=0)
    with pytest.raises(InvalidInput):
        render_atlas(factory_model, fmt="pdf", paper="A5", workers=1)
