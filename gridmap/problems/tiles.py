"""Problems as Mapbox Vector Tiles: the public map layer's points per tile, cached per problems version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gridmap import clock, vectortiles
from gridmap.errors import InvalidInput
from gridmap.parsing import shown
from gridmap.problems import repository
from gridmap.problems.context import ProblemContext
from gridmap.problems.maplayer import features
from gridmap.problems.records import public_view, records
from gridmap.problems.states import SOURCES, STATUS_LABELS
from gridmap.responsibility import ResponsibilityModel

LAYER = "problems"
POPUP_ZOOM = 13  # from this zoom a feature carries its popup (with history); below, a click zooms in
MAX_PER_TILE = 5000  # the newest, as the JSON layer (lists.map_problems) keeps
GCJ_PAD_DEG = 0.01  # GCJ-02 moves a point up to ~700 m: read this much more around a shifted tile
SLIM_KEYS = ("tracking_no", "status", "overdue", "color", "category", "source", "date")


@dataclass(frozen=True)
class ProblemScope:
    """Which problems a tile shows: the page's grids or unit (as /api/problems/map.json) and the
    map's filter box (status or "overdue", category, source, report dates as China dates)."""

    grid_codes: tuple[str, ...] | None = None
    unit_code: str | None = None
    status: str | None = None
    category: str | None = None
    source: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def key(self) -> tuple:
        return (
            self.grid_codes,
            self.unit_code,
            self.status,
            self.category,
            self.source,
            self.date_from,
            self.date_to,
        )

    def keeps(self, feature: dict) -> bool:
        """The map's filter box on one feature (the same tests as its script on the JSON layer)."""
        if self.status == "overdue" and not feature["overdue"]:
            return False
        if self.status not in (None, "overdue") and feature["status"] != self.status:
            return False
        if self.category is not None and feature["category"] != self.category:
            return False
        if self.source is not None and feature["source"] != self.source:
            return False
        if self.date_from is not None and feature["date"] < self.date_from:
            return False
        return not (self.date_to is not None and feature["date"] > self.date_to)


def parse_scope(args: Mapping[str, str], *, ctx: ProblemContext) -> ProblemScope:
    """A tile's scope from its query parameters (``grid``, ``unit``, ``status``, ``category``, ``source``,
    ``from``, ``to``); a bad value is an InvalidInput saying which and what is allowed."""

    def get(name: str) -> str | None:
        value = str(args.get(name) or "").strip()
        return value or None

    # "grid" present but empty (a leader without grids): no problems, not all of them
    grids = tuple(g for g in str(args["grid"]).split(",") if g) if "grid" in args else None
    status = get("status")
    if status is not None and status != "overdue" and status not in STATUS_LABELS:
        msg = f"状态 status 无效：{shown(status)}；可用：overdue（逾期）、{'、'.join(STATUS_LABELS)}"
        raise InvalidInput(msg)
    category = get("category")
    if category is not None:
        category = ctx.categories.get(category).code
    source = get("source")
    if source is not None and source not in SOURCES:
        msg = f"来源 source 无效：{shown(source)}；可用：{'、'.join(SOURCES)}"
        raise InvalidInput(msg)
    dates = {}
    for name, label in (("from", "起始日期"), ("to", "截止日期")):
        value = get(name)
        if value is not None:
            try:
                value = dt.date.fromisoformat(value).isoformat()
            except ValueError:
                msg = f"{label} {name} 无效：{shown(value)}；请写成 2026-11-30 这样的日期"
                raise InvalidInput(msg) from None
        dates[name] = value
    return ProblemScope(
        grid_codes=grids,
        unit_code=get("unit"),
        status=status,
        category=category,
        source=source,
        date_from=dates["from"],
        date_to=dates["to"],
    )


def version(ctx: ProblemContext, *, now: dt.datetime) -> str:
    """The problems' data version for tiles and their ETag: the newest problem id, the last touched
    problem and when (every report, action, support and merge sets ``updated_at``), and the minute
    (whether a problem is overdue changes with time alone)."""
    newest = repository.select_problems(ctx.store, order=("-id",), limit=1)
    touched = repository.select_problems(ctx.store, order=("-updated_at", "-id"), limit=1)
    parts = [str(newest[0].id) if newest else "0"]
    if touched:
        parts += [str(touched[0].id), clock.to_db(touched[0].updated_at).strftime("%Y%m%d%H%M%S%f")]
    parts.append(clock.to_db(now).strftime("%Y%m%d%H%M"))
    return "p" + "-".join(parts)


def _encode(
    ctx: ProblemContext,
    scope: ProblemScope,
    *,
    z: int,
    x: int,
    y: int,
    crs: str,
    now: dt.datetime,
    page_base: str,
) -> bytes:
    west, south, east, north = vectortiles.lonlat_bounds(z, x, y)
    pad = GCJ_PAD_DEG if crs != "wgs84" else 0.0
    equal = () if scope.unit_code is None else (("unit_code", scope.unit_code),)
    among = () if scope.grid_codes is None else (("grid_code", list(scope.grid_codes)),)
    criteria = repository.Criteria(
        equal=equal, among=among, lon_between=(west - pad, east + pad), lat_between=(south - pad, north + pad)
    )
    rows = repository.select_problems(ctx.store, criteria, order=("-created_at",), limit=MAX_PER_TILE)
    full = z >= POPUP_ZOOM
    found = [public_view(r) for r in records(ctx, rows, now=now, history=full)]
    shown_features = [f for f in features(found, page_base=page_base, crs=crs) if scope.keeps(f)]
    if not shown_features:
        return b""
    keys = (*SLIM_KEYS, "popup") if full else SLIM_KEYS
    props = [{k: f[k] for k in keys if f[k] is not None} for f in shown_features]
    lonlat = np.array([[f["lon"], f["lat"]] for f in shown_features], dtype=float)
    ids = [int(f["id"]) for f in shown_features]
    return vectortiles.encode_points(LAYER, lonlat, props, ids, z=z, x=x, y=y)


def problem_tile(
    ctx: ProblemContext,
    *,
    z: int,
    x: int,
    y: int,
    scope: ProblemScope,
    crs: str = "wgs84",
    now: dt.datetime | None = None,
    page_base: str = "",
) -> tuple[str, vectortiles.Tile]:
    """(the problems' version, the tile): the public problems in a tile as the map's JSON layer shows
    them (no reporter, the same escaped popups, from POPUP_ZOOM), cached per version."""
    vectortiles.check_tile(z, x, y, crs)
    moment = now if now is not None else clock.utcnow()
    current = version(ctx, now=moment)
    key = (LAYER, ctx.store.url, current, crs, page_base, scope.key(), z, x, y)
    tile = vectortiles.cached_tile(
        key, lambda: _encode(ctx, scope, z=z, x=x, y=y, crs=crs, now=moment, page_base=page_base)
    )
    return current, tile


def use_tiles(ctx: ProblemContext, model: ResponsibilityModel, *, embed_max_features: int | None) -> bool:
    """Whether a map draws problems from tiles: when its other layers are tiled (the county is above
    GRIDMAP_EMBED_MAX_FEATURES) or when the problems alone are more than that."""
    if embed_max_features is None:
        return False
    reference = len(model.grids) + len(model.segments) + len(model.points) + len(model.communities)
    if reference > embed_max_features:
        return True
    return sum(repository.counts_by_status(ctx.store).values()) > embed_max_features
