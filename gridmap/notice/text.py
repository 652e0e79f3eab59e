"""The notice's wording, generated from its figures: body paragraphs, flag sentences, table cells."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from gridmap import clock
from gridmap.notice.data import (
    FLAG_LABELS,
    NoticeData,
    RankRow,
    TypicalProblem,
    UnitOverdue,
    format_figure,
    month_text,
)


def printable(value: str) -> str:
    """Text without control characters (a Word file's XML refuses them; a PDF draws boxes)."""
    return "".join(ch if ch.isprintable() or ch == "\n" else " " for ch in value)


def date_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def deadline_text(moment: dt.datetime | None) -> str:
    """A naive UTC deadline as a Beijing-time date and hour, e.g. 2026年11月20日18时."""
    if moment is None:
        return "—"
    local = clock.china(clock.from_db(moment))
    return f"{local.year}年{local.month}月{local.day}日{local.hour}时"


def _names(rows: Sequence[RankRow]) -> str:
    return "、".join(r.name for r in rows)


def flag_sentences(data: NoticeData) -> list[str]:
    """Who gets the red flag and who the grey one, for towns and for grids."""
    out = []
    for what, rows in (("镇", data.towns), ("网格", data.grids)):
        for flag in ("red", "grey"):
            won = data.winners(rows, flag)
            if won:
                verb = "授予" if flag == "red" else "给予"
                out.append(f"{verb}{_names(won)}本月{what}级{FLAG_LABELS[flag]}。")
    return out


def summary(data: NoticeData) -> str:
    """The opening paragraph: what was done this month, in the month's figures."""
    t = data.totals
    parts = [f"{month_text(data.month)}，全县共受理网格问题{int(t.get('reported', 0))}件"]
    if "filed" in t:
        parts.append(f"立案{int(t['filed'])}件")
    parts.append(f"已结案{int(t.get('closed', 0))}件")
    if t.get("closure_rate") is not None:
        parts.append(f"结案率{format_figure(t['closure_rate'], 'rate')}")
    if "citizen" in t:
        parts.append(f"其中群众举报{int(t['citizen'])}件")
    parts.append(f"截至通报时仍有{int(t.get('overdue', 0))}件超期未办结")
    return "，".join(parts) + "。现将有关情况通报如下。"


def ranking_sentence(what: str, rows: Sequence[RankRow]) -> str:
    """One sentence on a ranking: first, last, and how many were not ranked."""
    ranked = [r for r in rows if r.rank is not None]
    if not ranked:
        return f"本月各{what}案件数均未达到最低样本量，不参与排名。"
    text = f"本月参与排名的{what}共{len(ranked)}个，{ranked[0].name}排名第一"
    if ranked[0].score is not None:
        text += f"（得分{format_figure(ranked[0].score, 'score')}）"
    if len(ranked) > 1:
        text += f"，{ranked[-1].name}排名末位"
        if ranked[-1].score is not None:
            text += f"（得分{format_figure(ranked[-1].score, 'score')}）"
    unranked = len(rows) - len(ranked)
    if unranked:
        text += f"；另有{unranked}个{what}案件数未达到最低样本量，只列数据、不排名"
    return text + "。"


def requirements(data: NoticeData) -> list[str]:
    """The closing demands of the notice."""
    out = [
        "各镇、各责任单位要对照通报问题，举一反三，立即整改；"
        "对超期未办结的问题，须在收到本通报后3个工作日内整改到位，并将整改情况报县网格化管理办公室。",
    ]
    greys = [r.name for r in (*data.towns, *data.grids) if r.flag == "grey"]
    if greys:
        out.append(f"对获得流动灰旗的{'、'.join(greys)}，由县指挥部约谈主要负责人，限期提升工作质效。")
    out.append("县指挥部办公室将持续开展实地测评和跟踪督办，测评结果按月通报，并纳入年度考核。")
    return out


def table_header(data: NoticeData) -> list[str]:
    return ["排名", "名称", *[label for _key, label, _kind in data.columns], "得分", "等级", "流动旗"]


def table_cells(data: NoticeData, row: RankRow) -> list[str]:
    figures = [format_figure(row.figures.get(key), kind) for key, _label, kind in data.columns]
    return [
        str(row.rank) if row.rank is not None else "—",
        row.name,
        *figures,
        format_figure(row.score, "score"),
        row.grade or "—",
        FLAG_LABELS.get(row.flag or "", ""),
    ]


def rectification_text(data: NoticeData, unit: UnitOverdue) -> list[str]:
    """The body of a unit's 整改通知书 (the case table follows it)."""
    return [
        f"经县网格化管理平台核查，截至{date_text(data.issued_on)}，你单位负责办理的以下"
        f"{len(unit.cases)}件问题已超过处置期限仍未办结。",
        "请你单位高度重视，立即组织整改，于收到本通知书后3个工作日内整改到位，"
        "并通过平台反馈整改结果和整改后照片；确有困难的，请书面说明原因及计划完成时间。"
        "逾期未整改的，将在下月通报中予以通报批评。",
    ]


OVERDUE_HEADER = ["序号", "受理编号", "问题类别", "地点", "处置期限", "超期天数"]


NOTICE_OVERDUE_ROWS = 10  # the notice lists a unit's longest-overdue cases; its 整改通知书 lists all


def overdue_rows(unit: UnitOverdue, *, limit: int | None = None) -> list[list[str]]:
    """The rows of a unit's overdue table (longest overdue first, at most ``limit``)."""
    return [
        [str(i), c.tracking_no, c.category, c.place, deadline_text(c.deadline), str(c.days_overdue)]
        for i, c in enumerate(unit.cases[:limit], start=1)
    ]


def overdue_more(unit: UnitOverdue, *, limit: int = NOTICE_OVERDUE_ROWS) -> str | None:
    """The line under a shortened table: how many more cases the 整改通知书 lists."""
    more = len(unit.cases) - limit
    return f"另有{more}件，详见对{unit.unit_name}的整改通知书。" if more > 0 else None


def rectification_number(data: NoticeData, index: int) -> str:
    """The number of the index-th (0-based) 整改通知书 of the month, e.g. 整改〔2026〕11-1号."""
    year, mon = data.month.split("-")
    return f"整改〔{year}〕{int(mon)}-{index + 1}号"


def typical_line(problem: TypicalProblem, index: int) -> str:
    line = (
        f"（{index}）{problem.category}：{problem.place}（受理编号 {problem.tracking_no}）。"
        f"责任单位：{problem.unit}；处置期限：{deadline_text(problem.deadline)}。"
    )
    if problem.description:
        line += f"问题描述：{problem.description}"
    return line
