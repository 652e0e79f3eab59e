"""The assessments' data access: rounds, assessments with their items, coverage and pass-rate sums."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from gridmap.assessment.schema import assessment_items, assessment_rounds, assessments
from gridmap.store import Store


class Taken(Exception):
    """The name (of a round) or the round and point (of an assessment) is already stored."""


def insert_round(store: Store, values: Mapping[str, object]) -> int:
    try:
        with store.writing() as conn:
            key = conn.execute(insert(assessment_rounds), dict(values)).inserted_primary_key
    except IntegrityError:
        raise Taken from None
    assert key is not None
    return int(key[0])


def list_rounds(store: Store) -> list[Row]:
    counts = (
        select(assessments.c.round_id, func.count().label("assessed"))
        .group_by(assessments.c.round_id)
        .subquery()
    )
    query = (
        select(assessment_rounds, func.coalesce(counts.c.assessed, 0).label("assessed"))
        .outerjoin(counts, counts.c.round_id == assessment_rounds.c.id)
        .order_by(assessment_rounds.c.starts_on.desc(), assessment_rounds.c.id.desc())
    )
    with store.reading() as conn:
        return list(conn.execute(query))


def find_round(store: Store, round_id: int) -> Row | None:
    with store.reading() as conn:
        return conn.execute(select(assessment_rounds).where(assessment_rounds.c.id == round_id)).first()


def round_assessments(store: Store, round_id: int) -> list[Row]:
    query = select(assessments).where(assessments.c.round_id == round_id).order_by(assessments.c.id)
    with store.reading() as conn:
        return list(conn.execute(query))


def insert_assessment(
    store: Store, values: Mapping[str, object], items: Sequence[Mapping[str, object]]
) -> int:
    """The assessment and its items in one transaction; Taken when the point is done in that round."""
    try:
        with store.writing() as conn:
            key = conn.execute(insert(assessments), dict(values)).inserted_primary_key
            assert key is not None
            assessment_id = int(key[0])
            conn.execute(
                insert(assessment_items), [{**item, "assessment_id": assessment_id} for item in items]
            )
    except IntegrityError:
        raise Taken from None
    return assessment_id


def link_problems(store: Store, links: Mapping[int, tuple[int, str]]) -> None:
    """Item id -> (problem id, tracking number) of the problems the fails filed; one transaction."""
    if not links:
        return
    with store.writing() as conn:
        for item_id, (problem_id, tracking_no) in links.items():
            conn.execute(
                update(assessment_items)
                .where(assessment_items.c.id == item_id)
                .values(problem_id=problem_id, tracking_no=tracking_no)
            )


def delete_assessment(store: Store, assessment_id: int) -> None:
    with store.writing() as conn:
        conn.execute(delete(assessment_items).where(assessment_items.c.assessment_id == assessment_id))
        conn.execute(delete(assessments).where(assessments.c.id == assessment_id))


def find_assessment(store: Store, assessment_id: int) -> tuple[Row, list[Row]] | None:
    with store.reading() as conn:
        row = conn.execute(select(assessments).where(assessments.c.id == assessment_id)).first()
        if row is None:
            return None
        items = conn.execute(
            select(assessment_items)
            .where(assessment_items.c.assessment_id == assessment_id)
            .order_by(assessment_items.c.id)
        )
        return row, list(items)


GROUP_COLUMNS: dict[str, tuple[Any, Any]] = {
    "town": (assessments.c.town_code, assessments.c.town_name),
    "grid": (assessments.c.grid_code, assessments.c.grid_name),
    "unit": (assessments.c.unit_code, assessments.c.unit_name),
    "inspector": (assessments.c.inspector, assessments.c.inspector),
}


def pass_sums(store: Store, *, start: dt.datetime, end: dt.datetime, by: str) -> list[Row]:
    """Per group (code, name): assessments, applicable and passed items and weights, in [start, end)."""
    code, name = GROUP_COLUMNS[by]
    item = assessment_items.c
    applicable = item.result.in_(("pass", "fail"))
    query = (
        select(
            code.label("code"),
            func.max(name).label("name"),
            func.count(func.distinct(assessments.c.id)).label("assessments"),
            func.sum(case((applicable, 1), else_=0)).label("applicable"),
            func.sum(case((item.result == "pass", 1), else_=0)).label("passed"),
            func.sum(case((applicable, item.weight), else_=0.0)).label("applicable_weight"),
            func.sum(case((item.result == "pass", item.weight), else_=0.0)).label("passed_weight"),
        )
        .select_from(assessments.join(assessment_items, assessment_items.c.assessment_id == assessments.c.id))
        .where(assessments.c.created_at >= start, assessments.c.created_at < end)
        .group_by(code)
        .order_by(code)
    )
    with store.reading() as conn:
        return list(conn.execute(query))
