"""Reading problems: find one, JSON-ready records with history and photos, public views, photo files."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from typing import Any

from gridmap.auth import User, may_see_personal_data, users_named
from gridmap.clock import human, iso, to_db
from gridmap.errors import GridmapError, InvalidInput, NotFound
from gridmap.problems import repository, requests
from gridmap.problems.context import ProblemContext
from gridmap.problems.frontage import shop_view
from gridmap.problems.states import ACTION_LABELS, SOURCES, STATUS_LABELS, URGENCY_LABELS, is_overdue

_TRACKING = re.compile(r"^[A-Z]{2}\d{8}-\d{4,}$")
# A photo belongs to the event it came with: the report, the rectification, or the inspector's check.
PHOTO_STAGES: dict[str, tuple[str, str]] = {
    "report": ("report", "上报"),
    "rectify": ("rectify", "整改"),
    "verify": ("verify", "核查"),
    "rework": ("verify", "核查"),
    "close": ("verify", "核查"),
    "confirm": ("verify", "核实"),
    "refute": ("verify", "核实"),
    "merge": ("report", "上报"),  # a merged duplicate's photos, carried over to the kept case
}
PARTNER_PREFIX = "open311:"  # events filed through an Open311 api key name the partner so


def actor_names(ctx: ProblemContext, usernames: set[str]) -> dict[str, str]:
    """How the people who acted are named for staff: a unit user by its unit, an inspector or a
    leader by their name in the responsibility table, the office as 创建办; the login in brackets."""
    people = users_named(ctx.store, usernames)
    model = None
    if any(u.role in ("unit", "leader", "inspector") for u in people.values()):
        try:
            model = ctx.reference.model()
        except GridmapError:
            model = None

    def name_in(table: str, code: str | None) -> str | None:
        frame = getattr(model, table, None) if model is not None else None
        if frame is None or code is None or code not in frame.index:
            return None
        return str(frame.loc[code, "name"])

    out = {}
    for login in usernames:
        user = people.get(login)
        if login.startswith(PARTNER_PREFIX):
            out[login] = f"{login[len(PARTNER_PREFIX) :]}（对接系统）"
        elif user is None:
            continue
        elif user.role == "unit":
            out[login] = f"{name_in('units', user.unit_code) or user.unit_code}（{login}）"
        elif user.role == "leader":
            out[login] = f"包片领导 {name_in('leaders', user.leader_code) or user.leader_code}（{login}）"
        elif user.role == "inspector":
            found = name_in("inspectors", login)
            out[login] = f"巡查员 {found}（{login}）" if found else f"巡查员（{login}）"
        elif user.role == "office":
            out[login] = f"创建办（{login}）"
        else:
            out[login] = f"{user.role_label}（{login}）"
    return out


def find_row(ctx: ProblemContext, ref: object) -> Any:
    """The problem row for an id or a tracking number; NotFound otherwise."""
    text = str(ref or "").strip()
    if text.isascii() and text.isdigit():
        # an id past 64 bits names no problem (and would overflow the database's integer)
        row = repository.find_problem(ctx.store, problem_id=int(text)) if len(text) <= 18 else None
    else:
        row = repository.find_problem(ctx.store, tracking_no=text.upper()[:64])
    if row is None:
        msg = f"问题“{text[:40]}”不存在，请核对受理编号（如 FX20261127-0001）"
        raise NotFound(msg)
    return row


def records(
    ctx: ProblemContext,
    rows: list,
    *,
    viewer: User | None = None,
    now: dt.datetime | None = None,
    history: bool = True,
) -> list[dict]:
    """JSON-ready records of problem rows; reporters' contacts only for office users."""
    now_db = to_db(now)
    events, photos = repository.events_and_photos(ctx.store, [r.id for r in rows], events=history)
    personal = may_see_personal_data(viewer)
    staff = viewer is not None
    logins = {e.actor for found in events.values() for e in found if e.actor}
    names = actor_names(ctx, logins) if staff and logins else {}
    asked = repository.pending_requests(ctx.store, [r.id for r in rows]) if staff and rows else {}
    merged = repository.tracking_numbers(
        ctx.store, [m for r in rows if (m := getattr(r, "merged_into", None))]
    )
    return [
        build_record(
            ctx,
            r,
            events.get(r.id, []),
            photos.get(r.id, []),
            now=now_db,
            personal=personal,
            staff=staff,
            history=history,
            actors=names,
            merged=merged,
            request=asked.get(r.id),
        )
        for r in rows
    ]


def record(
    ctx: ProblemContext, row: Any, *, viewer: User | None = None, now: dt.datetime | None = None
) -> dict:
    """The JSON-ready record of one problem row, with its history."""
    return records(ctx, [row], viewer=viewer, now=now)[0]


def show(ctx: ProblemContext, ref: object, *, viewer: User | None, now: dt.datetime | None = None) -> dict:
    """One problem as its viewer may see it: staff get the full record, everyone else the public view."""
    rec = record(ctx, find_row(ctx, ref), viewer=viewer, now=now)
    return rec if viewer is not None else public_view(rec)


def build_record(
    ctx: ProblemContext,
    r: Any,
    events: list,
    photos: list,
    *,
    now: dt.datetime,
    personal: bool,
    staff: bool,
    history: bool,
    actors: dict[str, str] | None = None,
    merged: dict[int, str] | None = None,
    request: Any = None,
) -> dict:
    """The record of a problem row with its events and photos (rows or objects with their fields);
    ``actors`` names the staff who acted (actor_names), shown to staff only."""
    overdue = is_overdue(r.status, r.deadline, now)
    stage_of = {e.id: PHOTO_STAGES.get(e.action) for e in events}
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
        # 门前五包: the shop told first; its owner's contact for the office only
        "shop": shop_view(ctx, r, personal=personal),
        "deadline": iso(r.deadline),
        "deadline_text": human(r.deadline),
        "created_at": iso(r.created_at),
        "created_at_text": human(r.created_at),
        "updated_at": iso(r.updated_at),
        "closed_at": iso(r.closed_at),
        "supporters": r.supporters or 0,
        "extensions": r.extensions or 0,
        "reworks": r.reworks or 0,
        "photos": [
            {
                "id": p.id,
                "url": f"{ctx.photo_base}/{p.id}.jpg",
                "thumb_url": f"{ctx.photo_base}/{p.id}/thumb.jpg",
                "event_id": p.event_id,
                "width": p.width,
                "height": p.height,
                # report / rectify / verify and 上报 / 整改 / 核查; None when the events were not read
                "stage": (stage_of.get(p.event_id) or (None, None))[0],
                "stage_label": (stage_of.get(p.event_id) or (None, None))[1],
            }
            for p in photos
        ],
    }
    if history:
        out["history"] = [
            {
                "at": iso(e.at),
                "at_text": human(e.at),
                "action": e.action,
                "action_label": _action_label(e),
                "status": e.to_status,
                "status_label": STATUS_LABELS.get(e.to_status, e.to_status),
                # staff see who acted; the public sees only the role
                "actor": e.actor if staff else None,
                "actor_name": (actors or {}).get(e.actor or "") if staff else None,
                "actor_role": e.actor_role,
                "note": e.note,
                "deadline": iso(e.deadline),
                "deadline_text": human(e.deadline),
                "photos": [p.id for p in photos if p.event_id == e.id],
                "detail": _detail(getattr(e, "detail", None)) if staff else None,
            }
            for e in events
        ]
    into = getattr(r, "merged_into", None)
    out["merged_into"] = {"id": into, "tracking_no": (merged or {}).get(into)} if into else None
    out["reopens"] = getattr(r, "reopens", None) or 0
    if staff and getattr(r, "satisfaction", None):  # the follow-up's answer, for evaluation
        out["satisfaction"] = {
            "result": r.satisfaction,
            "label": {"satisfied": "满意（已解决）", "unsatisfied": "不满意（没解决）"}.get(r.satisfaction),
            "note": r.satisfaction_note,
            "at": iso(r.satisfaction_at),
            "at_text": human(r.satisfaction_at),
        }
    out.update(_loop_facts(r, staff=staff, request=request))
    if personal:
        out["reporter"] = {"name": r.reporter_name, "phone": r.reporter_phone, "username": r.reported_by}
    return out


def _action_label(e: Any) -> str:
    """An event's label; a follow-up's names its answer and how it came (电话回访：不满意（没解决）)."""
    label = ACTION_LABELS.get(e.action, e.action)
    if e.action != "followup":
        return label
    facts = _detail(getattr(e, "detail", None)) or {}
    answer = {"satisfied": "满意（已解决）", "unsatisfied": "不满意（没解决）"}.get(str(facts.get("result")))
    if facts.get("channel") == "phone":
        label = f"电话{label}"
    return f"{label}：{answer}" if answer else label


def _detail(text: str | None) -> dict | None:
    """An event's further facts (JSON in problem_events.detail), or None."""
    if not text:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _loop_facts(r: Any, *, staff: bool, request: Any) -> dict:
    """Urgency, verification, parking and returns of a problem row; its pending unit request (staff)."""
    urgency = getattr(r, "urgency", None) or "normal"
    verify_deadline = getattr(r, "verify_deadline", None)
    parked_until = getattr(r, "parked_until", None)
    out = {
        "urgency": urgency,
        "urgency_label": URGENCY_LABELS.get(urgency, urgency),
        "verify_deadline": iso(verify_deadline),
        "verify_deadline_text": human(verify_deadline),
        "parked_until": iso(parked_until),
        "parked_until_text": human(parked_until),
        "returns": getattr(r, "returns", None) or 0,
    }
    if staff:
        out["verifier"] = getattr(r, "verifier", None)
        out["pending_request"] = None if request is None else requests.view(request)
    return out


def public_view(rec: dict) -> dict:
    """A record without anything personal (for citizens, Open311 and public pages)."""
    out = {k: v for k, v in rec.items() if k not in ("reporter", "verifier", "pending_request")}
    if out.get("shop"):  # the shop's name is public (its 门前五包 sign); its owner's contact is not
        out["shop"] = {"code": out["shop"]["code"], "name": out["shop"]["name"]}
    if "history" in out:
        out["history"] = [
            # a follow-up's note (the reporter's words, the office's call) is for staff, as the satisfaction
            dict(
                h,
                actor=None,
                actor_name=None,
                detail=None,
                note=h["note"] if h["action"] != "followup" else None,
            )
            for h in out["history"]
        ]
    return out


def lookup(ctx: ProblemContext, text: object) -> str:
    """The tracking number a person typed into a lookup box, as stored; a plain message otherwise.

    Full-width characters, lower case and spaces are forgiven (``ｆｘ20261130－0001`` finds
    FX20261130-0001); anything else says what a tracking number looks like and where it is shown.
    """
    typed = unicodedata.normalize("NFKC", str(text or ""))
    wanted = "".join(typed.split()).upper()
    example = "如 FX20261130-0001，上报成功时显示在页面上"
    if not wanted:
        msg = f"请输入受理编号（{example}）"
        raise InvalidInput(msg)
    if not is_tracking_no(wanted):
        msg = f"“{typed.strip()[:40]}”不是受理编号：受理编号是 FX 加日期和序号（{example}），请核对后重新输入"
        raise InvalidInput(msg)
    if repository.find_problem(ctx.store, tracking_no=wanted) is None:
        msg = f"没有找到受理编号为 {wanted} 的问题，请核对编号（{example}）"
        raise NotFound(msg)
    return wanted


def is_tracking_no(text: str) -> bool:
    """Whether ``text`` looks like a tracking number (FX20261127-0001)."""
    return bool(_TRACKING.match(text or ""))


def photo_file(ctx: ProblemContext, photo_id: int, *, thumb: bool = False) -> bytes:
    """The stored JPEG of a problem photo (or its thumbnail); NotFound if there is no such photo."""
    row = repository.find_photo(ctx.store, photo_id)
    if row is None:
        msg = "照片不存在"
        raise NotFound(msg)
    return ctx.storage.get(row.thumb_key if thumb else row.key)
