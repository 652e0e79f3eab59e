"""Open311 GeoReport v2: discovery, services, requests (GET, form POST with api_key), request updates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from gridmap.auth import api_key as find_api_key
from gridmap.clock import iso, utcnow
from gridmap.errors import InvalidInput, NotFound
from gridmap.parsing import parse_datetime, shown
from gridmap.problems import repository
from gridmap.problems.context import ProblemContext
from gridmap.problems.records import find_row, public_view, record, records
from gridmap.problems.service import report_problem
from gridmap.problems.states import ACTION_LABELS, STATUS_LABELS

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-27T00:00:00+08:00"
MAX_SPAN_DAYS = 90
MAX_RESULTS = 1000
MAX_UPDATES = 1000
# Statuses a client sees as "closed"; every other status, today's and any added later, is "open".
CLOSED_STATUSES = ("closed", "rejected", "merged")
# Actions whose note is meant for the public: why a case was refused (at the desk or after the
# inspector found nothing), how it was closed, which case a duplicate went into. Every other note
# (returns, rework, parking, chasing, follow-up) is a working note and stays out of Open311.
PUBLIC_NOTE_ACTIONS = ("reject", "refute", "close", "merge")
# The report itself is the request, not an update of it.
NOT_UPDATES = ("report",)
FORMATS = ("json", "xml")
MEDIA_TYPES = ("application/json", "application/xml")


def spec_status(status: str) -> str:
    """The specification's status for one of ours: open or closed."""
    return "closed" if status in CLOSED_STATUSES else "open"


def check_format(fmt: str) -> str:
    """The response format named by the URL's suffix: json or xml."""
    if fmt not in FORMATS:
        msg = f"不支持 .{shown(fmt)} 格式：请用 .xml 或 .json"
        raise InvalidInput(msg)
    return fmt


def discovery(*, base_url: str) -> dict:
    """The discovery document: where the GeoReport v2 endpoint is and what it speaks."""
    return {
        "changeset": CHANGESET,
        "contact": "县创建办（文明城市创建工作办公室）",
        "key_service": "API 密钥由系统管理员用 `gridmap apikey add 名称` 签发",
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": base_url.rstrip("/"),
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(MEDIA_TYPES),
            }
        ],
    }


def services(ctx: ProblemContext) -> list[dict]:
    """One service per problem category."""
    return [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": f"{c.name}（{c.group}），处置时限 {c.deadline_hours:g} 个工作小时",
            "metadata": False,
            "type": "realtime",
            "keywords": c.group,
            "group": c.group,
        }
        for c in ctx.categories
    ]


def service_definition(ctx: ProblemContext, code: str) -> dict:
    """Our services have no extra attributes; the definition says so."""
    try:
        category = ctx.categories.get(code)
    except InvalidInput:
        msg = f"service_code“{code}”不存在"
        raise NotFound(msg) from None
    return {"service_code": category.code, "attributes": []}


def _absolute(url: str | None, media_root: str) -> str | None:
    """media_url must be a full URI: a path of ours gets the server's root in front."""
    if url and url.startswith("/"):
        return media_root.rstrip("/") + url
    return url


def _request(ctx: ProblemContext, rec: dict, *, media_root: str = "") -> dict:
    status = spec_status(rec["status"])
    notes = rec["status_label"]
    if rec["overdue"]:
        notes += "（已逾期，督办中）"
    if status == "closed":  # the public reason of the final step, if it gave one
        notes_given = (
            h["note"] for h in reversed(rec.get("history", [])) if h["action"] in PUBLIC_NOTE_ACTIONS
        )
        reason = next(notes_given, None)
        if reason:
            notes += f"：{reason}"
    media = rec["photos"][0]["url"] if rec["photos"] else None
    return {
        "service_request_id": rec["tracking_no"],
        "status": status,
        "status_notes": notes,
        "service_name": rec["category_name"],
        "service_code": rec["category"],
        "description": rec["description"][:4000],
        "agency_responsible": (rec["unit"] or {}).get("name"),
        "service_notice": None,
        "requested_datetime": rec["created_at"],
        "updated_datetime": rec["updated_at"],
        "expected_datetime": rec["deadline"],
        "address": rec["address"],
        "address_id": None,
        "zipcode": None,
        "lat": rec["lat"],
        "long": rec["lon"],
        "media_url": _absolute(media, media_root),
    }


def _window(args: Mapping[str, object]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """start_date and end_date: at most 90 days apart, end not before start."""
    start = parse_datetime(_str(args.get("start_date")), name="start_date", default=None)
    end = parse_datetime(_str(args.get("end_date")), name="end_date", default=None)
    if start and end and end - start > dt.timedelta(days=MAX_SPAN_DAYS):
        msg = f"start_date 与 end_date 相隔不能超过 {MAX_SPAN_DAYS} 天"
        raise InvalidInput(msg)
    if start and end and end < start:
        msg = "end_date 不能早于 start_date"
        raise InvalidInput(msg)
    return start, end


def get_requests(
    ctx: ProblemContext,
    args: Mapping[str, object],
    *,
    now: dt.datetime | None = None,
    media_root: str = "",
) -> list[dict]:
    """GET requests.<fmt> with the spec's filters; default: the last 90 days, at most 1000."""

    def get(name: str) -> str:
        value = args.get(name)
        return "" if value is None else str(value).strip()

    now = now or utcnow()
    among: list[tuple[str, list[str]]] = []
    start = end = None
    if get("service_request_id"):
        ids = [s.strip().upper() for s in get("service_request_id").split(",") if s.strip()]
        among.append(("tracking_no", ids))
    else:
        if get("service_code"):
            codes = [ctx.categories.get(c).code for c in get("service_code").split(",") if c.strip()]
            among.append(("category", codes))
        start, end = _window(args)
        if start is None and end is None:
            start = now - dt.timedelta(days=MAX_SPAN_DAYS)
        if get("status"):
            wanted = {s.strip() for s in get("status").split(",") if s.strip()}
            bad = wanted - {"open", "closed"}
            if bad:
                msg = f"status 只能是 open 或 closed，实际为“{shown('、'.join(sorted(bad)))}”"
                raise InvalidInput(msg)
            statuses = [s for s in STATUS_LABELS if spec_status(s) in wanted]
            among.append(("status", statuses))
    criteria = repository.Criteria(among=tuple(among), created_from=start, created_until=end)
    rows = repository.select_problems(ctx.store, criteria, order=("-created_at", "-id"), limit=MAX_RESULTS)
    return [_request(ctx, public_view(r), media_root=media_root) for r in records(ctx, rows, now=now)]


def get_request(
    ctx: ProblemContext, request_id: str, *, now: dt.datetime | None = None, media_root: str = ""
) -> list[dict]:
    """GET requests/<id>.<fmt>: a list holding the one request, as the spec has it."""
    row = find_row(ctx, request_id)
    return [_request(ctx, public_view(record(ctx, row, now=now)), media_root=media_root)]


def update_description(action: str, note: str | None) -> str:
    """The public text of one event: the action's Chinese label, and the note only where it is public."""
    label = ACTION_LABELS.get(action, action)
    if note and action in PUBLIC_NOTE_ACTIONS:
        return f"{label}：{note}"
    return label


def get_updates(
    ctx: ProblemContext,
    args: Mapping[str, object],
    *,
    now: dt.datetime | None = None,
    media_root: str = "",
) -> list[dict]:
    """GET servicerequestupdates.<fmt> (FixMyStreet's extension): one update per workflow event
    between start_date and end_date (default: the 90 days up to now), oldest first, at most 1000;
    nothing personal, no staff names, no working notes."""
    now = now or utcnow()
    start, end = _window(args)
    end = end or now
    start = start or end - dt.timedelta(days=MAX_SPAN_DAYS)
    if end - start > dt.timedelta(days=MAX_SPAN_DAYS):
        msg = f"start_date 与 end_date 相隔不能超过 {MAX_SPAN_DAYS} 天"
        raise InvalidInput(msg)
    rows = repository.events_between(
        ctx.store, start=start, end=end, skip_actions=NOT_UPDATES, limit=MAX_UPDATES
    )
    _, photos = repository.events_and_photos(ctx.store, sorted({r.problem_id for r in rows}), events=False)
    media = {p.event_id: p.id for found in photos.values() for p in reversed(found) if p.event_id is not None}
    return [
        {
            "update_id": str(r.id),
            "service_request_id": r.tracking_no,
            "status": spec_status(r.to_status),
            "updated_datetime": iso(r.at),
            "description": update_description(r.action, r.note),
            "media_url": _absolute(f"{ctx.photo_base}/{media[r.id]}.jpg", media_root)
            if r.id in media
            else None,
        }
        for r in rows
    ]


def post_request(
    ctx: ProblemContext, form: Mapping[str, object], *, photos=None, now: dt.datetime | None = None
) -> list[dict]:
    """POST requests.<fmt> (form fields as the spec names them; jurisdiction_id and media_url are
    accepted and not used): a new problem from a partner system holding an api_key."""
    partner = find_api_key(ctx.store, _str(form.get("api_key")), now=now)
    if not _str(form.get("service_code")):
        msg = "缺少 service_code（问题类别编码，见 services.json）"
        raise InvalidInput(msg)
    if _str(form.get("lat")) is None and _str(form.get("long")) is None and not photos:
        if _str(form.get("address_string")) or _str(form.get("address_id")):
            msg = "本系统按经纬度确定责任网格和单位：请提供 lat 和 long（仅有地址无法受理）"
        else:
            msg = "缺少位置：请提供 lat 和 long（WGS84）"
        raise InvalidInput(msg)
    name = " ".join(p for p in (_str(form.get("last_name")), _str(form.get("first_name"))) if p) or None
    description = _str(form.get("description"))
    if description is None and _str(form.get("address_string")):
        description = _str(form.get("address_string"))
    result = report_problem(
        ctx,
        lon=form.get("long"),
        lat=form.get("lat"),
        category=form.get("service_code"),
        description=description,
        source=_str(form.get("source")),  # only a claim: the key's source decides
        partner_source=partner.source,
        reporter_name=name,
        reporter_phone=_str(form.get("phone")),
        photos=photos,
        actor=f"open311:{partner.name}"[:64],
        actor_role="api",
        now=now,
    )
    rec = result.record
    unit = (rec["unit"] or {}).get("name")
    notice = f"已受理，受理编号 {rec['tracking_no']}"
    if unit:
        notice += f"，由{unit}负责，期限 {rec['deadline']}"
    return [{"service_request_id": rec["tracking_no"], "service_notice": notice}]


def _str(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)
