"""The street graph: streets as an undirected graph in metres, stops snapped onto it, matrices and paths."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from shapely import STRtree
from shapely.ops import substring

from gridmap.errors import InvalidInput

UNNAMED = "无名道路"
DEFAULT_SNAP_M = 0.5  # street ends closer than this are one junction
DEFAULT_MAX_SNAP_M = 200.0  # a stop farther than this from every street is refused
_AT_NODE_M = 1e-3  # a stop this close to a junction sits on it
_MIN_WEIGHT = 1e-9  # scipy's sparse graphs drop zero weights: keep zero-length links alive


def projected_crs(bounds: tuple[float, float, float, float]) -> str:
    """The local metric CRS for lon/lat bounds: a CGCS2000 Gauss-Krüger zone in China, else UTM."""
    from gridmap.crs import local_crs_for

    try:
        return local_crs_for(bounds)
    except InvalidInput:
        minx, miny, maxx, maxy = bounds
        centre = gpd.GeoSeries([shapely.Point((minx + maxx) / 2, (miny + maxy) / 2)], crs="EPSG:4326")
        return str(centre.estimate_utm_crs().to_string())


@dataclass
class StreetNetwork:
    """Streets split at junctions into edges (metres, local CRS), with their names and components."""

    crs: str
    node_xy: NDArray[np.float64]  # N × 2, local CRS
    u: NDArray[np.int64]  # E: edge from node u …
    v: NDArray[np.int64]  # … to node v (the geometry runs from u to v)
    length: NDArray[np.float64]  # E, metres
    geoms: NDArray[np.object_]  # E LineStrings, local CRS
    names: NDArray[np.object_]  # E street names
    source: str = ""
    component: NDArray[np.int64] = field(init=False)
    components: int = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.node_xy)
        graph = coo_matrix((np.ones(len(self.u)), (self.u, self.v)), shape=(n, n)).tocsr()
        self.components, self.component = connected_components(graph, directed=False)

    @classmethod
    def from_lines(
        cls,
        lines: gpd.GeoDataFrame,
        *,
        name_column: str | None = "name",
        source: str = "",
        snap_m: float = DEFAULT_SNAP_M,
        crs: str | None = None,
    ) -> StreetNetwork:
        """Build the graph from street lines (any CRS with lon/lat or metres).

        Lines are split wherever they share a vertex with another line (OSM ways meet at shared
        nodes) and at their ends; ends closer than `snap_m` become one junction.
        """
        if lines.crs is None:
            msg = "路网图层没有坐标系（CRS），无法换算为米"
            raise InvalidInput(msg)
        lines = lines[lines.geometry.notna() & ~lines.geometry.is_empty]
        lines = lines[lines.geom_type.isin(["LineString", "MultiLineString"])]
        if not len(lines):
            msg = "路网中没有线要素（道路），无法规划巡查路线"
            raise InvalidInput(msg)
        if crs is None:
            crs = projected_crs(tuple(lines.to_crs("EPSG:4326").total_bounds))
        names = (
            lines[name_column].astype(object).where(lines[name_column].notna(), None).to_numpy()
            if name_column and name_column in lines.columns
            else np.full(len(lines), None, dtype=object)
        )
        names = np.array([_clean_name(x) for x in names], dtype=object)
        geoms = lines.geometry.to_crs(crs).to_numpy()
        parts, owner = shapely.get_parts(geoms, return_index=True)
        return cls._from_parts(parts, names[owner], crs=crs, source=source, snap_m=snap_m)

    @classmethod
    def _from_parts(cls, parts, names, *, crs: str, source: str, snap_m: float) -> StreetNetwork:
        coords, line = shapely.get_coordinates(parts, return_index=True)
        # drop repeated consecutive vertices, then lines left with fewer than two
        same = np.r_[False, (line[1:] == line[:-1]) & (coords[1:] == coords[:-1]).all(axis=1)]
        coords, line = coords[~same], line[~same]
        count = np.bincount(line, minlength=len(parts))
        keep = count[line] >= 2
        coords, line = coords[keep], line[keep]
        if not len(coords):
            msg = "路网中的道路都没有长度，无法规划巡查路线"
            raise InvalidInput(msg)
        first = np.r_[True, line[1:] != line[:-1]]
        last = np.r_[line[1:] != line[:-1], True]
        # a vertex is a junction where a line ends or where two lines (or one, twice) pass
        key = np.round(coords, 3)
        unique_keys, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        inverse = inverse.ravel()
        is_node = first | last | (counts[inverse] >= 2)
        interior = is_node & ~first & ~last
        repeat = 1 + interior.astype(np.int64)
        pos = np.cumsum(repeat) - repeat
        starts = np.zeros(int(repeat.sum()), dtype=bool)
        starts[pos[first]] = True
        starts[pos[interior] + 1] = True
        piece = np.cumsum(starts) - 1
        piece_coords = np.repeat(coords, repeat, axis=0)
        pieces = shapely.linestrings(piece_coords, indices=piece)
        piece_line = np.repeat(line, repeat)[starts]
        # junction of each piece end: cluster the node vertices within snap_m
        node_keys = np.unique(inverse[is_node])
        node_pts = unique_keys[node_keys]
        tree = STRtree(shapely.points(node_pts))
        a, b = tree.query(shapely.points(node_pts), predicate="dwithin", distance=snap_m)
        m = len(node_pts)
        _, cluster = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(m, m)), directed=False)
        key_to_node = np.full(int(inverse.max()) + 1, -1, dtype=np.int64)
        key_to_node[node_keys] = cluster
        first_rep = np.zeros(cluster.max() + 1, dtype=np.int64)
        first_rep[cluster[::-1]] = np.arange(m)[::-1]
        node_xy = node_pts[first_rep]
        ends_at = np.flatnonzero(np.r_[starts[1:], True])
        begin_at = np.flatnonzero(starts)
        vertex_key = np.repeat(inverse, repeat)
        u = key_to_node[vertex_key[begin_at]]
        v = key_to_node[vertex_key[ends_at]]
        length = shapely.length(pieces)
        useful = ~((u == v) & (length < snap_m))
        return cls(
            crs=crs,
            node_xy=np.asarray(node_xy, dtype=np.float64),
            u=u[useful].astype(np.int64),
            v=v[useful].astype(np.int64),
            length=length[useful],
            geoms=pieces[useful],
            names=np.asarray(names, dtype=object)[piece_line][useful],
            source=source,
        )

    # --- facts ------------------------------------------------------------------------------
    @property
    def nodes(self) -> int:
        return len(self.node_xy)

    @property
    def edges(self) -> int:
        return len(self.u)

    def summary(self) -> dict:
        """Counts for messages: junctions, edges, kilometres, pieces and the largest piece's share."""
        sizes = np.bincount(self.component, minlength=self.components) if self.nodes else np.zeros(1)
        edge_comp = self.component[self.u]
        km = np.bincount(edge_comp, weights=self.length, minlength=self.components) / 1000
        return {
            "source": self.source,
            "nodes": int(self.nodes),
            "edges": int(self.edges),
            "km": round(float(self.length.sum()) / 1000, 2),
            "components": int(self.components),
            "largest_share": round(float(km.max() / max(km.sum(), 1e-12)), 4) if len(km) else 0.0,
            "largest_nodes": int(sizes.max()) if len(sizes) else 0,
        }

    @cached_property
    def _tree(self) -> STRtree:
        return STRtree(self.geoms)

    @cached_property
    def _to_wgs(self):
        from pyproj import Transformer

        return Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    @cached_property
    def _from_wgs(self):
        from pyproj import Transformer

        return Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)

    def to_lonlat(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """Local CRS → lon/lat (EPSG:4326)."""
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        x, y = self._to_wgs.transform(pts[:, 0], pts[:, 1])
        return np.column_stack([x, y])

    def to_local(self, lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
        """Lon/lat (EPSG:4326) → local CRS."""
        pts = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
        x, y = self._from_wgs.transform(pts[:, 0], pts[:, 1])
        return np.column_stack([x, y])

    def nearest_on_street(self, lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
        """The nearest point on any street to each lon/lat, as lon/lat."""
        pts = shapely.points(self.to_local(lonlat))
        (_, edge), _ = self._tree.query_nearest(pts, return_distance=True, all_matches=False)
        lines = self.geoms[edge]
        snapped = shapely.line_interpolate_point(lines, shapely.line_locate_point(lines, pts))
        return self.to_lonlat(shapely.get_coordinates(snapped))

    def street_distance(self, lonlat: NDArray[np.floating] | list) -> NDArray[np.float64]:
        """Metres from each lon/lat to the nearest street (np.inf when the network has no streets)."""
        pts_ll = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
        if not self.edges:
            return np.full(len(pts_ll), np.inf)
        if not len(pts_ll):
            return np.zeros(0)
        pts = shapely.points(self.to_local(pts_ll))
        _, dist = self._tree.query_nearest(pts, return_distance=True, all_matches=False)
        return np.asarray(dist, dtype=np.float64)

    # --- stops ------------------------------------------------------------------------------
    def place(
        self,
        lonlat: NDArray[np.floating] | list,
        *,
        ids: list[str] | None = None,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
    ) -> Placement:
        """Snap stops (lon/lat) onto the nearest street and insert each snap point as a junction.

        Raises
        ------
        InvalidInput
            Naming every stop farther than `max_snap_m` from all streets, with its distance.
        """
        pts_ll = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
        labels = [str(i) for i in (ids if ids is not None else range(len(pts_ll)))]
        if not self.edges:
            msg = "路网中没有道路，无法规划巡查路线"
            raise InvalidInput(msg)
        xy = self.to_local(pts_ll)
        pts = shapely.points(xy)
        (_, edge), dist = self._tree.query_nearest(pts, return_distance=True, all_matches=False)
        far = np.flatnonzero(dist > max_snap_m)
        if len(far):
            shown = "、".join(f"{labels[i]}（{dist[i]:,.0f} 米）" for i in far[:20])
            more = f" 等 {len(far)} 个" if len(far) > 20 else ""
            msg = (
                f"点位 {shown}{more} 离最近的道路超过 {max_snap_m:,.0f} 米，无法沿路网到达。"
                "请核对这些点位的经纬度（是否把经度、纬度写反，或用了高德/百度坐标而未转换），"
                "或导入覆盖这些点位的路网（gridmap import-streets），"
                "或调大设置 GRIDMAP_PATROL_MAX_SNAP_M"
            )
            raise InvalidInput(msg)
        return Placement(self, xy=xy, edge=np.asarray(edge, dtype=np.int64), snap_m=dist, ids=labels)


def _clean_name(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNNAMED
    text = str(value).strip()
    return text or UNNAMED


class Placement:
    """Stops on the street graph: their junctions, the matrix of lengths between them, and paths."""

    def __init__(self, network: StreetNetwork, *, xy, edge, snap_m, ids: list[str]) -> None:
        self.network = network
        self.ids = ids
        self.xy = xy
        self.snap_m = np.asarray(snap_m, dtype=np.float64)
        net = network
        at = shapely.line_locate_point(net.geoms[edge], shapely.points(xy))
        full = net.length[edge]
        n_base = net.nodes
        stop_node = np.empty(len(xy), dtype=np.int64)
        on_u = at <= _AT_NODE_M
        on_v = ~on_u & (at >= full - _AT_NODE_M)
        stop_node[on_u] = net.u[edge[on_u]]
        stop_node[on_v] = net.v[edge[on_v]]
        inner = np.flatnonzero(~on_u & ~on_v)
        # virtual junctions: one per distinct (edge, position), chained along each split edge
        keys = np.column_stack([edge[inner], np.round(at[inner] / _AT_NODE_M).astype(np.int64)])
        uniq, which = np.unique(keys, axis=0, return_inverse=True) if len(inner) else (keys, inner)
        which = np.asarray(which).ravel()
        stop_node[inner] = n_base + which
        virt_edge = uniq[:, 0] if len(inner) else np.zeros(0, dtype=np.int64)
        virt_at = np.zeros(len(uniq))
        if len(inner):
            np.maximum.at(virt_at, which, at[inner])  # one position per virtual junction
        self.stop_node = stop_node
        split = np.unique(virt_edge)
        keep = np.ones(net.edges, dtype=bool)
        keep[split] = False
        us, vs, lens, geoms, names, parent = (
            [net.u[keep]],
            [net.v[keep]],
            [net.length[keep]],
            [net.geoms[keep]],
            [net.names[keep]],
            [np.flatnonzero(keep)],
        )
        extra_xy = []
        for e in split:  # a short loop over the few edges that hold stops
            mine = np.flatnonzero(virt_edge == e)
            mine = mine[np.argsort(virt_at[mine])]
            marks = [0.0, *virt_at[mine].tolist(), float(net.length[e])]
            chain = [int(net.u[e]), *(n_base + mine).tolist(), int(net.v[e])]
            line = net.geoms[e]
            for a, b, t0, t1 in zip(chain[:-1], chain[1:], marks[:-1], marks[1:]):
                us.append(np.array([a]))
                vs.append(np.array([b]))
                lens.append(np.array([t1 - t0]))
                geoms.append(np.array([_piece(line, t0, t1)], dtype=object))
                names.append(np.array([net.names[e]], dtype=object))
                parent.append(np.array([e]))
        for k in range(len(uniq)):
            p = shapely.line_interpolate_point(net.geoms[virt_edge[k]], virt_at[k])
            extra_xy.append((p.x, p.y))
        self.node_xy = np.vstack([net.node_xy, np.asarray(extra_xy).reshape(-1, 2)])
        self.u = np.concatenate(us).astype(np.int64)
        self.v = np.concatenate(vs).astype(np.int64)
        self.length = np.concatenate(lens).astype(np.float64)
        self.geoms = np.concatenate(geoms)
        self.names = np.concatenate(names)
        self.parent = np.concatenate(parent)
        self.snap_xy = self.node_xy[stop_node]
        self._build_graph()
        self._dist: NDArray[np.float64] | None = None
        self._pred: NDArray[np.int32] | None = None

    def _build_graph(self) -> None:
        n = len(self.node_xy)
        a = np.minimum(self.u, self.v)
        b = np.maximum(self.u, self.v)
        ok = a != b
        order = np.lexsort((self.length, b, a))
        order = order[ok[order]]
        pair = np.column_stack([a[order], b[order]])
        fresh = np.r_[True, (pair[1:] != pair[:-1]).any(axis=1)] if len(pair) else np.zeros(0, bool)
        best = order[fresh]  # the shortest of parallel edges between two junctions
        weight = np.maximum(self.length[best], _MIN_WEIGHT)
        self.graph = csr_matrix((weight, (a[best], b[best])), shape=(n, n))
        self._edge_of = csr_matrix((best + 1, (a[best], b[best])), shape=(n, n))

    def _run(self) -> None:
        if self._dist is not None:
            return
        self.sources, self._row = np.unique(self.stop_node, return_inverse=True)
        dist, pred = dijkstra(self.graph, directed=False, indices=self.sources, return_predecessors=True)
        self._dist, self._pred = dist, pred.astype(np.int32)

    def matrix(self) -> NDArray[np.float64]:
        """n × n lengths (metres) along streets between the stops; np.inf across unconnected pieces."""
        self._run()
        assert self._dist is not None
        rows = self._dist[self._row.ravel()]
        return np.ascontiguousarray(rows[:, self.stop_node])

    def path_edges(self, i: int, j: int) -> list[tuple[int, bool]]:
        """Edges (index, forward?) of the shortest path from stop i to stop j."""
        self._run()
        assert self._pred is not None
        source, target = int(self.stop_node[i]), int(self.stop_node[j])
        if source == target:
            return []
        pred = self._pred[int(np.asarray(self._row).ravel()[i])]
        if pred[target] < 0:
            msg = f"点位 {self.ids[i]} 与 {self.ids[j]} 在路网中不连通"
            raise InvalidInput(msg)
        nodes = [target]
        while nodes[-1] != source:
            nodes.append(int(pred[nodes[-1]]))
        nodes.reverse()
        out = []
        for a, b in itertools.pairwise(nodes):
            e = int(self._edge_of[min(a, b), max(a, b)]) - 1
            out.append((e, int(self.u[e]) == a))
        return out

    def leg(self, i: int, j: int) -> Leg:
        """The way from stop i to stop j: its line along the streets (local CRS) and its pieces."""
        steps = self.path_edges(i, j)
        coords: list[NDArray[np.float64]] = []
        pieces = []
        for e, forward in steps:
            c = shapely.get_coordinates(self.geoms[e])
            if not forward:
                c = c[::-1]
            coords.append(c)
            pieces.append(Piece(name=str(self.names[e]), length=float(self.length[e]), coords=c))
        if coords:
            line = np.vstack(coords)
            dup = np.r_[False, (line[1:] == line[:-1]).all(axis=1)]
            line = line[~dup]
        else:
            line = np.vstack([self.snap_xy[i], self.snap_xy[j]])
        return Leg(start=i, end=j, coords=line, pieces=pieces, length=float(sum(p.length for p in pieces)))


def _piece(line, t0: float, t1: float):
    part = substring(line, t0, t1)
    if part.geom_type != "LineString" or part.is_empty:  # a zero-length piece comes back as a point
        p = shapely.line_interpolate_point(line, t0)
        part = shapely.linestrings([[p.x, p.y], [p.x, p.y]])
    return part


@dataclass(frozen=True)
class Piece:
    """One street edge walked along a leg, in walking direction."""

    name: str
    length: float
    coords: NDArray[np.float64]


@dataclass(frozen=True)
class Leg:
    """The way between two consecutive stops of a route."""

    start: int
    end: int
    coords: NDArray[np.float64]  # local CRS, every vertex on a street
    pieces: list[Piece]
    length: float
