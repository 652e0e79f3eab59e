"""A tiny hand-made town for patrol tests: a street grid in metres (EPSG:4545), two grids, three inspectors."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import Transformer
from shapely.geometry import LineString, Point, box

from tests import factory

CRS = "EPSG:4545"
_TO_LL = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
_TO_XY = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
X0, Y0 = _TO_XY.transform(106.515, 33.905)  # south-west corner of the town, metres
XS = (100.0, 300.0, 500.0, 700.0, 900.0, 1100.0)  # north–south streets, metres east of X0
YS = (100.0, 300.0, 500.0)  # east–west streets, metres north of Y0
SPLIT_X = 600.0  # the grid boundary, metres east of X0: grid A west of it, grid B east


def options(**changes):
    """DayOptions from the settings registry's defaults, with `changes` (e.g. a short time_limit)."""
    from gridmap.routing.options import options_from_settings
    from gridmap.settings import SETTINGS

    return options_from_settings({s.name: s.default for s in SETTINGS}, **changes)


def ll(x: float, y: float) -> tuple[float, float]:
    """Town metres (east, north of the corner) → lon/lat."""
    lon, lat = _TO_LL.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def xy(lon: float, lat: float) -> tuple[float, float]:
    """Lon/lat → town metres."""
    x, y = _TO_XY.transform(lon, lat)
    return float(x - X0), float(y - Y0)


def line(*pts: tuple[float, float]) -> LineString:
    return LineString([ll(x, y) for x, y in pts])


def street_lines(*, split: bool = True) -> gpd.GeoDataFrame:
    """The street grid in lon/lat: split at every junction (like the segments layer) or whole streets (like OSM)."""
    names, geoms = [], []
    for k, y in enumerate(YS, start=1):
        stops = sorted([*XS, SPLIT_X])
        if split:
            for a, b in itertools.pairwise(stops):
                names.append(f"东西{k}路")
                geoms.append(line((a, y), (b, y)))
        else:
            names.append(f"东西{k}路")
            geoms.append(line(*[(x, y) for x in stops]))
    for k, x in enumerate(XS, start=1):
        if split:
            for a, b in itertools.pairwise(YS):
                names.append(f"南北{k}街")
                geoms.append(line((x, a), (x, b)))
        else:
            names.append(f"南北{k}街")
            geoms.append(line(*[(x, y) for y in YS]))
    return gpd.GeoDataFrame({"name": names}, geometry=geoms, crs="EPSG:4326")


# Inspection points: (code, name, x, y) — a few metres off the streets, in grid A (x < 600) or B.
POINTS = [
    ("P1", "城关农贸市场", 200.0, 110.0),
    ("P2", "县医院", 300.0, 410.0),
    ("P3", "实验小学", 480.0, 300.0),
    ("P4", "汽车站", 120.0, 480.0),
    ("P5", "人民广场", 800.0, 290.0),
    ("P6", "文化馆", 1000.0, 510.0),
    ("P7", "东关市场", 1090.0, 200.0),
    ("P8", "县图书馆", 700.0, 120.0),
]
GRID_A, GRID_B = "610330100001", "610330100002"


def layers() -> dict[str, gpd.GeoDataFrame]:
    base = factory.layers()
    lines = street_lines(split=True)
    n = len(lines)
    base["segments"] = gpd.GeoDataFrame(
        {
            "code": [f"S{k:03d}" for k in range(1, n + 1)],
            "road_name": lines["name"],
            "from_name": [None] * n,
            "to_name": [None] * n,
            "unit_code": ["U1" if xy(*g.coords[0])[0] < SPLIT_X - 1 else "U2" for g in lines.geometry],
        },
        geometry=lines.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    a = box(*ll(0, 0), *ll(SPLIT_X, 600))
    b = box(*ll(SPLIT_X, 0), *ll(1200, 600))
    base["grids"] = gpd.GeoDataFrame(
        {"code": [GRID_A, GRID_B], "name": ["西关网格", "东关网格"], "town_code": ["610330100"] * 2},
        geometry=[a, b],
        crs="EPSG:4326",
    )
    base["points"] = gpd.GeoDataFrame(
        {
            "code": [p[0] for p in POINTS],
            "name": [p[1] for p in POINTS],
            "category": ["农贸市场"] * len(POINTS),
            "address": [None] * len(POINTS),
            "unit_code": ["U1" if p[2] < SPLIT_X else "U2" for p in POINTS],
        },
        geometry=[Point(ll(p[2], p[3])) for p in POINTS],
        crs="EPSG:4326",
    )
    base["communities"] = gpd.GeoDataFrame(
        {
            "code": ["C1"],
            "name": ["花园小区"],
            "property_company": [None],
            "households": [100],
            "unit_code": ["U1"],
        },
        geometry=[box(*ll(320, 320), *ll(380, 380))],
        crs="EPSG:4326",
    )
    base.pop("rivers", None)
    return base


def tables() -> dict[str, list[list]]:
    out = factory.tables()
    out["inspectors"] = [
        ["I01", "冯巡查", "13900000010", GRID_A],
        ["I02", "陈巡查", "13900000011", GRID_B],
        ["I03", "褚巡查", "13900000012", f"{GRID_A}、{GRID_B}"],
    ]
    return out


def write(directory: Path) -> Path:
    return factory.write_dataset(directory, layers_=layers(), tables_=tables())


def add_problem(
    ctx, *, x: float, y: float, status: str = "reported", days_ago: float = 0.0, category: str = "garbage"
) -> str:
    """Report a problem at town metres (x, y); see `report`."""
    lon, lat = ll(x, y)
    return report(ctx, lon=lon, lat=lat, status=status, days_ago=days_ago, category=category)


def report(
    ctx, *, lon: float, lat: float, status: str = "reported", days_ago: float = 0.0, category: str = "garbage"
) -> str:
    """Report a problem through the problem service, `days_ago` days ago (garbage: 24 working hours,
    so 20 days ago is overdue even across the Spring Festival), then, for ``status="rectified"``, dispatch and rectify it as the office."""
    from gridmap.auth import get_user
    from gridmap.problems import service, workflow

    office = get_user(ctx.store, username="office") or _office(ctx.store)
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    rec = service.report_problem(
        ctx, lon=lon, lat=lat, category=category, description="路边垃圾堆放", user=office, now=when
    ).record
    if status == "rectified":
        unit = (rec.get("unit") or {}).get("code") or "U1"
        workflow.act(ctx, rec["tracking_no"], user=office, action="dispatch", unit_code=unit, now=when)
        workflow.act(ctx, rec["tracking_no"], user=office, action="rectify", note="已清理", now=when)
    return rec["tracking_no"]


def seed_demo_problems(ctx, model, *, count: int = 30, seed: int = 4) -> dict[str, str]:
    """Problems beside random road segments of a loaded county: a third each rectified (to verify),
    overdue, and fresh. Returns tracking number → status given."""
    rng = np.random.default_rng(seed)
    segments = model.segments.to_crs(model.local_crs)
    picks = rng.choice(len(segments), size=count, replace=False)
    to_ll = Transformer.from_crs(model.local_crs, "EPSG:4326", always_xy=True)
    out = {}
    for k, i in enumerate(picks):
        geom = segments.geometry.iloc[int(i)]
        p = geom.interpolate(float(rng.uniform(0.2, 0.8)), normalized=True)
        lon, lat = to_ll.transform(p.x + 4.0, p.y + 4.0)
        kind = ("rectified", "overdue", "fresh")[k % 3]
        number = report(
            ctx,
            lon=float(lon),
            lat=float(lat),
            status="rectified" if kind == "rectified" else "reported",
            days_ago=20.0 if kind == "overdue" else 0.0,
        )
        out[number] = kind
    return out


def _office(store):
    from gridmap.auth import add_user

    return add_user(store, username="office", role="office", password="secret-pass-1")


def on_streets(coords: np.ndarray, lines: gpd.GeoDataFrame) -> float:
    """Largest distance (metres, EPSG:4545) from lon/lat vertices to the street lines."""
    import shapely

    streets = shapely.union_all(lines.to_crs(CRS).geometry.to_numpy())
    x, y = _TO_XY.transform(coords[:, 0], coords[:, 1])
    return float(shapely.distance(shapely.points(np.column_stack([x, y])), streets).max())
