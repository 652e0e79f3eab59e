"""The street graph: junctions, lengths in metres, components, snapping, matrices and paths on streets."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridmap.errors import InvalidInput
from gridmap.routing.streets import StreetNetwork
from tests.routing import town


def test_split_segments_and_whole_streets_give_the_same_distances():
    split = StreetNetwork.from_lines(town.street_lines(split=True))
    whole = StreetNetwork.from_lines(town.street_lines(split=False))  # OSM-like: meet at shared vertices
    assert split.crs == whole.crs == "EPSG:4545"
    assert whole.nodes == 6 * 3  # the street crossings (a vertex on one street only is no junction)
    assert split.nodes == 6 * 3 + 3  # … plus where segments end at the grid boundary
    for net in (split, whole):
        assert net.components == 1
        assert net.summary()["km"] == pytest.approx((3 * 1000 + 6 * 400) / 1000, abs=0.005)
    stops = np.array([town.ll(x, y) for x, y in ((150, 100), (1100, 480), (700, 300), (250, 500))])
    assert np.allclose(split.place(stops).matrix(), whole.place(stops).matrix(), atol=1e-6)


def test_ends_within_the_snap_distance_become_one_junction():
    lines = gpd.GeoDataFrame(
        {"name": ["甲路", "乙路"]},
        geometry=[town.line((0, 0), (100, 0)), town.line((100.2, 0), (200, 0))],  # a 20 cm gap
        crs="EPSG:4326",
    )
    assert StreetNetwork.from_lines(lines).components == 1
    assert StreetNetwork.from_lines(lines, snap_m=0.1).components == 2


def test_matrix_is_the_street_distance_between_snapped_stops():
    net = StreetNetwork.from_lines(town.street_lines())
    # A and B on the same street 300 m apart; C round the corner; D on the same edge as A
    stops = [town.ll(150, 105), town.ll(450, 95), town.ll(505, 400), town.ll(190, 102)]
    place = net.place(np.array(stops), ids=list("ABCD"))
    m = place.matrix()
    assert m.shape == (4, 4)
    assert np.allclose(m, m.T)
    assert m[0, 1] == pytest.approx(300.0, abs=0.5)
    assert m[0, 3] == pytest.approx(40.0, abs=0.5)  # two stops on one edge: the way between them
    assert m[0, 2] == pytest.approx(350 + 300, abs=0.5)  # along y=100 to x=500, then north 300
    assert place.snap_m[0] == pytest.approx(5.0, abs=0.01)


def test_route_line_runs_along_the_streets_with_every_vertex_on_a_street():
    lines = town.street_lines()
    net = StreetNetwork.from_lines(lines)
    place = net.place(np.array([town.ll(150, 105), town.ll(1000, 495), town.ll(890, 210)]), ids=list("ABC"))
    streets = shapely.union_all(net.geoms)
    for i, j in ((0, 1), (1, 2), (2, 0)):
        leg = place.leg(i, j)
        assert len(leg.coords) >= 3  # it turns corners: not a straight line between the stops
        far = shapely.distance(shapely.points(leg.coords), streets).max()
        assert far < 1e-6  # metres, in the network's projected CRS
        assert shapely.LineString(leg.coords).length == pytest.approx(place.matrix()[i, j], abs=1e-6)
        assert {p.name for p in leg.pieces} <= set(lines["name"])


def test_stop_far_from_every_street_is_named_with_its_distance():
    net = StreetNetwork.from_lines(town.street_lines())
    with pytest.raises(InvalidInput) as caught:
        net.place(np.array([town.ll(150, 105), town.ll(200, 1000)]), ids=["近处", "远处"], max_snap_m=200)
    message = caught.value.message
    assert "远处" in message and "500 米" in message and "近处" not in message
    assert "GRIDMAP_PATROL_MAX_SNAP_M" in message


def test_unconnected_pieces_give_infinite_lengths():
    lines = town.street_lines()
    island = gpd.GeoDataFrame(
        {"name": ["孤岛路"]}, geometry=[town.line((2000, 0), (2300, 0))], crs="EPSG:4326"
    )
    net = StreetNetwork.from_lines(gpd.GeoDataFrame(pd_concat(lines, island), crs="EPSG:4326"))
    assert net.components == 2
    m = net.place(np.array([town.ll(150, 105), town.ll(2100, 5)])).matrix()
    assert np.isinf(m[0, 1]) and m[0, 0] == 0


def pd_concat(*frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def test_lines_without_crs_or_without_length_are_refused():
    with pytest.raises(InvalidInput, match="坐标系"):
        StreetNetwork.from_lines(gpd.GeoDataFrame({"name": ["甲"]}, geometry=[town.line((0, 0), (1, 0))]))
    empty = gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326")
    with pytest.raises(InvalidInput, match="没有线要素"):
        StreetNetwork.from_lines(empty)


def test_demo_segments_form_one_connected_network():
    from tests.test_demo_data import DEMO  # the generated demo county

    segments = gpd.read_file(DEMO / "layers.gpkg", layer="segments")
    net = StreetNetwork.from_lines(segments, name_column="road_name")
    assert net.components == 1
    assert net.summary()["km"] == pytest.approx(segments.to_crs(net.crs).length.sum() / 1000, abs=0.01)
