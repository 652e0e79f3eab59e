"""Ranking rows of the notice: from the evaluation package's objects (code, name, counts, rates,
score, grade, rank, flag), and a plain stand-in computed from simple counts of the month's cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gridmap.notice.data import DEFAULT_COLUMNS, Column, RankRow


@dataclass(frozen=True)
class Ranking:
    """The month's towns and grids in rank order, the figures the tables show, and the rule used."""

    towns: tuple[RankRow, ...]
    grids: tuple[RankRow, ...]
    columns: tuple[Column, ...]
    method: str
    totals: Mapping[str, float] = field(default_factory=dict)  # county-wide: reported, filed, closed, …


# Stand-in composite: the region score's closure parts (EVALUATION.md), on a 0–100 scale.
SIMPLE_WEIGHTS = {"closure_rate": 0.4, "on_time_closure_rate": 0.6}
GRADES = (("A", 90.0), ("B", 75.0), ("C", 60.0), ("D", 40.0), ("E", float("-inf")))
SIMPLE_METHOD = (
    "案件数为本月上报的问题（不含不予立案和已合并的）；结案率＝已结案÷（案件数−挂账数），"
    "按期结案率＝按期结案数÷（案件数−挂账数）；得分＝结案率×40＋按期结案率×60；"
    "案件数（不含挂账）少于{min_sample}件的只列数据、不排名；"
    "得分相同的，按期结案率高者在前，再相同的超期未办少者在前。"
    "排名第一者获流动红旗，末位者获流动灰旗"
)
FINAL_OUT = ("rejected", "merged")  # not cases at all
PENDING = ("reported", "verifying", "accepted", "dispatched", "returned")


def _grade(score: float | None) -> str | None:
    if score is None:
        return None
    return next(name for name, least in GRADES if score >= least)


def simple_ranking(
    cases: Iterable[Mapping[str, object]],
    *,
    key: str,
    names: Mapping[str, str],
    now: dt.datetime,
    min_sample: int = 5,
    grey_flag: bool = True,
) -> list[dict]:
    """Rank the groups named in ``names`` (code -> name) by simple counts of ``cases`` (problem
    rows as mappings; ``key`` is the column of the group's code, e.g. grid_code), in the shape of
    `gridmap evaluate --json`: code, name, counts, rates, score, grade, rank, flag; rank order."""
    tallies = {code: {"cases": 0, "parked": 0, "closed": 0, "on_time": 0, "overdue": 0} for code in names}
    for case in cases:
        code = case.get(key)
        if code not in tallies or case["status"] in FINAL_OUT:
            continue
        t = tallies[str(code)]
        t["cases"] += 1
        status = case["status"]
        deadline = case.get("deadline")
        if status == "parked":
            t["parked"] += 1
        elif status == "closed":
            t["closed"] += 1
            closed_at = case.get("closed_at")
            if closed_at is not None and deadline is not None and closed_at <= deadline:  # type: ignore[operator]
                t["on_time"] += 1
        elif status in PENDING and deadline is not None and deadline < now:  # type: ignore[operator]
            t["overdue"] += 1
    out: list[dict[str, Any]] = []
    for code, t in tallies.items():
        due = t["cases"] - t["parked"]
        closure = t["closed"] / due if due else None
        on_time = t["on_time"] / due if due else None
        ranked = due >= min_sample and due > 0
        score = (
            round(
                100
                * (
                    SIMPLE_WEIGHTS["closure_rate"] * closure
                    + SIMPLE_WEIGHTS["on_time_closure_rate"] * on_time
                ),
                2,
            )
            if ranked and closure is not None and on_time is not None
            else None
        )
        out.append(
            {
                "code": code,
                "name": names[code],
                "cases": t["cases"],
                "parked": t["parked"],
                "closed": t["closed"],
                "closed_on_time": t["on_time"],
                "overdue": t["overdue"],
                "closure_rate": closure,
                "on_time_closure_rate": on_time,
                "score": score,
                "grade": _grade(score),
                "rank": None,
                "flag": None,
            }
        )
    ranked_rows = sorted(
        (r for r in out if r["score"] is not None),
        key=lambda r: (-r["score"], -r["on_time_closure_rate"], r["overdue"], r["code"]),
    )
    for i, r in enumerate(ranked_rows, start=1):
        r["rank"] = i
    if ranked_rows:
        ranked_rows[0]["flag"] = "red"
        if grey_flag and len(ranked_rows) > 1:
            ranked_rows[-1]["flag"] = "grey"
    rest = sorted((r for r in out if r["score"] is None), key=lambda r: str(r["code"]))
    return [*ranked_rows, *rest]


def simple_totals(cases: Iterable[Mapping[str, object]]) -> dict[str, float]:
    """County-wide figures of the month's cases, counted as simple_ranking counts a group."""
    live = [c for c in cases if c["status"] not in FINAL_OUT]
    closed = sum(c["status"] == "closed" for c in live)
    due = sum(c["status"] != "parked" for c in live)
    totals: dict[str, float] = {
        "reported": len(live),
        "closed": closed,
        "citizen": sum(c.get("source") == "citizen" for c in live),
    }
    if due:
        totals["closure_rate"] = closed / due
    return totals


def rows_from_evaluation(
    items: Sequence[Mapping[str, object]], *, columns: Sequence[Column] = DEFAULT_COLUMNS
) -> tuple[RankRow, ...]:
    """RankRows from evaluation objects (as `gridmap evaluate --json` lists them), in rank order:
    ranked first by rank, then the unranked in their given order; figures of ``columns`` kept."""
    keys = [key for key, _label, _kind in columns]
    ranked = sorted((i for i in items if i.get("rank") is not None), key=lambda i: int(i["rank"]))  # type: ignore[call-overload]
    rest = [i for i in items if i.get("rank") is None]
    return tuple(
        RankRow(
            code=str(item["code"]),
            name=str(item.get("name") or item["code"]),
            rank=int(item["rank"]) if item.get("rank") is not None else None,  # type: ignore[call-overload]
            score=float(item["score"]) if item.get("score") is not None else None,  # type: ignore[arg-type]
            grade=str(item["grade"]) if item.get("grade") else None,
            flag=str(item["flag"]) if item.get("flag") else None,
            figures={key: item.get(key) for key in keys},
        )
        for item in [*ranked, *rest]
    )
