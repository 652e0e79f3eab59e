"""Assessment rounds and field assessments: create a round, fill a point's checklist, file its fails on the spot."""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace
from typing import Any

from gridmap.assessment import repository
from gridmap.assessment.checklists import Checklists, Criterion, load_checklists
from gridmap.auth import User
from gridmap.clock import china, iso, to_db, utcnow
from gridmap.errors import Conflict, Finding, Forbidden, InvalidInput, NotFound, Unauthorized
from gridmap.parsing import parse_date, parse_int
from gridmap.problems import deadlines, workflow
from gridmap.problems.context import ProblemContext
from gridmap.problems.photos import prepare_photos
from gridmap.problems.service import report_problem
from gridmap.responsibility import ResponsibilityModel

FILLERS = ("inspector", "office")  # who fills a checklist
MANAGERS = ("office",)  # who manages rounds
RESULTS = {"pass": "合格", "fail": "不合格", "na": "不适用"}
MAX_NOTE = 500


# --- who may ---------------------------------------------------------------------------------
def require_role(user: User | None, roles: tuple[str, ...], what: str) -> User:
    """The user, when logged in with one of ``roles``; Unauthorized / Forbidden otherwise."""
    if user is None:
        msg = "请先登录"
        raise Unauthorized(msg)
    if user.role not in roles:
        labels = "、".join({"inspector": "巡查员", "office": "县创建办"}[r] for r in roles)
        msg = f"{user.role_label}不能{what}（只有{labels}可以）"
        raise Forbidden(msg)
    return user


def checklists(ctx: ProblemContext) -> Checklists:
    """The checklist in force (GRIDMAP_CHECKLIST_FILE or the default), read once per context."""
    found = ctx.__dict__.get("_checklists")
    if found is None:
        found = ctx.__dict__["_checklists"] = load_checklists(
            ctx.settings.checklist_file, categories=ctx.categories
        )
    return found


# --- rounds ----------------------------------------------------------------------------------
def round_record(row: Any) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "starts_on": row.starts_on.isoformat(),
        "ends_on": row.ends_on.isoformat(),
        "created_by": row.created_by,
        "assessed": getattr(row, "assessed", None),
    }


def create_round(
    ctx: ProblemContext,
    *,
    user: User | None,
    name: object,
    starts_on: object,
    ends_on: object,
    now: dt.datetime | None = None,
) -> dict:
    """A new assessment round (测评轮次), e.g. “2026年11月第2次测评”, for the office."""
    who = require_role(user, MANAGERS, "创建测评轮次")
    now = now or utcnow()
    text = "" if name is None else str(name).strip()
    if not text:
        msg = "请填写测评轮次名称，例如“2026年11月第2次测评”"
        raise InvalidInput(msg, findings=[Finding("缺少 name（轮次名称）", field="name")])
    if len(text) > 100:
        msg = f"测评轮次名称最多 100 个字，现在有 {len(text)} 个字"
        raise InvalidInput(msg, findings=[Finding(msg, field="name")])
    start = parse_date(starts_on, name="starts_on", label="开始日期")
    end = parse_date(ends_on, name="ends_on", label="结束日期")
    if end < start:
        msg = f"结束日期 {end} 早于开始日期 {start}；请把结束日期改为 {start} 或以后"
        raise InvalidInput(msg, findings=[Finding(msg, field="ends_on")])
    values = {
        "name": text,
        "starts_on": start,
        "ends_on": end,
        "created_by": who.username,
        "created_at": to_db(now),
    }
    try:
        round_id = repository.insert_round(ctx.store, values)
    except repository.Taken:
        msg = f"已有名为“{text}”的测评轮次；请换一个名称，如加上“第2次”"
        raise Conflict(msg) from None
    return round_record(SimpleNamespace(id=round_id, assessed=0, **values))


def rounds(ctx: ProblemContext, *, user: User | None) -> list[dict]:
    require_role(user, FILLERS, "查看测评轮次")
    return [round_record(r) for r in repository.list_rounds(ctx.store)]


def _round(ctx: ProblemContext, round_id: object) -> Any:
    number = parse_int(round_id, name="round_id", label="测评轮次", minimum=1, maximum=2**62)
    row = repository.find_round(ctx.store, number)
    if row is None:
        msg = f"没有编号为 {number} 的测评轮次；请从测评轮次列表中选择"
        raise NotFound(msg)
    return row


# --- points ----------------------------------------------------------------------------------
def _point(model: ResponsibilityModel, code: object) -> dict:
    text = "" if code is None else str(code).strip()
    if text not in model.points.index:
        msg = f"没有编号为“{text[:40]}”的考察点位；请从本轮点位列表中选择"
        raise NotFound(msg)
    r = model.points.loc[text]
    spot = r.geometry.representative_point()
    grid_code = r.get("grid_code")
    grid = (
        model.grids.loc[grid_code] if isinstance(grid_code, str) and grid_code in model.grids.index else None
    )
    return {
        "code": text,
        "name": str(r["name"]),
        "category": str(r["category"]),
        "address": r.get("address") if isinstance(r.get("address"), str) else None,
        "unit_code": r["unit_code"] if isinstance(r["unit_code"], str) else None,
        "unit_name": r.get("unit_name") if isinstance(r.get("unit_name"), str) else None,
        "grid_code": grid_code if grid is not None else None,
        "grid_name": str(grid["name"]) if grid is not None else None,
        "town_code": str(grid["town_code"]) if grid is not None else None,
        "town_name": str(grid["town_name"]) if grid is not None else None,
        "lon": round(float(spot.x), 7),
        "lat": round(float(spot.y), 7),
    }


def coverage(ctx: ProblemContext, round_id: object, *, user: User | None) -> dict:
    """The round's points: assessed (with score) or still due, for the map and the list."""
    require_role(user, FILLERS, "查看测评覆盖情况")
    row = _round(ctx, round_id)
    done = {a.point_code: a for a in repository.round_assessments(ctx.store, row.id)}
    model = ctx.reference.model()
    points = []
    for code in model.points.index:
        point = _point(model, code)
        hit = done.get(code)
        point["assessed"] = hit is not None
        point["assessment_id"] = hit.id if hit is not None else None
        point["score"] = hit.score if hit is not None else None
        points.append(point)
    assessed = sum(p["assessed"] for p in points)
    return {"round": round_record(row), "assessed": assessed, "due": len(points) - assessed, "points": points}


def criterion_view(ctx: ProblemContext, item: Criterion) -> dict:
    cat = ctx.categories.get(item.problem_category)
    hours = deadlines.hours_for(ctx, cat.code, item.urgency)
    return {**item.as_dict(), "problem_category_name": cat.name, "deadline_hours": hours}


def assessment_form(ctx: ProblemContext, round_id: object, point_code: object, *, user: User | None) -> dict:
    """What the inspector sees at a point: the round, the point, its criteria, an earlier result."""
    require_role(user, FILLERS, "填写测评清单")
    row = _round(ctx, round_id)
    point = _point(ctx.reference.model(), point_code)
    items = checklists(ctx).for_category(point["category"])
    done = next(
        (a for a in repository.round_assessments(ctx.store, row.id) if a.point_code == point["code"]), None
    )
    return {
        "round": round_record(row),
        "point": point,
        "criteria": [criterion_view(ctx, c) for c in items],
        "assessment_id": done.id if done is not None else None,
    }


# --- filling in ------------------------------------------------------------------------------
def score_of(items: list[tuple[Criterion, str]]) -> float | None:
    """The weighted pass rate over applicable criteria (pass and fail); None when none applied."""
    applicable = sum(c.weight for c, result in items if result in ("pass", "fail"))
    if applicable <= 0:
        return None
    return sum(c.weight for c, result in items if result == "pass") / applicable


def _results(
    criteria: tuple[Criterion, ...], results: dict[str, object], photos: dict[str, list[tuple[str, bytes]]]
) -> list[tuple[Criterion, str]]:
    """Every criterion's answer, each fail with a photo; all problems named in one message."""
    out: list[tuple[Criterion, str]] = []
    unanswered: list[str] = []
    no_photo: list[str] = []
    findings: list[Finding] = []
    for n, item in enumerate(criteria, start=1):
        raw = results.get(item.key)
        answer = "" if raw is None else str(raw).strip()
        if answer not in RESULTS:
            unanswered.append(f"第 {n} 条“{item.text}”")
            findings.append(Finding(f"result[{item.key}] 应为 pass、fail 或 na", field=f"result[{item.key}]"))
            continue
        if answer == "fail" and not photos.get(item.key):
            no_photo.append(f"第 {n} 条“{item.text}”")
            findings.append(Finding(f"不合格项 {item.key} 缺少照片", field=f"photo[{item.key}]"))
        out.append((item, answer))
    asks = []
    if unanswered:
        asks.append(f"请为{'、'.join(unanswered)}选择 合格、不合格 或 不适用")
    if no_photo:
        asks.append(f"不合格项必须拍照：请为{'、'.join(no_photo)}各拍一张照片")
    if asks:
        msg = "；".join(asks) + "（本次未提交，没有写入任何内容）"
        raise InvalidInput(msg, findings=findings)
    return out


def submit(
    ctx: ProblemContext,
    round_id: object,
    point_code: object,
    *,
    user: User | None,
    results: dict[str, object],
    photos: dict[str, list[tuple[str, bytes]]] | None = None,
    note: object = None,
    now: dt.datetime | None = None,
) -> dict:
    """File one point's checklist in a round; every fail becomes a problem dispatched on the spot.

    Everything is checked before anything is written: the role, the round (not ended), the point,
    every criterion answered, a photo for every fail (through the photo checks: size, type).
    Then the assessment with its items (one transaction; a second filing of the same point in
    the round is a Conflict), each fail reported at the point by the inspector with its
    criterion's category and urgency and dispatched to the point's responsible unit (当场交办),
    and the items linked to their problems (one transaction).
    """
    who = require_role(user, FILLERS, "填写测评清单")
    now = now or utcnow()
    photos = photos or {}
    row = _round(ctx, round_id)
    if china(now).date() > row.ends_on:
        msg = f"测评轮次“{row.name}”已于 {row.ends_on} 结束，不能再提交；请选择进行中的轮次"
        raise Conflict(msg)
    model = ctx.reference.model()
    point = _point(model, point_code)
    criteria = checklists(ctx).for_category(point["category"])
    answered = _results(criteria, results, photos)
    text = None if note is None else str(note).strip() or None
    if text and len(text) > MAX_NOTE:
        msg = f"备注最多 {MAX_NOTE} 个字，现在有 {len(text)} 个字，请删减后再提交"
        raise InvalidInput(msg, findings=[Finding(msg, field="note")])
    fails = [c for c, result in answered if result == "fail"]
    if fails and model.unit_record(point["unit_code"]) is None:
        msg = f"点位“{point['name']}”没有登记责任单位（{point['unit_code'] or '空'}），不合格项无法当场交办；请先在参考数据中补上"
        raise InvalidInput(msg)
    for item in fails:  # every photo checked (size, type) before anything is written
        prepare_photos(photos[item.key], max_bytes=ctx.photo_max_bytes, max_count=ctx.photo_max_count)
    if any(a.point_code == point["code"] for a in repository.round_assessments(ctx.store, row.id)):
        raise _already(row, point)
    score = score_of(answered)
    values = {
        "round_id": row.id,
        "point_code": point["code"],
        "point_name": point["name"],
        "point_category": point["category"],
        **{
            k: point[k]
            for k in ("town_code", "town_name", "grid_code", "grid_name", "unit_code", "unit_name")
        },
        "inspector": who.username,
        "score": score,
        "passed": sum(r == "pass" for _, r in answered),
        "failed": len(fails),
        "not_applicable": sum(r == "na" for _, r in answered),
        "note": text,
        "created_at": to_db(now),
    }
    items = [
        {
            "criterion": c.key,
            "text": c.text,
            "weight": c.weight,
            "result": r,
            "problem_category": c.problem_category,
        }
        for c, r in answered
    ]
    try:
        assessment_id = repository.insert_assessment(ctx.store, values, items)
    except repository.Taken:
        raise _already(row, point) from None
    filed = _file_fails(ctx, assessment_id, row, point, fails, photos, who=who, note=text, now=now)
    return {**assessment(ctx, assessment_id, user=who), "filed": filed}


def _already(row: Any, point: dict) -> Conflict:
    msg = f"点位“{point['name']}”在“{row.name}”中已经测评过，不能重复提交；可在覆盖图上查看结果"
    return Conflict(msg)


def _file_fails(
    ctx: ProblemContext,
    assessment_id: int,
    row: Any,
    point: dict,
    fails: list[Criterion],
    photos: dict[str, list[tuple[str, bytes]]],
    *,
    who: User,
    note: str | None,
    now: dt.datetime,
) -> list[str]:
    """Report and dispatch each fail; link them. Nothing filed yet when the first fails: the assessment goes too."""
    found = repository.find_assessment(ctx.store, assessment_id)
    assert found is not None
    item_ids = {item.criterion: item.id for item in found[1]}
    # dispatch is the office's action; on the spot the inspector hands over in the office's name
    delegate = dataclasses.replace(who, role="office")
    links: dict[int, tuple[int, str]] = {}
    try:
        for item in fails:
            description = f"实地测评（{row.name}）{point['name']}：“{item.text}”不合格"
            if note:
                description += f"。备注：{note}"
            rec = report_problem(
                ctx,
                lon=point["lon"],
                lat=point["lat"],
                category=item.problem_category,
                urgency=item.urgency,
                description=description,
                user=who,
                photos=photos[item.key],
                now=now,
            ).record
            workflow.act(
                ctx,
                rec["id"],
                user=delegate,
                action="dispatch",
                unit_code=point["unit_code"],
                note=f"实地测评当场交办（测评记录 {assessment_id}）",
                now=now,
            )
            links[item_ids[item.key]] = (int(rec["id"]), str(rec["tracking_no"]))
    except BaseException:
        if links:
            repository.link_problems(ctx.store, links)
        else:
            repository.delete_assessment(ctx.store, assessment_id)
        raise
    repository.link_problems(ctx.store, links)
    return [tracking for _, tracking in links.values()]


# --- results ---------------------------------------------------------------------------------
def assessment(ctx: ProblemContext, assessment_id: object, *, user: User | None) -> dict:
    """One assessment with its items and the problems its fails filed."""
    require_role(user, FILLERS, "查看测评结果")
    number = parse_int(assessment_id, name="assessment_id", label="测评记录", minimum=1, maximum=2**62)
    found = repository.find_assessment(ctx.store, number)
    if found is None:
        msg = f"没有编号为 {number} 的测评记录"
        raise NotFound(msg)
    row, items = found
    return {
        "id": row.id,
        "round_id": row.round_id,
        "point": {"code": row.point_code, "name": row.point_name, "category": row.point_category},
        "town": {"code": row.town_code, "name": row.town_name},
        "grid": {"code": row.grid_code, "name": row.grid_name},
        "unit": {"code": row.unit_code, "name": row.unit_name},
        "inspector": row.inspector,
        "score": row.score,
        "passed": row.passed,
        "failed": row.failed,
        "not_applicable": row.not_applicable,
        "note": row.note,
        "created_at": iso(row.created_at),
        "items": [
            {
                "criterion": i.criterion,
                "text": i.text,
                "weight": i.weight,
                "result": i.result,
                "result_label": RESULTS[i.result],
                "problem_category": i.problem_category,
                "problem_id": i.problem_id,
                "tracking_no": i.tracking_no,
            }
            for i in items
        ],
    }


# --- indicators ------------------------------------------------------------------------------
GROUPINGS = ("town", "grid", "unit", "inspector")


def _moment(value: dt.date | dt.datetime, name: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return to_db(value) if value.tzinfo else value
    if isinstance(value, dt.date):
        # a calendar date is a China day: its midnight in UTC
        return to_db(dt.datetime.combine(value, dt.time(), tzinfo=dt.timezone(dt.timedelta(hours=8))))
    msg = f"{name} 应为日期或时间"
    raise InvalidInput(msg)


def pass_rates(store: Any, start: dt.date | dt.datetime, end: dt.date | dt.datetime, by: str) -> list[dict]:
    """Checklist pass rates per group for assessments filed in [start, end).

    ``by``: town, grid, unit or inspector. A date is a China calendar day (its 00:00 +08:00); a
    naive datetime is UTC. Each group: ``code``, ``name``, ``assessments``, ``applicable`` and
    ``passed`` item counts, and ``pass_rate``: passed weight over applicable weight (pass and
    fail; not applicable is left out), a fraction 0..1, None when nothing applied.
    """
    if by not in GROUPINGS:
        msg = f"分组 by 应为 {'、'.join(GROUPINGS)} 之一，实际为“{str(by)[:20]}”"
        raise InvalidInput(msg)
    rows = repository.pass_sums(store, start=_moment(start, "start"), end=_moment(end, "end"), by=by)
    return [
        {
            "code": r.code,
            "name": r.name,
            "assessments": int(r.assessments),
            "applicable": int(r.applicable or 0),
            "passed": int(r.passed or 0),
            "pass_rate": (float(r.passed_weight) / float(r.applicable_weight))
            if r.applicable_weight
            else None,
        }
        for r in rows
    ]
