"""The indicators of grid work, each defined once: key, names, numerator, denominator, definition."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COUNTS", "INDICATORS", "PERIOD_RULE", "Count", "Indicator", "indicator"]

# How a case that spans months is counted: every indicator of a month looks at the cases reported
# in it, and at what had happened to them by the end of that month (or by now, for this month).
PERIOD_RULE = (
    "统计口径：按上报时间归月，即某月的指标只统计该月（北京时间）上报的案件；"
    "各环节以月末（本月则以统计时刻）为截止时点判断是否已办、是否超期。"
    "跨月办结的案件计入上报月份，其月末尚未办结的状态在之后重新统计时随之更新。"
)


@dataclass(frozen=True)
class Count:
    """A count of cases (or of events) per group, the raw stuff of the rates."""

    key: str
    zh: str
    definition: str


@dataclass(frozen=True)
class Indicator:
    """A rate: ``numerator / denominator`` (two count keys), a fraction from 0 to 1.

    ``higher_is_better`` is False for rates a unit wants low (rework, extension, overdue, citizen
    share): a score uses ``1 - rate`` for them.
    """

    key: str
    zh: str
    en: str
    numerator: str
    denominator: str
    definition: str
    higher_is_better: bool = True


_PARKED = "挂账（缓办）案件不计入分母。"

COUNTS: tuple[Count, ...] = (
    Count("reports", "上报数", "该月上报的案件数（含不予立案、被合并的）。"),
    Count("citizen_reports", "市民举报数", "来源为市民随手拍的上报数。"),
    Count("filed", "立案数", "已立案的案件数：经立案、核实属实或直接派遣。"),
    Count("citizen_filed", "市民举报立案数", "来源为市民随手拍的立案数。"),
    Count("filed_valid", "有效立案数", "立案数减去立案后又不予立案（作废）的案件数。"),
    Count("filed_on_time", "按时立案数", "自上报起在立案时限（评分方案 filing_hours 小时）内立案的案件数。"),
    Count("verifications_due", "应核实数", "派核实且已回复或核实期限已过的案件数。"),
    Count("verified_on_time", "按时核实数", "在核实期限内回复（属实或不实）的案件数。"),
    Count("checks_due", "应核查数", "已整改、且已核查或核查时限（check_hours 小时）已过的案件数。" + _PARKED),
    Count("checked_on_time", "按时核查数", "最后一次整改反馈后在核查时限内核查（通过或返工）的案件数。"),
    Count(
        "due_dispatch",
        "应派遣数",
        "有效立案、且已派遣或派遣时限（dispatch_hours 小时）已过的案件数。" + _PARKED,
    ),
    Count("dispatched", "派遣数", "应派遣案件中已派遣（交办）的案件数。"),
    Count("dispatched_on_time", "按时派遣数", "自立案起在派遣时限内派遣的案件数。"),
    Count("dispatched_accurately", "准确派遣数", "应派遣数减去被回退或重新派遣的案件数。"),
    Count("due_handling", "应处置数", "有效立案案件中已整改反馈或已超过处置期限的案件数。" + _PARKED),
    Count("handled", "处置数", "应处置案件中已整改反馈的案件数。"),
    Count("handled_on_time", "按期处置数", "最后一次整改反馈不晚于处置期限（含批准的延期）的案件数。"),
    Count("due_closure", "应结案数", "处置数加超期未处置数（与应处置数相同）。" + _PARKED),
    Count("closed", "结案数", "应结案案件中已结案的案件数。"),
    Count("closed_on_time", "按期结案数", "结案时间不晚于处置期限的案件数。"),
    Count("reworks", "返工次数", "应结案案件的返工（核查不通过）次数合计。"),
    Count("reworked", "返工案件数", "应结案案件中至少返工一次的案件数。"),
    Count("extensions", "延期次数", "应处置案件的延期次数合计（创建办延期或批准的延期申请）。"),
    Count("extended", "延期案件数", "应处置案件中至少延期一次的案件数。"),
    Count("overdue_pending", "超期未处置数", "有效立案、未挂账、截止时点已过处置期限仍未整改反馈的案件数。"),
    Count("parked", "挂账数", "截止时点前曾挂账（缓办）的案件数。"),
    Count("followups", "回访数", "已回访（有满意度评价）的案件数。"),
    Count("satisfied", "满意数", "回访评价为满意的案件数。"),
    Count("criteria_passed", "测评合格项（加权）", "实地测评中合格的检查项权重之和。"),
    Count("criteria_assessed", "测评检查项（加权）", "实地测评中检查的（不含不适用）检查项权重之和。"),
)

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "valid_report_rate", "有效上报率", "valid-report rate", "filed", "reports", "立案数 ÷ 上报数。"
    ),
    Indicator(
        "on_time_verification_rate",
        "按时核实率",
        "on-time verification rate",
        "verified_on_time",
        "verifications_due",
        "按时核实数 ÷ 应核实数；核实期限为派核实时按工作时间计算的期限。",
    ),
    Indicator(
        "on_time_check_rate",
        "按时核查率",
        "on-time check rate",
        "checked_on_time",
        "checks_due",
        "按时核查数 ÷ 应核查数。" + _PARKED,
    ),
    Indicator(
        "on_time_filing_rate",
        "按时立案率",
        "on-time filing rate",
        "filed_on_time",
        "filed",
        "按时立案数 ÷ 立案数。",
    ),
    Indicator(
        "accurate_filing_rate",
        "准确立案率",
        "accurate filing rate",
        "filed_valid",
        "filed",
        "（立案数 − 作废数）÷ 立案数；作废指立案后又不予立案。",
    ),
    Indicator(
        "on_time_dispatch_rate",
        "按时派遣率",
        "on-time dispatch rate",
        "dispatched_on_time",
        "due_dispatch",
        "按时派遣数 ÷ 应派遣数。" + _PARKED,
    ),
    Indicator(
        "accurate_dispatch_rate",
        "准确派遣率",
        "accurate dispatch rate",
        "dispatched_accurately",
        "due_dispatch",
        "（应派遣数 − 回退或重新派遣数）÷ 应派遣数。" + _PARKED,
    ),
    Indicator(
        "handling_rate", "处置率", "handling rate", "handled", "due_handling", "处置数 ÷ 应处置数。" + _PARKED
    ),
    Indicator(
        "on_time_handling_rate",
        "按期处置率",
        "on-time handling rate",
        "handled_on_time",
        "due_handling",
        "按期处置数 ÷ 应处置数；期限为处置期限（含批准的延期，重新派遣或恢复办理后重新起算）。" + _PARKED,
    ),
    Indicator(
        "closure_rate",
        "结案率",
        "closure rate",
        "closed",
        "due_closure",
        "结案数 ÷ 应结案数，应结案数 = 处置数 + 超期未处置数。" + _PARKED,
    ),
    Indicator(
        "on_time_closure_rate",
        "按期结案率",
        "on-time closure rate",
        "closed_on_time",
        "due_closure",
        "按期结案数 ÷ 应结案数。" + _PARKED,
    ),
    Indicator(
        "rework_rate",
        "返工率",
        "rework rate",
        "reworked",
        "due_closure",
        "返工案件数 ÷ 应结案数（越低越好）。" + _PARKED,
        higher_is_better=False,
    ),
    Indicator(
        "extension_rate",
        "延期率",
        "extension rate",
        "extended",
        "due_handling",
        "延期案件数 ÷ 应处置数（越低越好）。" + _PARKED,
        higher_is_better=False,
    ),
    Indicator(
        "overdue_pending_rate",
        "超期待处置率",
        "overdue-pending rate",
        "overdue_pending",
        "due_handling",
        "超期未处置数 ÷ 应处置数（越低越好）。" + _PARKED,
        higher_is_better=False,
    ),
    Indicator(
        "citizen_share",
        "监督举报率",
        "citizen share",
        "citizen_filed",
        "filed",
        "市民举报立案数 ÷ 立案数（越低越好：问题应先由巡查发现）。",
        higher_is_better=False,
    ),
    Indicator(
        "checklist_pass_rate",
        "测评合格率",
        "checklist pass rate",
        "criteria_passed",
        "criteria_assessed",
        "实地测评合格检查项权重 ÷ 检查项权重（不含不适用项）。",
    ),
    Indicator("satisfaction", "满意率", "satisfaction", "satisfied", "followups", "满意数 ÷ 回访数。"),
)

_BY_KEY = {i.key: i for i in INDICATORS}


def indicator(key: str) -> Indicator:
    """The indicator with this key; KeyError if there is none."""
    return _BY_KEY[key]
