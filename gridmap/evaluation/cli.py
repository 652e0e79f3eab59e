"""Commands `gridmap evaluate` (a month's indicators, scores, ranks, flags) and `gridmap flags`."""

from __future__ import annotations

import json

import click

from gridmap.auth import list_users
from gridmap.cliopen import open_reference, open_store
from gridmap.errors import GridmapError
from gridmap.evaluation import flags as flagging
from gridmap.evaluation.indicators import INDICATORS
from gridmap.evaluation.scoring import GROUPINGS, load_scheme
from gridmap.evaluation.service import evaluate_month
from gridmap.problems.categories import load_categories
from gridmap.problems.context import context_from_settings
from gridmap.problems.records import actor_names
from gridmap.settings import Settings, load_settings

_SHOWN = ("reports", "filed", "handled", "closed", "overdue_pending")
_RATES_SHOWN = ("closure_rate", "on_time_closure_rate", "on_time_handling_rate", "rework_rate")
_LABELS = {i.key: i.zh for i in INDICATORS} | {
    "reports": "上报",
    "filed": "立案",
    "handled": "处置",
    "closed": "结案",
    "overdue_pending": "超期未处置",
}


def _lookups(settings: Settings, by: str) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Lead departments by grid (department grouping); names of categories and inspectors."""
    departments: dict[str, tuple[str, str]] = {}
    names: dict[str, str] = {}
    if by == "department":
        try:
            grids = open_reference(settings).model().grids
        except GridmapError:
            grids = None
        if grids is not None and "lead_unit_code" in grids:
            for code, unit, name in zip(grids.index, grids["lead_unit_code"], grids["lead_department"]):
                if isinstance(unit, str) and unit:
                    departments[str(code)] = (unit, str(name) if isinstance(name, str) else unit)
    if by == "category":
        names = {c.code: c.name for c in load_categories(settings.problem_categories or None)}
    if by == "inspector":  # named as on a problem's page: 巡查员 姓名（登录名）
        store = open_store(settings)
        ctx = context_from_settings(store, open_reference(settings), settings)
        names = actor_names(ctx, {u.username for u in list_users(store) if u.role == "inspector"})
    return departments, names


def _percent(value: object) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"  # type: ignore[arg-type]


@click.command("evaluate")
@click.option("--month", required=True, help="统计月份（北京时间），如 2026-11。")
@click.option(
    "--by",
    "by",
    required=True,
    type=click.Choice(list(GROUPINGS)),
    help="分组：town 镇（街道）、grid 网格、unit 责任单位、department 牵头部门、category 问题类别、inspector 巡查员。",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="输出 JSON：每组一个对象（代码、名称、计数、比率、得分、等级、排名、旗）。",
)
@click.option(
    "--flags", "record", is_flag=True, help="把本月镇或网格的红旗、灰旗记入历史（重新统计会替换）。"
)
def evaluate(month: str, by: str, as_json: bool, record: bool) -> None:
    """统计某月的考核指标，按评分方案打分、评等级、排名并评流动红旗。

    按上报时间归月：只统计该月上报的案件，各环节以月末（本月以现在）为截止时点。
    """
    settings = load_settings()
    scheme = load_scheme(settings.scoring_file or None)
    departments, names = _lookups(settings, by)
    result = evaluate_month(
        open_store(settings),
        month=month,
        by=by,
        scheme=scheme,
        departments=departments,
        names=names,
        record_flags=record,
    )
    rows = result.records()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{result.month} 按{GROUPINGS[by]}统计（评分方案：{scheme.source}；最小样本 {scheme.min_sample}）"
    )
    head = [
        "排名",
        "代码",
        "名称",
        *(_LABELS[k] for k in _SHOWN),
        *(_LABELS[k] for k in _RATES_SHOWN),
        "得分",
        "等级",
        "旗",
    ]
    click.echo("\t".join(head))
    for r in rows:
        flag = flagging.FLAG_LABELS.get(r["flag"], "") if r["flag"] else ""
        cells = [
            "—" if r["rank"] is None else str(r["rank"]),
            str(r["code"]),
            str(r["name"]),
            *(str(r[k]) for k in _SHOWN),
            *(_percent(r[k]) for k in _RATES_SHOWN),
            "—" if r["score"] is None else f"{r['score']:.2f}",
            r["grade"] or "—",
            flag,
        ]
        click.echo("\t".join(cells))
    if not rows:
        click.echo("该月没有上报的案件。")
    if record and by not in flagging.FLAGGED:
        click.echo("提示：流动红旗只评镇（街道）和网格，本次没有记入历史。", err=True)


@click.command("flags")
@click.option(
    "--by",
    "by",
    type=click.Choice(list(flagging.FLAGGED)),
    default=None,
    help="只看镇（town）或网格（grid）。",
)
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
def flag_history(by: str | None, as_json: bool) -> None:
    """历月流动红旗和灰旗（由 `gridmap evaluate --flags` 记入）。"""
    rows = flagging.history(open_store(), by=by)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("还没有记入任何月份的红旗；请先运行 `gridmap evaluate --month 年-月 --by town --flags`。")
    for r in rows:
        level = GROUPINGS[r["level"]]
        score = "—" if r["score"] is None else f"{r['score']:.2f}"
        click.echo(
            f"{r['month']}\t{level}\t{flagging.FLAG_LABELS[r['flag']]}\t{r['code']}\t{r['name'] or ''}\t{score} 分\t第 {r['rank']}/{r['of']} 名"
        )


commands = [evaluate, flag_history]
