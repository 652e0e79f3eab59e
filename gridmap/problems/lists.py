"""Problem lists: my tasks (unit), my grids (leader), the chase list (office); filters; CSV/XLSX."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field

from gridmap.auth import User, may_see_personal_data
from gridmap.clock import iso, to_db
from gridmap.errors import Forbidden, InvalidInput, Unauthorized
from gridmap.parsing import parse_bool, parse_datetime, shown
from gridmap.problems import repository
from gridmap.problems.categories import Categories
from gridmap.problems.context import ProblemContext
from gridmap.problems.records import public_view, records
from gridmap.problems.states import SOURCES, STATUS_LABELS

SCOPES: dict[str, str] = {
    "tasks": "我的任务",
    "grids": "我的网格",
    "chase": "督办清单（逾期未整改）",
    "all": "全部问题",
    "verify": "待核实（派给我核实的问题）",
    "decide": "待处理的回退和申请",
}
# The list a user sees when asking for none in particular, by role; "all" for any other role.
DEFAULT_SCOPES: dict[str, str] = {"unit": "tasks", "leader": "grids", "office": "all", "inspector": "all"}
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


# What "my tasks" means by role: a unit its cases, an inspector the cases sent to them to verify,
# the office the cases units returned and the units' requests waiting for a decision.
TASK_SCOPES: dict[str, str] = {"unit": "tasks", "inspector": "verify", "office": "decide"}


def task_scope(user: User) -> str:
    """The scope of a user's "my tasks" page (TASK_SCOPES; "tasks" for any other role)."""
    return TASK_SCOPES.get(user.role, "tasks")


def default_scope(user: User) -> str:
    """The list a user sees by default: a unit its tasks, a leader its grids, others all problems."""
    return DEFAULT_SCOPES.get(user.role, "all")


def parse_filter(args: Mapping[str, object], *, categories: Categories) -> ProblemFilter:
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


def leader_grids(ctx: ProblemContext, user: User) -> list[str]:
    """The grid codes a leader user answers for (none if the leader is not in the reference data)."""
    model = ctx.reference.model()
    if user.leader_code not in model.leaders.index:
        return []
    return list(model.leaders.loc[user.leader_code, "grid_codes"])


def list_problems(
    ctx: ProblemContext,
    *,
    user: User | None,
    scope: str,
    filters: ProblemFilter | None = None,
    now: dt.datetime | None = None,
    limit: int = MAX_ROWS,
) -> list[dict]:
    """Problems a user may list in a scope, newest first, as records (personal data for office)."""
    if user is None:
        msg = "请先登录"
        raise Unauthorized(msg)
    if scope not in SCOPES:
        msg = f"列表 scope 应为 {'、'.join(SCOPES)} 之一"
        raise InvalidInput(msg)
    filters = filters or ProblemFilter()
    equal: list[tuple[str, object]] = []
    among: list[tuple[str, list[str]]] = []
    if user.role == "unit":
        if scope not in ("tasks", "all"):
            msg = "责任单位只能查看本单位的任务"
            raise Forbidden(msg)
        equal.append(("unit_code", user.unit_code))
    elif user.role == "leader":
        if scope not in ("grids", "all", "chase"):
            msg = "包片领导可查看所包网格的问题"
            raise Forbidden(msg)
        among.append(("grid_code", list(leader_grids(ctx, user))))
    elif scope == "tasks" and user.role not in ("office", "inspector"):
        msg = "没有权限"
        raise Forbidden(msg)
    if scope == "chase" and user.role not in ("office", "leader"):
        msg = "督办清单仅创建办和包片领导可查看"
        raise Forbidden(msg)
    if scope == "verify":  # an inspector: the cases sent to them to verify; the office: all being verified
        if user.role not in ("office", "inspector"):
            msg = "待核实清单仅创建办和巡查员可查看"
            raise Forbidden(msg)
        among.append(("status", ["verifying"]))
        if user.role == "inspector":
            equal.append(("verifier", user.username))
    if scope == "decide" and user.role != "office":
        msg = "回退和申请由创建办处理"
        raise Forbidden(msg)
    if filters.status:
        among.append(("status", filters.status))
    for name, column in (
        ("category", "category"),
        ("source", "source"),
        ("grid", "grid_code"),
        ("unit", "unit_code"),
    ):
        value = getattr(filters, name)
        if value:
            equal.append((column, value))
    criteria = repository.Criteria(
        equal=tuple(equal),
        among=tuple(among),
        overdue_at=to_db(now) if scope == "chase" or filters.overdue else None,
        fallback=filters.fallback,
        awaiting_office=scope == "decide",
        created_from=filters.date_from,
        created_before=filters.date_to,
        text=filters.q,
    )
    order = ("deadline", "-id") if scope == "chase" else ("-created_at", "-id")
    rows = repository.select_problems(ctx.store, criteria, order=order, limit=limit)
    return records(ctx, rows, viewer=user, now=now, history=False)


def map_problems(
    ctx: ProblemContext,
    *,
    grid_codes: list[str] | None = None,
    unit_code: str | None = None,
    now: dt.datetime | None = None,
    limit: int = 5000,
) -> list[dict]:
    """Public records (with history) of problems for a map: all, some grids', or one unit's."""
    among = () if grid_codes is None else (("grid_code", list(grid_codes)),)
    equal = () if unit_code is None else (("unit_code", unit_code),)
    criteria = repository.Criteria(equal=equal, among=among)
    rows = repository.select_problems(ctx.store, criteria, order=("-created_at",), limit=limit)
    return [public_view(r) for r in records(ctx, rows, now=now)]


def counts_by_status(ctx: ProblemContext) -> dict[str, int]:
    """How many problems there are in each status."""
    return repository.counts_by_status(ctx.store)


# --- export ----------------------------------------------------------------------------------
def _columns(personal: bool) -> list[tuple[str, str]]:
    cols = [
        ("tracking_no", "受理编号"),
        ("category_name", "问题类别"),
        ("description", "问题描述"),
        ("status_label", "状态"),
        ("overdue", "是否逾期"),
        ("source_label", "来源"),
        ("town", "镇（街道）"),
        ("grid", "网格"),
        ("unit", "责任单位"),
        ("address", "位置"),
        ("lon", "经度"),
        ("lat", "纬度"),
        ("created_at", "上报时间"),
        ("deadline", "整改期限"),
        ("closed_at", "办结时间"),
        ("supporters", "附议人数"),
        ("extensions", "延期次数"),
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
