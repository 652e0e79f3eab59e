"""Page options, text wrapping, map scales and label placement, without drawing a page."""

from __future__ import annotations

import math

import pytest
import shapely

from gridmap.errors import InvalidInput
from gridmap.printmap import furniture, page_options
from gridmap.printmap import text as tm
from gridmap.printmap.labels import POINT_OFFSETS, Label, place_labels


def test_paper_sizes_in_pixels():
    assert page_options(paper="A4", dpi=300).size_px == (2480, 3508)
    assert page_options(paper="a4", dpi="300", landscape="1").size_px == (3508, 2480)
    assert page_options(paper="A3", dpi=300).size_px == (3508, 4961)
    assert page_options(paper="A4", dpi=72).size_px == (595, 842)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"dpi": 71}, "72–600"),
        ({"dpi": 601}, "72–600"),
        ({"dpi": "三百"}, "整数"),
        ({"paper": "B5"}, "纸张"),
        ({"paper": ""}, "纸张"),
        ({"fmt": "gif"}, "格式"),
        ({"landscape": "maybe"}, "landscape"),
    ],
)
def test_bad_page_options_say_what_is_wrong(options, words):
    with pytest.raises(InvalidInput) as caught:
        page_options(**options)
    assert words in caught.value.message


def test_wrap_keeps_numbers_whole_and_punctuation_off_line_starts():
    size = 7.0
    text = "江南农贸市场、新建路（铁匠巷口至秦岭路口）、迎宾大道改造工程工地 0917-4763982"
    for width in (50, 63, 80, 97, 120):
        lines = tm.wrap(text, width, size)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert all(tm.width(line, size) <= width + size for line in lines)
        assert not any(line[:1] in "，。、；：）" for line in lines)
        assert not any(line[-1:] == "（" for line in lines)
        assert any("0917-4763982" in line for line in lines)


def test_nice_scales_are_round_and_not_smaller():
    for raw in (1234.0, 4000.0, 4001.0, 7499.0, 19999.0, 87654.0):
        nice = furniture.nice_scale(raw)
        assert nice >= raw * 0.999
        mantissa = nice / 10 ** math.floor(math.log10(nice))
        assert mantissa in (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5, 8.0, 10.0)


def test_north_arrow_turns_to_true_north():
    from pyproj import Transformer

    to_grid = Transformer.from_crs("EPSG:4326", "EPSG:4545", always_xy=True)
    for lon, lat in ((106.52, 33.91), (109.3, 34.2), (108.0, 33.0)):
        # Walk north along the meridian and see where that goes on the grid (metres).
        x, y = to_grid.transform(lon, lat)
        x2, y2 = to_grid.transform(lon, lat + 0.01)
        clockwise = math.degrees(math.atan2(x2 - x, y2 - y))
        # The arrow is turned counter-clockwise by the angle we draw it with.
        assert furniture.convergence_deg("EPSG:4545", x, y) == pytest.approx(-clockwise, abs=0.01)
    x, y = to_grid.transform(106.52, 33.91)
    assert furniture.convergence_deg("EPSG:4545", x, y) < -0.5  # west of 108E: visibly turned


def test_labels_never_overlap_and_stay_in_the_frame():
    mpp = 1.0  # one metre per point
    labels = [
        Label(
            f"考察点位{i}",
            [(50.0 + (i % 5) * 20, 50.0 + (i // 5) * 6, 0.0)],
            6.0,
            i % 3,
            offsets=POINT_OFFSETS,
        )
        for i in range(30)
    ]
    labels.append(Label("一条很长很长的道路名称", [(5.0, 5.0, 30.0)], 6.0, 0))
    obstacle = shapely.box(90, 40, 110, 60)
    placed = place_labels(labels, frame=(0, 0, 200, 150), metres_per_point=mpp, obstacles=[obstacle])
    assert 5 < len(placed) < len(labels)  # some fit, not all: the crowded ones are left out
    frame = shapely.box(0, 0, 200, 150)
    for i, a in enumerate(placed):
        assert frame.contains(a.box)
        assert not a.box.intersects(obstacle)
        for b in placed[i + 1 :]:
            assert not a.box.intersects(b.box), (a.label.text, b.label.text)
    # Higher priority labels win: every priority-0 label that could be placed was placed first.
    assert placed[0].label.priority == 0


def test_required_label_is_placed_even_when_crowded():
    crowd = shapely.box(0, 0, 100, 100)
    label = Label("滨江网格", [(50.0, 50.0, 0.0)], 10.0, 0, required=True)
    placed = place_labels([label], frame=(0, 0, 100, 100), metres_per_point=1.0, obstacles=[crowd])
    assert [p.label.text for p in placed] == ["滨江网格"]
