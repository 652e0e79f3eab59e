"""Problem lists: my tasks (unit), my grids (leader), the chase list (office); filters; CSV/XLSX."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Mapping

from sqlalchemy import func, select

from gridmap.auth import User, may_see_personal_data
from gridmap.errors import Forbidden, InvalidInput, Unauthorized
from gridmap.parsing import parse_bool, parse_datetime, shown
from gridmap.problems.schema import problems
from gridmap.problems.states import PENDING_STATUSES, SOURCES, STATUS_LABELS

SCOPES: dict[str, str] = {
    "tasks": "我的任务",
    "grids": "我的网格",
    "chase": "督办清单（逾期未整改）",
    "all": "全部问题",
}
MAX_ROWS = 5000


@dataclass
class ProblemFilter:
    """What a list asks for; every field optional."""

    status: list[str] = field(default_factory=list)
    category: str | None = None
    source: str | None = None
    grid: str | None = None
    unit: str | None = None
    date_from: dt.datetime | None = None  # aware UTC
    date_to: dt.datetime | None = None  # aware UTC, exclusive
    overdue: bool = False
    fallback: bool = False  # only the towns' queue: outside every grid
    q: str | None = None

    def as_params(self) -> dict[str, str]:
        """The filter as query parameters (for links such as the export)."""
        from gridmap.problems.service import iso

        out: dict[str, str] = {}
        if self.status:
            out["status"] = ",".join(self.status)
        for name in ("category", "source", "grid", "unit", "q"):
            if getattr(self, name):
                out[name] = str(getattr(self, name))
        if self.date_from:
            out["from"] = iso(self.date_from.replace(tzinfo=None)) or ""
        if self.date_to:
            out["to"] = iso(self.date_to.replace(tzinfo=None)) or ""
        if self.overdue:
            out["overdue"] = "1"
        if self.fallback:
            out["fallback"] = "1"
        return out


def parse_filter(args: Mapping[str, object], *, categories) -> ProblemFilter:
    """Validate list filters from query parameters; dates are China dates unless an offset is given."""

    def get(name: str) -> str:
        value = args.get(name)
        return "" if value is None else str(value).strip()

    out = ProblemFilter()
    if get("status"):
        out.status = [s for s in get("status").split(",") if s]
        bad = [s for s in out.status if s not in STATUS_LABELS]
        if bad:
            msg = f"状态 status 无效：{shown('、'.join(bad))}；可用：{'、'.join(STATUS_LABELS)}"
            raise InvalidInput(msg)
    if get("category"):
        out.category = categories.get(get("category")).code
    if get("source"):
        if get("source") not in SOURCES:
            msg = f"来源 source 无效：“{shown(get('source'))}”；可用：{'、'.join(SOURCES)}"
            raise InvalidInput(msg)
        out.source = get("source")
    out.grid = get("grid") or None
    out.unit = get("unit") or None
    out.q = get("q") or None
    out.date_from = parse_datetime(get("from"), name="from", label="起始日期", default=None)
    out.date_to = parse_datetime(get("to"), name="to", label="截止日期", default=None, end_of_day=True)
    out.overdue = parse_bool(get("overdue"), name="overdue", label="只看逾期", default=False)
    out.fallback = parse_bool(get("fallback"), name="fallback", label="只看属地兜底", default=False)
    return out


def leader_grids(ctx, user: User) -> list[str]:
    model = ctx.reference.model()
    if user.leader_code not in model.leaders.index:
        return []
    return list(model.leaders.loc[user.leader_code, "grid_codes"])


def list_problems(
    ctx,
    *,
    user: User | None,
    scope: str,
    filters: ProblemFilter | None = None,
    now: dt.datetime | None = None,
    limit: int = MAX_ROWS,
) -> list[dict]:
    """Problems a user may list in a scope, newest first, as records (personal data for office)."""
    from gridmap.problems.service import records, to_db, utcnow

    if user is None:
        msg = "请先登录"
        raise Unauthorized(msg)
    if scope not in SCOPES:
        msg = f"列表 scope 应为 {'、'.join(SCOPES)} 之一"
        raise InvalidInput(msg)
    filters = filters or ProblemFilter()
    now_db = to_db(now or utcnow())
    conditions = []
    if user.role == "unit":
        if scope not in ("tasks", "all"):
            msg = "责任单位只能查看本单位的任务"
            raise Forbidden(msg)
        conditions.append(problems.c.unit_code == user.unit_code)
    elif user.role == "leader":
        if scope not in ("grids", "all", "chase"):
            msg = "包片领导可查看所包网格的问题"
            raise Forbidden(msg)
        conditions.append(problems.c.grid_code.in_(leader_grids(ctx, user) or ["\x00"]))
    elif scope == "tasks" and user.role not in ("office", "inspector"):
        msg = "没有权限"
        raise Forbidden(msg)
    if scope == "chase" and user.role not in ("office", "leader"):
        msg = "督办清单仅创建办和包片领导可查看"
        raise Forbidden(msg)
    if scope == "chase" or filters.overdue:
        conditions += [problems.c.status.in_(PENDING_STATUSES), problems.c.deadline < now_db]
    if filters.status:
        conditions.append(problems.c.status.in_(filters.status))
    if filters.fallback:
        conditions.append(problems.c.fallback.is_(True))
    for name, column in (("category", problems.c.category), ("source", problems.c.source),
                         ("grid", problems.c.grid_code), ("unit", problems.c.unit_code)):
        value = getattr(filters, name)
        if value:
            conditions.append(column == value)
    if filters.date_from:
        conditions.append(problems.c.created_at >= to_db(filters.date_from))
    if filters.date_to:
        conditions.append(problems.c.created_at < to_db(filters.date_to))
    if filters.q:
        like = f"%{filters.q}%"
        conditions.append(problems.c.tracking_no.like(like) | problems.c.description.like(like))
    order = problems.c.deadline.asc() if scope == "chase" else problems.c.created_at.desc()
    query = select(problems).where(*conditions).order_by(order, problems.c.id.desc()).limit(limit)
    with ctx.store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return records(ctx, rows, viewer=user, now=now, history=False)


def map_problems(ctx, *, grid_codes: list[str] | None = None, unit_code: str | None = None,
                 now: dt.datetime | None = None, limit: int = 5000) -> list[dict]:
    """Public records (with history) of problems for a map: all, some grids', or one unit's."""
    from gridmap.problems.service import public_view, records

    conditions = []
    if grid_codes is not None:
        conditions.append(problems.c.grid_code.in_(grid_codes or ["\x00"]))
    if unit_code is not None:
        conditions.append(problems.c.unit_code == unit_code)
    query = select(problems).where(*conditions).order_by(problems.c.created_at.desc()).limit(limit)
    with ctx.store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [public_view(r) for r in records(ctx, rows, now=now)]


def counts_by_status(ctx) -> dict[str, int]:
    with ctx.store.engine.connect() as conn:
        rows = conn.execute(select(problems.c.status, func.count()).group_by(problems.c.status)).all()
    return {status: n for status, n in rows}


# --- export ----------------------------------------------------------------------------------
def _columns(personal: bool) -> list[tuple[str, str]]:
    cols = [
        ("tracking_no", "受理编号"), ("category_name", "问题类别"), ("description", "问题描述"),
        ("status_label", "状态"), ("overdue", "是否逾期"), ("source_label", "来源"),
        ("town", "镇（街道）"), ("grid", "网格"), ("unit", "责任单位"), ("address", "位置"),
        ("lon", "经度"), ("lat", "纬度"), ("created_at", "上报时间"), ("deadline", "整改期限"),
        ("closed_at", "办结时间"), ("supporters", "附议人数"), ("extensions", "延期次数"),
        ("reworks", "返工次数"),
    ]
    if personal:
        cols += [("reporter_name", "上报人"), ("reporter_phone", "联系电话")]
    return cols


def _cell(rec: dict, key: str):
    if key in ("town", "grid", "unit"):
        return (rec.get(key) or {}).get("name") or ""
    if key == "overdue":
        return "是" if rec["overdue"] else "否"
    if key in ("reporter_name", "reporter_phone"):
        return (rec.get("reporter") or {}).get(key.split("_")[1]) or ""
    value = rec.get(key)
    return "" if value is None else value


def _safe(value):
    """Keep spreadsheet programs from running cell text as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_rows(records_: list[dict], *, user: User | None) -> tuple[list[str], list[list]]:
    cols = _columns(may_see_personal_data(user))
    return [label for _, label in cols], [[_safe(_cell(r, key)) for key, _ in cols] for r in records_]


def to_csv(records_: list[dict], *, user: User | None) -> bytes:
    """CSV in UTF-8 with a BOM, so that Excel opens the Chinese text correctly."""
    header, rows = export_rows(records_, user=user)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(records_: list[dict], *, user: User | None, title: str = "问题清单") -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    header, rows = export_rows(records_, user=user)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHIJKLMNOPQRST", (18, 12, 40, 12, 8, 10, 12, 14, 18, 16)):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
