"""Report a problem: validate, assign from whois, set the deadline, store it with a tracking number."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from types import SimpleNamespace

from gridmap.accounts import repository as limits
from gridmap.auth import User, may_see_personal_data
from gridmap.clock import china, to_db, utcnow
from gridmap.errors import Conflict, Finding, Forbidden, InvalidInput, ServiceBusy, TooManyRequests
from gridmap.notify.notice import Notice
from gridmap.problems import deadlines, frontage, repository
from gridmap.problems.categories import URGENCY_WORDS, Category, category_finding
from gridmap.problems.context import ProblemContext, context_from_settings
from gridmap.problems.photos import PhotoWriter, prepare_photos
from gridmap.problems.records import build_record, record
from gridmap.problems.reportnotices import for_report, office_users
from gridmap.problems.states import SOURCES
from gridmap.whois import parse_lonlat

__all__ = [
    "ProblemContext",
    "ReportResult",
    "context_from_settings",
    "decide_source",
    "report_limit",
    "report_problem",
]

TRACKING_PREFIX = "FX"
MAX_DESCRIPTION = 2000
WRITE_ATTEMPTS = 8  # a report is tried this often when a concurrent writer takes its number or key
_PHONE = re.compile(r"^[0-9+\-() ]{5,20}$")


# --- reporting -----------------------------------------------------------------------------
@dataclass
class ReportResult:
    """The stored problem's record, and whether it was an idempotent replay."""

    record: dict
    replayed: bool = False
    reporter_key: str | None = None  # the secret of the reporter's tracking link; never in public views


ASK_CATEGORY = "请选择问题类别"
ASK_DESCRIPTION = "请填写问题描述，例如“路口东侧垃圾堆放两天无人清理”"
ASK_LOCATION = "请在地图上点选问题位置，或点“用我的位置”"
_LOCATION_HINT = "WGS84 经纬度，例如 lon=106.52、lat=33.91；也可上传带 GPS 信息的照片"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _require_filled(*, category: object, description: object, lon: object, lat: object, photos: list) -> None:
    """Every blank required field in one message a person can act on; the field names for APIs."""
    asks: list[str] = []
    findings: list[Finding] = []
    if _blank(category):
        asks.append(ASK_CATEGORY)
        findings.append(category_finding("缺少问题类别 category"))
    if _blank(description):
        asks.append(ASK_DESCRIPTION)
        findings.append(Finding("缺少问题描述 description", field="description"))
    if _blank(lon) and _blank(lat) and not photos:
        asks.append(ASK_LOCATION)
        findings.append(Finding("缺少位置 lon（经度）和 lat（纬度）", field="lon,lat", hint=_LOCATION_HINT))
    if asks:
        msg = "；".join(asks)
        raise InvalidInput(msg, findings=findings)


def _text(value: object, *, name: str, label: str, limit: int, required: bool) -> str | None:
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            msg = f"请填写{label}"
            raise InvalidInput(msg, findings=[Finding(f"缺少 {name}（{label}）", field=name)])
        return None
    if len(text) > limit:
        msg = f"{label}最多 {limit} 个字，现在有 {len(text)} 个字，请删减后再提交"
        raise InvalidInput(msg, findings=[Finding(f"{name}（{label}）超过 {limit} 个字", field=name)])
    return text


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def decide_source(user: User | None, claimed: object = None, *, partner_source: str | None = None) -> str:
    """The source of a report, decided here and not by the sender.

    Anonymous reports are citizens' whatever they claim; an inspector's are the inspector's;
    the campaign office (entering reports from assessments or the media) picks one; other
    staff report as citizens. An Open311 partner's reports carry the source its key was issued
    with, and claiming another is refused.
    """
    claim = "" if claimed is None else str(claimed).strip()
    if partner_source is not None:
        if claim and claim != partner_source:
            msg = (
                f"此 api_key 签发时指定的来源为“{SOURCES.get(partner_source, partner_source)}”"
                f"（{partner_source}），不能以“{claim}”上报；需要其他来源请联系管理员另行签发密钥"
            )
            raise Forbidden(msg)
        return partner_source
    if user is None:
        return "citizen"
    if user.role == "inspector":
        return "inspector"
    if user.role != "office":
        return "citizen"
    code = claim or "citizen"
    if code not in SOURCES:
        msg = f"来源 source 应为 {'、'.join(f'{k}（{v}）' for k, v in SOURCES.items())} 之一，实际为“{code}”"
        raise InvalidInput(msg)
    return code


def decide_urgency(user: User | None, claimed: object, category: Category) -> str:
    """The urgency class of a new report: the category's default unless staff chose one.

    Any logged-in staff member (office, inspector, leader, unit) may report a case as urgent or
    normal, since they answer for it by name; a citizen's or an Open311 partner's claim is
    checked for spelling but not followed (the office raises a case with set_urgency).
    """
    claim = "" if claimed is None else str(claimed).strip()
    if not claim:
        return category.urgency
    urgency = URGENCY_WORDS.get(claim.lower(), URGENCY_WORDS.get(claim))
    if urgency is None:
        msg = f"紧急程度 urgency 应为 normal（一般）或 urgent（紧急），实际为“{claim[:20]}”"
        raise InvalidInput(msg, findings=[Finding(msg, field="urgency")])
    return urgency if user is not None else category.urgency


def report_limit(ctx: ProblemContext) -> limits.Limit:
    """The rate limit on anonymous reports per client address (inactive at 0 per hour)."""
    return limits.Limit("report", int(ctx.reports_per_hour or 0), dt.timedelta(hours=1))


def _check_report_rate(ctx: ProblemContext, client: object, *, now: dt.datetime) -> None:
    rule = report_limit(ctx)
    with ctx.store.reading() as conn:
        wait = limits.wait_seconds(conn, rule, client, now=now)
    if wait:
        msg = (
            f"同一网络地址每小时最多匿名上报 {rule.count} 条问题，已达上限，请{limits.minutes_text(wait)}后再试。"
            "如有大量问题需要集中上报，请联系县创建办"
        )
        raise TooManyRequests(msg, retry_after=wait)


def _replay(
    ctx: ProblemContext, key: str, fingerprint: str, *, viewer: User | None, now: dt.datetime
) -> ReportResult | None:
    hit = repository.idempotency_hit(ctx.store, key)
    if hit is None:
        return None
    stored, row = hit
    if stored != fingerprint:
        msg = "刚才已经提交过一份内容不同的上报，本次未受理；要再报一个问题，请刷新页面后重新填写"
        finding = Finding(
            "Idempotency-Key 已用于另一份内容不同的上报：重发时位置、类别、描述、联系方式和照片应与第一次完全相同",
            field="Idempotency-Key",
            hint="新的上报请使用新的 Idempotency-Key",
        )
        raise Conflict(msg, findings=[finding])
    key_of = getattr(row, "reporter_key", None)
    return ReportResult(record(ctx, row, viewer=viewer, now=now), replayed=True, reporter_key=key_of)


def report_problem(
    ctx: ProblemContext,
    *,
    lon: object = None,
    lat: object = None,
    category: object = None,
    description: object = None,
    source: object = None,
    urgency: object = None,
    reporter_name: object = None,
    reporter_phone: object = None,
    crs: str | None = None,
    photos: list[tuple[str, bytes]] | None = None,
    idempotency_key: str | None = None,
    user: User | None = None,
    actor: str | None = None,
    actor_role: str | None = None,
    partner_source: str | None = None,
    client: str | None = None,
    notify: bool = True,
    now: dt.datetime | None = None,
) -> ReportResult:
    """Validate a report, assign it from whois, store it with its photos; all or nothing.

    ``source`` is only a claim: decide_source() settles it from the user (or, for Open311,
    ``partner_source``, the source of the partner's key); so is ``urgency`` (decide_urgency()).
    The deadline is the category's working hours for that urgency, in working time. ``client``
    (the sender's address)
    counts anonymous reports against ``ctx.reports_per_hour``; past it: TooManyRequests.
    The Idempotency-Key covers everything sent, contacts and photos included: the same key
    with anything different is a Conflict, never a silent replay. The office is told of the
    new report in the same transaction (reportnotices.for_report; a replay tells nobody again);
    ``notify=False`` leaves the outbox out. A 门前五包 category (GRIDMAP_FRONTAGE_CATEGORIES)
    reported on a shop's frontage goes to the shop first (frontage.assign: shop_code/shop_name,
    the owner's SMS); unit_code stays the segment's unit, which is told to supervise the shop.
    """
    now = now or utcnow()
    # validate
    _require_filled(category=category, description=description, lon=lon, lat=lat, photos=photos or [])
    cat = ctx.categories.get(category)
    text = _text(description, name="description", label="问题描述", limit=MAX_DESCRIPTION, required=True)
    source_code = decide_source(user, source, partner_source=partner_source)
    urgency_code = decide_urgency(user, urgency, cat)
    name = _text(reporter_name, name="reporter_name", label="上报人姓名", limit=50, required=False)
    phone = _text(reporter_phone, name="reporter_phone", label="联系电话", limit=20, required=False)
    if phone and not _PHONE.match(phone):
        msg = (
            f"联系电话“{phone}”格式不对，请填写手机号或座机号，如 13800000000 或 0917-4700001；也可以不留电话"
        )
        raise InvalidInput(
            msg, findings=[Finding("联系电话 reporter_phone 格式不对", field="reporter_phone")]
        )
    key = None
    if idempotency_key is not None:
        key = str(idempotency_key).strip()
        if not key or len(key) > 200:
            msg = "Idempotency-Key 应为 1 到 200 个字符"
            raise InvalidInput(msg)
    missing_location = all(v is None or (isinstance(v, str) and not v.strip()) for v in (lon, lat))
    given = None if missing_location else parse_lonlat(lon, lat, crs=crs)
    # what was sent, photos by their bytes; computed before any photo work so a replay is cheap
    fingerprint = _fingerprint(
        cat.code,
        "photo-gps" if given is None else f"{given[0]:.6f},{given[1]:.6f}",
        text,
        source_code,
        name or "",
        phone or "",
        *(hashlib.sha256(data).hexdigest() for _, data in (photos or [])),
        *([] if urgency_code == cat.urgency else [urgency_code]),
    )
    if key is not None:
        replay = _replay(ctx, key, fingerprint, viewer=user, now=now)
        if replay is not None:
            return replay
    limited = user is None and client is not None and report_limit(ctx).active
    if limited:
        _check_report_rate(ctx, client, now=now)
    prepared = prepare_photos(photos or [], max_bytes=ctx.photo_max_bytes, max_count=ctx.photo_max_count)
    if given is None:
        located = next((p.lonlat for p in prepared if p.lonlat), None)
        if located is None:
            msg = f"{ASK_LOCATION}（所传照片不带定位信息）"
            finding = Finding(
                "缺少位置 lon（经度）和 lat（纬度），照片也不带 GPS 信息",
                field="lon,lat",
                hint=_LOCATION_HINT,
            )
            raise InvalidInput(msg, findings=[finding])
        given = parse_lonlat(located[0], located[1])  # EXIF GPS is WGS84
    lon_f, lat_f = given
    # compute: who answers for the spot, and by when
    who = ctx.whois().lookup(lon_f, lat_f)
    if not who["in_county"]:
        msg = f"所选位置（经度 {lon_f:.6f}，纬度 {lat_f:.6f}）不在本县范围内，请在地图上重新点选本县内的位置"
        raise InvalidInput(msg, findings=[Finding("位置 lon,lat 不在本县范围内", field="lon,lat")])
    unit = who["responsible_unit"]
    shop = frontage.assign(ctx, who, cat.code, notify=notify)  # 门前五包: the shop first, the unit supervises
    address = None
    if who["segment"]:
        seg = who["segment"]
        address = seg["road_name"]
    elif who["point"]:
        address = who["point"]["name"]
    elif who["community"]:
        address = who["community"]["name"]
    deadline = deadlines.due(ctx, now, deadlines.hours_for(ctx, cat.code, urgency_code))
    reporter_key = secrets.token_urlsafe(16)
    local_day = china(now).strftime("%Y%m%d")
    values = {
        "category": cat.code,
        "description": text,
        "lon": round(lon_f, 7),
        "lat": round(lat_f, 7),
        "address": address,
        "source": source_code,
        "reporter_name": name,
        "reporter_phone": phone,
        "reported_by": user.username if user else None,
        "status": "reported",
        "town_code": who["town"]["code"] if who["town"] else None,
        "town_name": who["town"]["name"] if who["town"] else None,
        "grid_code": who["grid"]["code"] if who["grid"] else None,
        "grid_name": who["grid"]["name"] if who["grid"] else None,
        "unit_code": unit["code"] if unit else None,
        "unit_name": unit["name"] if unit else None,
        "leader_codes": ",".join(leader["code"] for leader in who["leaders"]),
        "fallback": bool(who["fallback"]),
        "shop_code": shop.code if shop else None,
        "shop_name": shop.name if shop else None,
        "deadline": to_db(deadline),
        "urgency": urgency_code,
        "reporter_key": reporter_key,
        "supporters": 0,
        "extensions": 0,
        "reworks": 0,
        "created_at": to_db(now),
        "updated_at": to_db(now),
    }
    event = {
        "at": to_db(now),
        "actor": actor or (user.username if user else None),
        "actor_role": actor_role or (user.role if user else "citizen"),
        "action": "report",
        "from_status": None,
        "to_status": "reported",
        "note": shop.note(unit["name"] if unit else None) if shop else None,
    }
    # assemble: one short transaction; photos written inside it and removed if it fails
    hits = [(report_limit(ctx), client)] if limited else []
    office = office_users(ctx) if notify else []  # read before the write transaction

    def notices(problem_id: int, tracking_no: str) -> list[Notice]:
        row = SimpleNamespace(id=problem_id, tracking_no=tracking_no, **values)
        told = for_report(ctx, row, event=event, office=office)
        return told + (frontage.notices(ctx, row, shop, event=event) if shop else [])

    for attempt in range(WRITE_ATTEMPTS):
        writer = PhotoWriter(ctx.storage)
        try:
            stored = repository.insert_report(
                ctx.store,
                day=local_day,
                prefix=TRACKING_PREFIX,
                values=values,
                event=event,
                key=key,
                fingerprint=fingerprint,
                hits=hits,
                photos=prepared,
                put_photo=writer.put,
                now=now,
                notices=notices if notify else None,
            )
            break
        except repository.KeyTaken:
            writer.rollback()
            if key is not None:
                replay = _replay(ctx, key, fingerprint, viewer=user, now=now)
                if replay is not None:
                    return replay
            if attempt == WRITE_ATTEMPTS - 1:
                msg = "上报编号分配冲突，本次未受理（没有写入任何内容）；请稍后重新提交"
                raise ServiceBusy(msg, retry_after=2) from None
        except repository.Busy:  # "database is locked" after busy_timeout: try again
            writer.rollback()
            if attempt == WRITE_ATTEMPTS - 1:
                msg = "数据库正忙，本次上报未受理（没有写入任何内容）；请稍后重新提交"
                raise ServiceBusy(msg, retry_after=5) from None
            time.sleep(0.05 * (attempt + 1))
        except BaseException:
            writer.rollback()
            raise
    # the record of what was just written, without reading it back
    row = SimpleNamespace(id=stored.problem_id, tracking_no=stored.tracking_no, closed_at=None, **values)
    events = [
        SimpleNamespace(
            id=stored.event_id, problem_id=stored.problem_id, deadline=None, unit_code=None, **event
        )
    ]
    photo_ns = [SimpleNamespace(**p) for p in stored.photos]
    rec = build_record(
        ctx,
        row,
        events,
        photo_ns,
        now=to_db(now),
        personal=may_see_personal_data(user),
        staff=user is not None,
        history=True,
    )
    return ReportResult(rec, reporter_key=reporter_key)
