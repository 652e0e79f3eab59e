"""gridmap.popups on its own: who answers for a segment or a point, with links and phone numbers.

Escaping of hostile names is tested in tests/test_safe.py; this file checks the content.
"""

from __future__ import annotations

import pytest

from gridmap import maps, popups
from tests import factory


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from gridmap.io.read import read_dataset
    from gridmap.responsibility import build_model

    layers = factory.layers()
    layers["points"]["address"] = [None, "新建路 8 号"]
    return build_model(read_dataset(factory.write_dataset(tmp_path_factory.mktemp("popups"), layers_=layers)))


def test_segment_popup_names_road_length_unit_and_grid(model):
    html = popups.segment_popup(model, "S1", page_base="/gm")
    assert "<h4>滨江路</h4>" in html and "路段 S1：东桥 至 西桥" in html
    assert f"长 {model.segments.loc['S1', 'length_m']:.0f} 米" in html and "长 740 米" in html
    assert "<a href='/gm/units/U1'>县住建局</a>，联系人 赵科长" in html
    assert '<a href="tel:09174711111">0917-4711111</a>' in html  # the link dials digits only
    assert "<b>所在网格</b>：滨江网格" in html


def test_point_popup_shows_a_dash_for_missing_values(model):
    html = popups.point_popup(model, "P1")
    assert "<h4>城关农贸市场</h4>" in html and "农贸市场 · —" in html
    assert "<a href='/units/U1'>县住建局</a>" in html and "滨江网格" in html


def test_the_map_links_popups_under_its_page_base(model):
    m = maps.build_map(model, maps.MapOptions(page_base="/gm"))
    html = m.get_root().render()
    assert "/gm/units/U1" in html
