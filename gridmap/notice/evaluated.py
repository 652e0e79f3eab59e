"""The notice's ranking from gridmap.evaluation: the county's scoring scheme, ranks and flags."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from gridmap.evaluation.scoring import load_scheme
from gridmap.evaluation.service import evaluate_month
from gridmap.notice.assemble import RankingSource
from gridmap.notice.data import EVALUATION_COLUMNS, RankRow
from gridmap.notice.ranking import Ranking, rows_from_evaluation
from gridmap.problems.context import ProblemContext


def _with_quiet_groups(
    rows: tuple[RankRow, ...], names: Mapping[str, str], counts: Sequence[str]
) -> tuple[RankRow, ...]:
    """The evaluated rows, then every town or grid without a case this month (zero counts, unranked)."""
    seen = {row.code for row in rows}
    quiet = tuple(
        RankRow(
            code=code,
            name=name,
            rank=None,
            score=None,
            grade=None,
            flag=None,
            figures={key: (0 if key in counts else None) for key, _label, _kind in EVALUATION_COLUMNS},
        )
        for code, name in names.items()
        if code not in seen
    )
    return rows + quiet


def _totals(records: Sequence[Mapping[str, object]]) -> dict[str, float]:
    """County-wide counts: the sums over the towns (every case lies in a town or in none)."""

    def total(key: str) -> float:
        return sum(float(str(r.get(key) or 0)) for r in records)

    out = {"reported": total("reports"), "filed": total("filed"), "closed": total("closed")}
    out["citizen"] = total("citizen_reports")
    due = total("due_closure")
    if due:
        out["closure_rate"] = out["closed"] / due
    return {k: (int(v) if k != "closure_rate" else v) for k, v in out.items()}


def evaluation_source() -> RankingSource:
    """Rank towns and grids with `gridmap.evaluation.evaluate_month` and the county's scheme
    (GRIDMAP_SCORING_FILE), as `gridmap evaluate --by town|grid` does; flags are not recorded."""

    def source(ctx: ProblemContext, month: str, now: dt.datetime) -> Ranking:
        scheme = load_scheme(ctx.settings.scoring_file or None)
        model = ctx.reference.model()
        counts = [key for key, _label, kind in EVALUATION_COLUMNS if kind == "count"]
        out = {}
        totals: dict[str, float] = {}
        for grouping, frame in (("town", model.towns), ("grid", model.grids)):
            records = evaluate_month(ctx.store, month=month, by=grouping, scheme=scheme, now=now).records()
            if grouping == "town":
                totals = _totals(records)
            rows = rows_from_evaluation(records, columns=EVALUATION_COLUMNS)
            names = {str(code): str(name) for code, name in frame["name"].items()}
            out[grouping] = _with_quiet_groups(rows, names, counts)
        method = (
            f"综合得分按县评分方案计算；结案率＝结案数÷应结案数，按期结案率＝按期结案数÷应结案数"
            f"（应结案＝已处置＋超期未处置，挂账不计）；案件少于{scheme.min_sample}件的只列数据、不排名"
        )
        return Ranking(
            towns=out["town"], grids=out["grid"], columns=EVALUATION_COLUMNS, method=method, totals=totals
        )

    return source
