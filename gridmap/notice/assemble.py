"""A month's NoticeData from the store: the month's cases, the rankings of towns and grids, the
flags, typical problems with their photos, overdue cases by unit and a map of the problems."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import geopandas as gpd
from PIL import Image
from shapely.geometry import Point

from gridmap import clock, printmap
from gridmap.errors import GridmapError
from gridmap.notice.data import (
    DEFAULT_COLUMNS,
    NoticeData,
    OverdueCase,
    RankRow,
    TypicalProblem,
    UnitOverdue,
    default_number,
    parse_month,
)
from gridmap.notice.ranking import (
    FINAL_OUT,
    PENDING,
    SIMPLE_METHOD,
    Ranking,
    rows_from_evaluation,
    simple_ranking,
    simple_totals,
)
from gridmap.problems.context import ProblemContext
from gridmap.problems.repository import Criteria, events_and_photos, select_problems

PHOTO_SIDE = 800  # pixels: photos are shrunk to this for the documents
TYPICAL_COUNT = 4
NO_UNIT = "未指定责任单位"

# A ranking source: (context, month, now) -> the month's Ranking of towns and grids.
RankingSource = Callable[[ProblemContext, str, dt.datetime], Ranking]


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """The month in China time as naive UTC [start, end)."""
    year, mon = parse_month(month)
    start = dt.datetime(year, mon, 1, tzinfo=clock.CHINA)
    end = dt.datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=clock.CHINA)
    return clock.to_db(start), clock.to_db(end)


def month_cases(ctx: ProblemContext, month: str) -> list[dict[str, Any]]:
    """The problems reported in the month (China time), as plain mappings."""
    start, end = month_bounds(month)
    rows = select_problems(
        ctx.store, Criteria(created_from=start, created_before=end), order=("created_at", "id")
    )
    return [dict(row._mapping) for row in rows]


def _names(frame) -> dict[str, str]:
    return {str(code): str(name) for code, name in frame["name"].items()}


def simple_source(min_sample: int = 5) -> RankingSource:
    """The stand-in ranking from simple counts (simple_ranking), as a RankingSource."""

    def source(ctx: ProblemContext, month: str, now: dt.datetime) -> Ranking:
        model = ctx.reference.model()
        cases = month_cases(ctx, month)

        def rows(grouping: str, frame) -> tuple[RankRow, ...]:
            ranked = simple_ranking(
                cases, key=f"{grouping}_code", names=_names(frame), now=now, min_sample=min_sample
            )
            return rows_from_evaluation(ranked)

        return Ranking(
            towns=rows("town", model.towns),
            grids=rows("grid", model.grids),
            columns=DEFAULT_COLUMNS,
            method=SIMPLE_METHOD.format(min_sample=min_sample),
            totals=simple_totals(cases),
        )

    return source


def _category(ctx: ProblemContext, code: str) -> str:
    return ctx.categories.name(code)


def _place(case: Mapping[str, Any]) -> str:
    if case.get("address"):
        return str(case["address"])
    where = "".join(str(case[k]) for k in ("town_name", "grid_name") if case.get(k))
    return where or f"东经{case['lon']:.5f}°，北纬{case['lat']:.5f}°"


def _shrunk(data: bytes) -> bytes | None:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = opened.convert("RGB")
        image.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=82)
        return out.getvalue()
    except Exception:  # a photo the store cannot give back readable: printed without it
        return None


def typical_problems(
    ctx: ProblemContext, cases: Sequence[Mapping[str, Any]], *, now: dt.datetime, count: int = TYPICAL_COUNT
) -> tuple[TypicalProblem, ...]:
    """The month's most telling cases: overdue first, then reworked, supported, urgent; those with
    a photo before those without; each with its first photo."""
    live = [c for c in cases if c["status"] not in FINAL_OUT]
    _events, photos = events_and_photos(ctx.store, [c["id"] for c in live], events=False)

    def weight(c: Mapping[str, Any]) -> tuple:
        overdue = c["status"] in PENDING and c["deadline"] < now
        return (
            not photos[c["id"]],
            not overdue,
            -c["reworks"],
            -c["supporters"],
            c["urgency"] != "urgent",
            c["id"],
        )

    out = []
    for case in sorted(live, key=weight)[:count]:
        photo = None
        if photos[case["id"]]:
            try:
                photo = _shrunk(ctx.storage.get(photos[case["id"]][0].key))
            except GridmapError:
                photo = None
        out.append(
            TypicalProblem(
                tracking_no=case["tracking_no"],
                category=_category(ctx, case["category"]),
                place=_place(case),
                unit=case.get("unit_name") or case.get("unit_code") or NO_UNIT,
                deadline=case["deadline"],
                status=case["status"],
                description=str(case.get("description") or "")[:120],
                photo=photo,
            )
        )
    return tuple(out)


def overdue_by_unit(ctx: ProblemContext, *, now: dt.datetime) -> tuple[UnitOverdue, ...]:
    """Every case still pending past its deadline at ``now``, grouped by responsible unit."""
    rows = select_problems(ctx.store, Criteria(overdue_at=now), order=("unit_code", "deadline", "id"))
    units: dict[str, tuple[str, list[OverdueCase]]] = {}
    for row in rows:
        code = row.unit_code or ""
        name = row.unit_name or row.unit_code or NO_UNIT
        units.setdefault(code, (name, []))[1].append(
            OverdueCase(
                tracking_no=row.tracking_no,
                category=_category(ctx, row.category),
                place=_place(dict(row._mapping)),
                deadline=row.deadline,
                days_overdue=max(0, (now - row.deadline).days),
                description=str(row.description or "")[:120],
            )
        )
    ordered = sorted(units.items(), key=lambda item: (-len(item[1][1]), item[0]))
    return tuple(
        UnitOverdue(unit_code=code, unit_name=name, cases=tuple(cases)) for code, (name, cases) in ordered
    )


def problem_map(
    ctx: ProblemContext, cases: Sequence[Mapping[str, Any]], *, now: dt.datetime, dpi: int = 110
) -> bytes:
    """The county map with the month's problems by status (overdue ones marked), as PNG."""
    live = [c for c in cases if c["status"] not in FINAL_OUT]
    status = ["overdue" if c["status"] in PENDING and c["deadline"] < now else c["status"] for c in live]
    frame = gpd.GeoDataFrame(
        {"status": status}, geometry=[Point(c["lon"], c["lat"]) for c in live], crs="EPSG:4326"
    )
    overlay = printmap.problem_overlay(frame, label="本月问题（按状态）")
    rendered = printmap.render_map(
        ctx.reference.model(), kind="county", fmt="png", dpi=dpi, overlays=[overlay], today=clock.today()
    )
    return rendered.data


def assemble_notice(
    ctx: ProblemContext,
    *,
    month: str,
    issuer: str,
    number: str | None = None,
    now: dt.datetime | None = None,
    ranking: RankingSource | None = None,
    with_map: bool = True,
) -> NoticeData:
    """Gather a month's notice from the store.

    ``ranking`` ranks the towns and grids; by default the stand-in from simple counts
    (``simple_source``). ``now`` (naive UTC) is when the overdue cases are counted (default: the
    clock's now).
    """
    parse_month(month)
    moment = clock.to_db(now)
    ranked = (ranking or simple_source())(ctx, month, moment)
    cases = month_cases(ctx, month)
    overdue = overdue_by_unit(ctx, now=moment)
    return NoticeData(
        month=month,
        number=number or default_number(month),
        issuer=issuer,
        issued_on=clock.china(moment).date(),
        towns=ranked.towns,
        grids=ranked.grids,
        columns=ranked.columns,
        totals={**ranked.totals, "overdue": sum(len(u.cases) for u in overdue)},
        typical=typical_problems(ctx, cases, now=moment),
        overdue=overdue,
        map_png=problem_map(ctx, cases, now=moment) if with_map else None,
        method=ranked.method,
    )
