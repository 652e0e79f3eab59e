"""Report a problem: validate, assign from whois, set the deadline, store it with a tracking number."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from types import SimpleNamespace

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from gridmap.accounts import repository as limits
from gridmap.auth import User, may_see_personal_data
from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests
from gridmap.problems.categories import Categories, load_categories
from gridmap.problems.photos import FolderStorage, PhotoStorage, PhotoWriter, prepare_photos
from gridmap.problems.schema import (
    idempotency_keys,
    problem_counters,
    problem_events,
    problem_photos,
    problems,
)
from gridmap.problems.states import (
    ACTION_LABELS,
    SOURCES,
    STATUS_LABELS,
    is_overdue,
)
from gridmap.reference import ReferenceCache
from gridmap.store import Store
from gridmap.whois import parse_lonlat

CHINA = ZoneInfo("Asia/Shanghai")
TRACKING_PREFIX = "FX"
MAX_DESCRIPTION = 2000
_TRACKING = re.compile(r"^[A-Z]{2}\d{8}-\d{4,}$")
_PHONE = re.compile(r"^[0-9+\-() ]{5,20}$")


@dataclass
class ProblemContext:
    """What the problem functions work with: the store, reference data, categories, photos."""

    store: Store
    reference: ReferenceCache
    categories: Categories
    storage: PhotoStorage
    duplicate_radius_m: float = 50.0
    photo_max_bytes: int = 8_000_000
    photo_max_count: int = 3
    photo_base: str = "/problems/photos"
    whois_check_s: float = 2.0  # how often to ask the store whether reference data changed
    reports_per_hour: int = 0  # anonymous reports per client address and hour; 0: no limit
    support_window_h: float = 24.0  # one support per client address and problem in this window

    def whois(self):
        """The whois index, re-validated against the store's data version every few seconds."""
        cached = self.__dict__.get("_whois")
        clock = time.monotonic()
        if cached is None or clock - cached[1] > self.whois_check_s:
            cached = (self.reference.whois(), clock)
            self.__dict__["_whois"] = cached
        return cached[0]


def context_from_settings(store: Store, reference: ReferenceCache, settings: Mapping[str, Any]) -> ProblemContext:
    """A ProblemContext configured by the settings registry."""
    folder = settings.get("GRIDMAP_PHOTO_DIR") or str(Path(settings["GRIDMAP_INSTANCE_DIR"]) / "uploads")
    return ProblemContext(
        store=store,
        reference=reference,
        categories=load_categories(settings.get("GRIDMAP_PROBLEM_CATEGORIES") or None),
        storage=FolderStorage(folder),
        duplicate_radius_m=float(settings.get("GRIDMAP_DUPLICATE_RADIUS_M", 50.0)),
        photo_max_bytes=int(float(settings.get("GRIDMAP_PHOTO_MAX_MB", 8.0)) * 1_000_000),
        photo_max_count=int(settings.get("GRIDMAP_PHOTO_MAX_COUNT", 3)),
        reports_per_hour=int(settings.get("GRIDMAP_REPORTS_PER_HOUR", 60)),
        support_window_h=float(settings.get("GRIDMAP_SUPPORT_WINDOW_HOURS", 24.0)),
    )


# --- time ------------------------------------------------------------------------------
def utcnow() -> dt.datetime:
    """Now, as an aware UTC datetime."""
    return dt.datetime.now(dt.timezone.utc)


def to_db(moment: dt.datetime) -> dt.datetime:
    """Aware datetime → naive UTC for the database."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def iso(moment: dt.datetime | None) -> str | None:
    """A stored (naive UTC) datetime as ISO 8601 in China Standard Time, with the offset."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(CHINA).isoformat(timespec="seconds")


def parse_time(value: object, *, name: str) -> dt.datetime:
    """An ISO 8601 date or datetime from user input (no offset: China time) → aware UTC, years bounded."""
    from gridmap.parsing import parse_datetime

    return parse_datetime(value, name=name)


# --- reading ------------------------------------------------------------------------------
def find_row(ctx: ProblemContext, ref: object):
    """The problem row for an id or a tracking number; NotFound otherwise."""
    text = str(ref or "").strip()
    if text.isdigit():
        condition = problems.c.id == int(text)
    else:
        condition = problems.c.tracking_no == text.upper()
    with ctx.store.engine.connect() as conn:
        row = conn.execute(select(problems).where(condition)).first()
    if row is None:
        msg = f"问题“{text}”不存在，请核对受理编号（如 FX20261127-0001）"
        raise NotFound(msg)
    return row


def _events(conn, problem_ids: list[int]) -> dict[int, list]:
    out: dict[int, list] = {i: [] for i in problem_ids}
    if not problem_ids:
        return out
    for chunk in range(0, len(problem_ids), 500):
        ids = problem_ids[chunk:chunk + 500]
        rows = conn.execute(
            select(problem_events).where(problem_events.c.problem_id.in_(ids))
            .order_by(problem_events.c.at, problem_events.c.id)
        )
        for r in rows:
            out[r.problem_id].append(r)
    return out


def _photos(conn, problem_ids: list[int]) -> dict[int, list]:
    out: dict[int, list] = {i: [] for i in problem_ids}
    for chunk in range(0, len(problem_ids), 500):
        ids = problem_ids[chunk:chunk + 500]
        rows = conn.execute(
            select(problem_photos).where(problem_photos.c.problem_id.in_(ids))
            .order_by(problem_photos.c.id)
        )
        for r in rows:
            out[r.problem_id].append(r)
    return out


def records(
    ctx: ProblemContext, rows: list, *, viewer: User | None = None, now: dt.datetime | None = None,
    history: bool = True,
) -> list[dict]:
    """JSON-ready records of problem rows; reporters' contacts only for office users."""
    now = to_db(now or utcnow())
    ids = [r.id for r in rows]
    with ctx.store.engine.connect() as conn:
        events = _events(conn, ids) if history else {}
        photos = _photos(conn, ids)
    personal = may_see_personal_data(viewer)
    staff = viewer is not None
    return [
        _record(ctx, r, events.get(r.id, []), photos.get(r.id, []), now=now, personal=personal,
                staff=staff, history=history)
        for r in rows
    ]


def record(ctx: ProblemContext, row, *, viewer: User | None = None, now: dt.datetime | None = None) -> dict:
    return records(ctx, [row], viewer=viewer, now=now)[0]


def _record(ctx, r, events, photos, *, now, personal, staff, history) -> dict:
    overdue = is_overdue(r.status, r.deadline, now)
    out = {
        "id": r.id,
        "tracking_no": r.tracking_no,
        "status": r.status,
        "status_label": STATUS_LABELS.get(r.status, r.status),
        "overdue": overdue,
        "category": r.category,
        "category_name": ctx.categories.name(r.category),
        "description": r.description,
        "lon": r.lon,
        "lat": r.lat,
        "address": r.address,
        "source": r.source,
        "source_label": SOURCES.get(r.source, r.source),
        "town": {"code": r.town_code, "name": r.town_name} if r.town_code else None,
        "grid": {"code": r.grid_code, "name": r.grid_name} if r.grid_code else None,
        "unit": {"code": r.unit_code, "name": r.unit_name} if r.unit_code else None,
        "fallback": bool(r.fallback),
        "deadline": iso(r.deadline),
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "closed_at": iso(r.closed_at),
        "supporters": r.supporters or 0,
        "extensions": r.extensions or 0,
        "reworks": r.reworks or 0,
        "photos": [
            {"id": p.id, "url": f"{ctx.photo_base}/{p.id}.jpg",
             "thumb_url": f"{ctx.photo_base}/{p.id}/thumb.jpg",
             "event_id": p.event_id, "width": p.width, "height": p.height}
            for p in photos
        ],
    }
    if history:
        out["history"] = [
            {
                "at": iso(e.at),
                "action": e.action,
                "action_label": ACTION_LABELS.get(e.action, e.action),
                "status": e.to_status,
                "status_label": STATUS_LABELS.get(e.to_status, e.to_status),
                # staff see who acted; the public sees only the role
                "actor": e.actor if staff else None,
                "actor_role": e.actor_role,
                "note": e.note,
                "deadline": iso(e.deadline),
                "photos": [p.id for p in photos if p.event_id == e.id],
            }
            for e in events
        ]
    if personal:
        out["reporter"] = {"name": r.reporter_name, "phone": r.reporter_phone,
                           "username": r.reported_by}
    return out


# --- reporting -----------------------------------------------------------------------------
@dataclass
class ReportResult:
    """The stored problem's record, and whether it was an idempotent replay."""

    record: dict
    replayed: bool = False


def _text(value: object, *, name: str, label: str, limit: int, required: bool) -> str | None:
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            msg = f"缺少 {name}（{label}）"
            raise InvalidInput(msg)
        return None
    if len(text) > limit:
        msg = f"{name}（{label}）不超过 {limit} 个字，实际 {len(text)} 个字"
        raise InvalidInput(msg)
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
            msg = (f"此 api_key 签发时指定的来源为“{SOURCES.get(partner_source, partner_source)}”"
                   f"（{partner_source}），不能以“{claim}”上报；需要其他来源请联系管理员另行签发密钥")
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


def report_limit(ctx: ProblemContext) -> limits.Limit:
    return limits.Limit("report", int(ctx.reports_per_hour or 0), dt.timedelta(hours=1))


def _check_report_rate(ctx: ProblemContext, client: str, *, now: dt.datetime) -> None:
    rule = report_limit(ctx)
    with ctx.store.engine.connect() as conn:
        wait = limits.wait_seconds(conn, rule, client, now=now)
    if wait:
        msg = (f"同一网络地址每小时最多匿名上报 {rule.count} 条问题，已达上限，请{limits.minutes_text(wait)}后再试。"
               "如有大量问题需要集中上报，请联系县创建办")
        raise TooManyRequests(msg, retry_after=wait)


def _replay(ctx: ProblemContext, key: str, fingerprint: str, *, viewer, now) -> ReportResult | None:
    with ctx.store.engine.connect() as conn:
        hit = conn.execute(select(idempotency_keys).where(idempotency_keys.c.key == key)).first()
        if hit is None:
            return None
        row = conn.execute(select(problems).where(problems.c.id == hit.problem_id)).first()
    if hit.fingerprint != fingerprint:
        msg = ("Idempotency-Key 已用于另一份内容不同的上报，本次未受理："
               "重发时位置、类别、描述、联系方式和照片应与第一次完全相同；新的上报请使用新的 Idempotency-Key")
        raise Conflict(msg)
    return ReportResult(record(ctx, row, viewer=viewer, now=now), replayed=True)


@contextlib.contextmanager
def write_turn(store: Store):
    """Take turns writing to a SQLite file: waiters sleep in the kernel and wake at once.

    SQLite lets one writer at a time in and makes the others poll with growing sleeps,
    which wastes most of the time under many concurrent reporters; an advisory file lock
    around the short write transaction queues them instead. Other databases: no-op.
    """
    database = store.engine.url.database if store.engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    import fcntl

    fd = os.open(f"{database}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


_BUMP = (
    update(problem_counters).where(problem_counters.c.day == bindparam("d"))
    .values(last=problem_counters.c.last + 1).returning(problem_counters.c.last)
)
_INSERT_PROBLEM = insert(problems)
_INSERT_EVENT = insert(problem_events)
_INSERT_PHOTO = insert(problem_photos)
_INSERT_KEY = insert(idempotency_keys)
_INSERT_COUNTER = insert(problem_counters)


def _next_number(conn, day: str) -> int:
    """Increment the day's counter as the transaction's first write (serialises writers)."""
    row = conn.execute(_BUMP, {"d": day}).first()
    if row is not None:
        return int(row[0])
    conn.execute(_INSERT_COUNTER, {"day": day, "last": 1})
    return 1


def report_problem(
    ctx: ProblemContext,
    *,
    lon: object = None,
    lat: object = None,
    category: object = None,
    description: object = None,
    source: object = None,
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
    now: dt.datetime | None = None,
) -> ReportResult:
    """Validate a report, assign it from whois, store it with its photos; all or nothing.

    ``source`` is only a claim: decide_source() settles it from the user (or, for Open311,
    ``partner_source``, the source of the partner's key). ``client`` (the sender's address)
    counts anonymous reports against ``ctx.reports_per_hour``; past it: TooManyRequests.
    The Idempotency-Key covers everything sent, contacts and photos included: the same key
    with anything different is a Conflict, never a silent replay.
    """
    now = now or utcnow()
    # validate
    cat = ctx.categories.get(category)
    text = _text(description, name="description", label="问题描述", limit=MAX_DESCRIPTION, required=True)
    source_code = decide_source(user, source, partner_source=partner_source)
    name = _text(reporter_name, name="reporter_name", label="上报人姓名", limit=50, required=False)
    phone = _text(reporter_phone, name="reporter_phone", label="联系电话", limit=20, required=False)
    if phone and not _PHONE.match(phone):
        msg = f"reporter_phone（联系电话）格式不对：“{phone}”，应为数字，如 13800000000 或 0917-4700001"
        raise InvalidInput(msg)
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
        cat.code, "photo-gps" if given is None else f"{given[0]:.6f},{given[1]:.6f}", text, source_code,
        name or "", phone or "", *(hashlib.sha256(data).hexdigest() for _, data in (photos or [])),
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
            msg = "缺少位置：请提供 lon（经度）和 lat（纬度），或在地图上点选位置，或上传带 GPS 信息的照片"
            raise InvalidInput(msg)
        given = parse_lonlat(located[0], located[1])  # EXIF GPS is WGS84
    lon_f, lat_f = given
    # compute: who answers for the spot, and by when
    who = ctx.whois().lookup(lon_f, lat_f)
    if not who["in_county"]:
        msg = f"位置（经度 {lon_f:.6f}，纬度 {lat_f:.6f}）不在本县范围内，请核对位置"
        raise InvalidInput(msg)
    unit = who["responsible_unit"]
    address = None
    if who["segment"]:
        seg = who["segment"]
        address = seg["road_name"]
    elif who["point"]:
        address = who["point"]["name"]
    elif who["community"]:
        address = who["community"]["name"]
    deadline = now + dt.timedelta(hours=cat.deadline_hours)
    local_day = now.astimezone(CHINA).strftime("%Y%m%d")
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
        "deadline": to_db(deadline),
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
        "note": None,
    }
    # assemble: one short transaction; photos written inside it and removed if it fails
    for attempt in range(8):
        writer = PhotoWriter(ctx.storage)
        photo_rows: list[dict] = []
        try:
            with write_turn(ctx.store), ctx.store.engine.begin() as conn:
                number = _next_number(conn, local_day)
                tracking_no = f"{TRACKING_PREFIX}{local_day}-{number:04d}"
                problem_id = conn.execute(
                    _INSERT_PROBLEM, {"tracking_no": tracking_no, **values}
                ).inserted_primary_key[0]
                if key is not None:
                    conn.execute(_INSERT_KEY, {"key": key, "problem_id": problem_id,
                                               "fingerprint": fingerprint, "created_at": to_db(now)})
                if limited:
                    limits.record(conn, report_limit(ctx), client, now=now)
                event_id = conn.execute(
                    _INSERT_EVENT, {"problem_id": problem_id, **event}
                ).inserted_primary_key[0]
                for photo in prepared:
                    photo_key, thumb_key = writer.put(photo, day=local_day)
                    photo_row = {"problem_id": problem_id, "event_id": event_id, "key": photo_key,
                                 "thumb_key": thumb_key, "width": photo.width, "height": photo.height,
                                 "size": len(photo.data), "created_at": to_db(now)}
                    photo_row["id"] = conn.execute(_INSERT_PHOTO, photo_row).inserted_primary_key[0]
                    photo_rows.append(photo_row)
            break
        except IntegrityError:
            writer.rollback()
            if key is not None:
                replay = _replay(ctx, key, fingerprint, viewer=user, now=now)
                if replay is not None:
                    return replay
            if attempt == 7:
                raise
        except OperationalError as exc:  # "database is locked" after busy_timeout: try again
            writer.rollback()
            if "locked" not in str(exc).lower() or attempt == 7:
                raise
            time.sleep(0.05 * (attempt + 1))
        except BaseException:
            writer.rollback()
            raise
    # the record of what was just written, without reading it back
    row = SimpleNamespace(id=problem_id, tracking_no=tracking_no, closed_at=None, **values)
    events = [SimpleNamespace(id=event_id, problem_id=problem_id, deadline=None, unit_code=None, **event)]
    photo_ns = [SimpleNamespace(**p) for p in photo_rows]
    rec = _record(ctx, row, events, photo_ns, now=to_db(now), personal=may_see_personal_data(user),
                  staff=user is not None, history=True)
    return ReportResult(rec)


def public_view(rec: dict) -> dict:
    """A record without anything personal (for citizens, Open311 and public pages)."""
    out = {k: v for k, v in rec.items() if k != "reporter"}
    if "history" in out:
        out["history"] = [dict(h, actor=None) for h in out["history"]]
    return out


def is_tracking_no(text: str) -> bool:
    return bool(_TRACKING.match(text or ""))
