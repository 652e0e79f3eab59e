"""Past cases from another system's export: read, checked, located by whois, stored with their real times."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gridmap.clock import iso, to_db, utcnow
from gridmap.errors import Finding, InvalidInput
from gridmap.problems import deadlines, repository
from gridmap.problems.categories import URGENCY_WORDS
from gridmap.problems.context import ProblemContext
from gridmap.problems.historycells import (
    FIELDS,
    CellError,
    Places,
    Table,
    parse_count,
    parse_flag,
    parse_number,
    parse_source,
    parse_status,
    parse_time,
    read_table,
    text,
)
from gridmap.problems.historyreport import HistoryReport
from gridmap.problems.states import STATUS_LABELS
from gridmap.whois import parse_lonlat

__all__ = ["ACTOR", "HistoryReport", "import_history"]

ACTOR = "import"  # the actor and actor_role of every event an import writes
STEPS = ("reported_at", "filed_at", "dispatched_at", "handled_at", "closed_at")
# The step times a status needs, and those it cannot have yet.
NEEDS: dict[str, tuple[str, ...]] = {
    "accepted": ("filed_at",),
    "dispatched": ("filed_at", "dispatched_at"),
    "returned": ("filed_at", "dispatched_at"),
    "parked": ("filed_at",),
    "rectified": ("filed_at", "dispatched_at", "handled_at"),
    "verified": ("filed_at", "dispatched_at", "handled_at"),
    "closed": ("filed_at", "dispatched_at", "handled_at", "closed_at"),
}
LATER: dict[str, tuple[str, ...]] = {
    "reported": STEPS[1:],
    "verifying": STEPS[1:],
    "accepted": STEPS[2:],
    "dispatched": STEPS[3:],
    "returned": STEPS[3:],
    "parked": STEPS[3:],
    "rectified": STEPS[4:],
    "verified": STEPS[4:],
    "rejected": ("dispatched_at", "handled_at"),
}
ORDER_HINT = "各环节时间应依次不早于上一环节：上报 ≤ 立案 ≤ 派遣 ≤ 处置 ≤ 结案"
MAX_DESCRIPTION = 2000


@dataclass
class Case:
    """One row, read and checked."""

    row: int
    tracking_no: str
    times: dict[str, dt.datetime | None]  # the STEPS, aware UTC
    category: str
    description: str
    source: str
    status: str
    urgency: str
    lon: float | None = None
    lat: float | None = None
    address: str | None = None
    by_address: str | None = None  # what the address was matched to
    deadline: dt.datetime | None = None
    unit_code: str | None = None
    reported_by: str | None = None
    reworks: int = 0
    extensions: int = 0
    parked: bool = False


# --- checking a row ----------------------------------------------------------------------------
def _check(
    ctx: ProblemContext,
    table: Table,
    values: list,
    number: int,
    *,
    places: Places,
    units: set[str],
    crs: str | None,
    now: dt.datetime,
) -> tuple[Case | None, list[Finding]]:
    found: list[Finding] = []
    excel = table.format == "xlsx"

    def bad(name: str, message: str, hint: str) -> None:
        found.append(
            Finding(
                message,
                file=table.file,
                layer=table.sheet,
                feature=f"第 {number} 行",
                field=FIELDS[name][0],
                hint=hint,
            )
        )

    def cell(name: str, parse: Callable):
        try:
            return parse(table.cell(values, name))
        except CellError as exc:
            bad(name, exc.message, exc.hint)
            return None

    tracking_no = text(table.cell(values, "tracking_no"))
    if tracking_no is None or len(tracking_no) > 32:
        shown = f"“{tracking_no[:40]}”超过 32 个字符" if tracking_no else "没有填写受理编号"
        bad("tracking_no", shown, "每行写原系统的受理编号（不超过 32 个字符），编号不能重复")
    times = {s: cell(s, lambda v: parse_time(v, excel=excel)) for s in STEPS}
    if times["reported_at"] is None and not any(f.field == FIELDS["reported_at"][0] for f in found):
        bad("reported_at", "没有填写上报时间", "每个案件都要有上报时间（北京时间），如 2026-11-03 08:30")
    deadline = cell("deadline", lambda v: parse_time(v, excel=excel, end_of_day=True))
    category = None
    try:
        category = ctx.categories.get(table.cell(values, "category"))
    except InvalidInput:
        written = text(table.cell(values, "category"))
        what = f"问题类别“{written[:40]}”不存在" if written else "没有填写问题类别"
        bad("category", what, "写类别编码或名称，如 garbage 或 垃圾暴露（全部类别见 /api/categories）")
    source = cell("source", parse_source)
    status = cell("status", parse_status)
    parked = cell("parked", parse_flag) or False
    reworks = cell("reworks", parse_count) or 0
    extensions = cell("extensions", parse_count) or 0
    urgency_word = text(table.cell(values, "urgency"))
    urgency = URGENCY_WORDS.get((urgency_word or "").lower(), URGENCY_WORDS.get(urgency_word or ""))
    if urgency_word and urgency is None:
        bad(
            "urgency",
            f"紧急程度“{urgency_word[:20]}”不认识",
            "写“一般”或“紧急”（normal/urgent）；不写按类别默认",
        )
    lon = cell("lon", lambda v: parse_number(v, limit=180, label="经度"))
    lat = cell("lat", lambda v: parse_number(v, limit=90, label="纬度"))
    address = text(table.cell(values, "address"))
    description = text(table.cell(values, "description"))
    if description and len(description) > MAX_DESCRIPTION:
        bad("description", f"问题描述有 {len(description)} 个字", f"最多 {MAX_DESCRIPTION} 个字，请删减")
    reported_by = text(table.cell(values, "reported_by"))
    if reported_by and len(reported_by) > 64:
        bad(
            "reported_by",
            f"上报人“{reported_by[:40]}…”超过 64 个字符",
            "写上报人的用户名或巡查员编号，或留空",
        )
    unit_code = text(table.cell(values, "unit_code"))
    if unit_code is not None and unit_code not in units:
        bad(
            "unit_code",
            f"责任单位代码“{unit_code[:40]}”不在责任单位表中",
            "写责任单位表中的单位代码，或留空由位置确定责任单位",
        )
    by_address = None
    if (lon is None) != (lat is None):
        missing = "lat" if lat is None else "lon"
        bad(missing, "只填了经度、纬度中的一个", "经度和纬度都填，或都不填而写地址")
    elif lon is None and lat is None and not any(f.field in ("经度", "纬度") for f in found):
        hit = places.match(address) if address else None
        if hit is None:
            what = (
                f"地址“{address[:40]}”对不上任何考察点位、小区或道路" if address else "没有经纬度也没有地址"
            )
            bad(
                "address",
                what,
                "填写经度、纬度（WGS84），或在地址中写考察点位、小区或道路的名称（如“滨江路”“县医院”）",
            )
        else:
            by_address, lon, lat = hit
    elif lon is not None and lat is not None and crs:
        lon, lat = parse_lonlat(lon, lat, crs=crs)
    # the life of the case: status, step times, order
    if status is None and not any(f.field == "状态" for f in found):
        status = _status_from(times, parked)
    if status is not None:
        if parked and status != "parked":
            bad(
                "parked",
                f"挂账为“是”，但状态为“{STATUS_LABELS[status]}”",
                "挂账中的案件状态写“已挂账”或不写；已恢复办理或已结案的写“否”",
            )
        parked = parked or status == "parked"
        for step in NEEDS.get(status, ()):
            if times[step] is None and not any(f.field == FIELDS[step][0] for f in found):
                bad(
                    step,
                    f"状态为“{STATUS_LABELS[status]}”，但没有填写{FIELDS[step][0]}",
                    f"填写{FIELDS[step][0]}，或改正状态",
                )
        for step in LATER.get(status, ()):
            if times[step] is not None:
                bad(
                    step,
                    f"状态为“{STATUS_LABELS[status]}”，却已有{FIELDS[step][0]} {_shown(times[step])}",
                    f"改正状态（如“已结案”），或删去{FIELDS[step][0]}",
                )
    last: tuple[str, dt.datetime] | None = None
    for step in STEPS:
        at = times[step]
        if at is None:
            continue
        if at > now:
            bad(
                step, f"{FIELDS[step][0]} {_shown(at)} 晚于现在", "历史案件的时间不能在将来；请检查年份和月份"
            )
        if last is not None and at < last[1]:
            bad(
                step, f"{FIELDS[step][0]} {_shown(at)} 早于{FIELDS[last[0]][0]} {_shown(last[1])}", ORDER_HINT
            )
        last = (step, at)
    if deadline is not None and times["reported_at"] is not None and deadline < times["reported_at"]:
        bad(
            "deadline",
            f"处置期限 {_shown(deadline)} 早于上报时间",
            "处置期限应晚于上报时间；不写则按类别的处置时限计算",
        )
    if reworks and times["dispatched_at"] is None and status not in (None, "rejected"):
        bad(
            "reworks",
            f"返工 {reworks} 次，但没有派遣时间",
            "返工的案件必定派遣过：填写派遣时间，或把返工次数改为 0",
        )
    if found or category is None or tracking_no is None or source is None or status is None:
        return None, found
    return (
        Case(
            row=number,
            tracking_no=tracking_no,
            times=times,
            category=category.code,
            description=description or category.name,
            source=source,
            status=status,
            urgency=urgency or category.urgency,
            lon=lon,
            lat=lat,
            address=address,
            by_address=by_address,
            deadline=deadline,
            unit_code=unit_code,
            reported_by=reported_by,
            reworks=reworks,
            extensions=extensions,
            parked=parked,
        ),
        [],
    )


def _shown(moment: dt.datetime | None) -> str:
    return (iso(moment) or "")[:16].replace("T", " ")


def _status_from(times: dict[str, dt.datetime | None], parked: bool) -> str:
    """The status a row without one is in: its last step with a time."""
    for step, status in (("closed_at", "closed"), ("handled_at", "rectified")):
        if times[step] is not None:
            return status
    if parked:
        return "parked"
    return "dispatched" if times["dispatched_at"] else "accepted" if times["filed_at"] else "reported"


# --- locating, and the rows and events written ------------------------------------------------
def _assign(ctx: ProblemContext, cases: list[Case]) -> list[dict | None]:
    """Town, grid, unit and leaders of every case by whois's rules (None: outside the county)."""
    index = ctx.whois()
    model = index.model
    if not cases:
        return []
    found = index.locate(np.array([c.lon for c in cases], float), np.array([c.lat for c in cases], float))
    towns, grids, units = model.towns, model.grids, model.units
    town_codes, town_names = list(towns.index), list(towns["name"])
    grid_codes, grid_names = list(grids.index), list(grids["name"])
    leaders = set(model.leaders.index)
    unit_names = dict(zip(units.index, units["name"]))
    leads, grid_leaders = list(grids["lead_unit_code"]), list(grids["leader_codes"])
    town_leaders = list(towns["liaison_codes"])
    by_kind = [
        (found.segment, list(model.segments["unit_code"]), list(model.segments["road_name"])),
        (found.point, list(model.points["unit_code"]), list(model.points["name"])),
        (found.community, list(model.communities["unit_code"]), list(model.communities["name"])),
    ]
    out: list[dict | None] = []
    for i, case in enumerate(cases):
        town, grid = int(found.town[i]), int(found.grid[i])
        if town < 0:
            out.append(None)
            continue
        unit = None
        place = None
        for hits, unit_codes, names in by_kind:
            k = int(hits[i])
            if k >= 0:
                place = place or names[k]
                unit = unit or (unit_codes[k] if unit_codes[k] in unit_names else None)
        if unit is None and grid >= 0:
            unit = leads[grid] if leads[grid] in unit_names else None
        unit = case.unit_code or unit
        codes = grid_leaders[grid] if grid >= 0 else town_leaders[town]
        out.append(
            {
                "town_code": town_codes[town],
                "town_name": town_names[town],
                "grid_code": grid_codes[grid] if grid >= 0 else None,
                "grid_name": grid_names[grid] if grid >= 0 else None,
                "unit_code": unit,
                "unit_name": unit_names.get(unit) if unit else None,
                "leader_codes": ",".join(c for c in codes if c in leaders),
                "fallback": grid < 0,
                "place": place,
            }
        )
    return out


def _events(case: Case, unit_code: str | None, deadline: dt.datetime) -> list[dict]:
    """The synthetic events of a case's life, at its real times (naive UTC), oldest first."""
    t = {k: to_db(v) if v is not None else None for k, v in case.times.items()}
    out: list[dict] = []
    state: list[str | None] = [None]

    def add(action: str, at: dt.datetime | None, to: str, **extra: object) -> None:
        out.append(
            {
                "at": at,
                "actor": ACTOR,
                "actor_role": ACTOR,
                "action": action,
                "from_status": state[0],
                "to_status": to,
                "note": "历史案件导入",
                "deadline": extra.get("deadline"),
                "unit_code": extra.get("unit_code"),
                "detail": None,
            }
        )
        state[0] = to

    add("report", t["reported_at"], "reported")
    if case.status == "verifying":
        add("send_verify", t["reported_at"], "verifying")
    if t["filed_at"] is not None:
        add("accept", t["filed_at"], "accepted")
    if case.status == "rejected":
        add("reject", t["closed_at"] or t["filed_at"] or t["reported_at"], "rejected")
        return out
    if t["dispatched_at"] is not None:
        add("dispatch", t["dispatched_at"], "dispatched", unit_code=unit_code)
    pending_at = t["dispatched_at"] or t["filed_at"] or t["reported_at"]
    for _ in range(case.extensions):
        add("extend", pending_at, str(state[0]), deadline=deadline)
    if case.status == "parked":
        add("park", pending_at, "parked", unit_code=unit_code)
    if case.status == "returned":
        add("return", t["dispatched_at"], "returned", unit_code=unit_code)
    # the export has no rework times: they fall between the dispatch and the last fix (before
    # the fix, so that the check after it is the final verification)
    sent, fixed = t["dispatched_at"], t["handled_at"]
    rework_at = sent + (fixed - sent) / 2 if sent is not None and fixed is not None else sent or fixed
    for _ in range(case.reworks):
        state[0] = "rectified"
        add("rework", rework_at, "dispatched")
    if t["handled_at"] is not None:
        add("rectify", t["handled_at"], "rectified", unit_code=unit_code)
    if case.status in ("verified", "closed"):
        add("verify", t["closed_at"] or t["handled_at"], "verified")
    if case.status == "closed":
        add("close", t["closed_at"], "closed")
    return out


def _record(ctx: ProblemContext, case: Case, where: dict) -> tuple[dict, list[dict]]:
    reported = case.times["reported_at"]
    assert reported is not None  # checked
    due = case.deadline or deadlines.due(ctx, reported, deadlines.hours_for(ctx, case.category, case.urgency))
    deadline = to_db(due)
    events = _events(case, where["unit_code"], deadline)
    closed = case.times["closed_at"] if case.status == "closed" else None
    if case.status == "rejected":
        closed = case.times["closed_at"] or case.times["filed_at"] or reported
    row = {
        "tracking_no": case.tracking_no,
        "category": case.category,
        "description": case.description,
        "lon": round(float(case.lon or 0.0), 7),
        "lat": round(float(case.lat or 0.0), 7),
        "address": case.address or where["place"],
        "source": case.source,
        "reporter_name": None,
        "reporter_phone": None,
        "reported_by": case.reported_by,
        "status": case.status,
        **{k: v for k, v in where.items() if k != "place"},
        "deadline": deadline,
        "supporters": 0,
        "extensions": case.extensions,
        "reworks": case.reworks,
        "created_at": to_db(reported),
        "updated_at": max(e["at"] for e in events),
        "closed_at": to_db(closed) if closed is not None else None,
        "urgency": case.urgency,
        "returns": 1 if case.status == "returned" else 0,
        "reopens": 0,
    }
    return row, events


def import_history(
    ctx: ProblemContext,
    path: str | Path,
    *,
    name: str | None = None,
    skip_bad: bool = False,
    dry_run: bool = False,
    crs: str | None = None,
    encoding: str | None = None,
    now: dt.datetime | None = None,
) -> HistoryReport:
    """Import past cases from a CSV or XLSX export; all or nothing unless ``skip_bad``.

    Every bad row is reported (row, field, value, what to write). Without ``skip_bad`` a file with
    any bad row imports nothing; with it the good rows are imported and the rest reported. A
    tracking number already stored, or repeated in the file, is a bad row. Each case is placed by
    its lon/lat (``crs``: wgs84, gcj02 or bd09) or its address, assigned like a report
    (town, grid, unit unless the file names one, leaders) and stored with synthetic events at its
    real times (actor "import"), in one transaction.
    """
    started = time.perf_counter()
    now = now or utcnow()
    table = read_table(path, name=name, encoding=encoding)
    report = HistoryReport(
        file=table.file,
        format=table.format,
        sheet=table.sheet,
        encoding=table.encoding,
        encoding_reason=table.encoding_reason,
        columns=[f"{FIELDS[k][0]} ← {table.headers[i]}" for k, i in table.columns.items()],
        unused_columns=table.unused,
        skip_bad=skip_bad,
        dry_run=dry_run,
    )
    model = ctx.whois().model
    places = Places(model)
    units = set(model.units.index)
    cases: list[Case] = []
    findings: list[tuple[int, Finding]] = []
    bad_rows: set[int] = set()
    first_row: dict[str, int] = {}
    if table.skipped:
        rows = "、".join(map(str, table.skipped[:10])) + ("等" if len(table.skipped) > 10 else "")
        note = f"第 {rows} 行只有一个单元格有内容（说明或备注）或重复了表头，已跳过"
        hint = "如果这些行是案件，请补全其他列"
        findings.append((0, Finding(note, file=table.file, layer=table.sheet, severity="warning", hint=hint)))
    for values, number in zip(table.rows, table.numbers):
        case, found = _check(ctx, table, values, number, places=places, units=units, crs=crs, now=now)
        if case is not None and case.tracking_no in first_row:
            found.append(
                _row_finding(
                    table,
                    number,
                    "tracking_no",
                    f"受理编号“{case.tracking_no}”与第 {first_row[case.tracking_no]} 行重复",
                    "每个案件一行，受理编号不能重复",
                )
            )
            case = None
        if case is not None:
            first_row[case.tracking_no] = number
            cases.append(case)
        else:
            bad_rows.add(number)
        findings += [(number, f) for f in found]
    taken = repository.taken_tracking_numbers(ctx.store, [c.tracking_no for c in cases])
    places_of = iter(_assign(ctx, [c for c in cases if c.tracking_no not in taken]))
    good: list[tuple[Case, dict]] = []
    for case in cases:
        if case.tracking_no in taken:
            hint = "已有的案件不会重复导入，也不会被覆盖：删去这一行，或加 --skip-bad 只导入其余各行"
            findings.append(
                (
                    case.row,
                    _row_finding(
                        table,
                        case.row,
                        "tracking_no",
                        f"受理编号“{case.tracking_no}”已经导入过（数据库中已有）",
                        hint,
                    ),
                )
            )
            bad_rows.add(case.row)
            continue
        where = next(places_of)
        if where is None:
            field_name = "address" if case.by_address else "lon"
            what = f"位置（经度 {case.lon:.6f}，纬度 {case.lat:.6f}）不在本县范围内"
            hint = "检查经纬度是否写反、是否为 WGS84（高德/腾讯坐标请加 --crs gcj02，百度 --crs bd09）"
            findings.append((case.row, _row_finding(table, case.row, field_name, what, hint)))
            bad_rows.add(case.row)
            continue
        good.append((case, where))
    report.findings = [f for _, f in sorted(findings, key=lambda pair: pair[0])]
    report.counts = {
        "read": len(table.rows),
        "bad": len(bad_rows),
        "good": len(good),
        "by_address": sum(1 for c, _ in good if c.by_address),
        "imported": 0,
    }
    if (report.errors and not skip_bad) or dry_run or not good:
        report.seconds = time.perf_counter() - started
        return report
    records = [_record(ctx, case, where) for case, where in good]
    try:
        report.counts["imported"] = repository.insert_history(
            ctx.store, [r for r, _ in records], [e for _, e in records]
        )
    except repository.KeyTaken as exc:
        which = f"（{exc}）" if str(exc) else ""
        msg = f"导入时另有人写入了相同受理编号的案件{which}，本次未导入任何案件；请重新导入"
        raise InvalidInput(msg) from None
    report.committed = True
    report.seconds = time.perf_counter() - started
    return report


def _row_finding(table: Table, number: int, name: str, message: str, hint: str) -> Finding:
    return Finding(
        message,
        file=table.file,
        layer=table.sheet,
        feature=f"第 {number} 行",
        field=FIELDS[name][0],
        hint=hint,
    )
