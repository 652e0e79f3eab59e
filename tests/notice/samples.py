"""A hand-made month of figures for the notice writers: towns and grids in rank order, flags,
typical problems with photos, overdue cases of two units."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image

from gridmap.notice import NoticeData, OverdueCase, RankRow, TypicalProblem, UnitOverdue


def jpeg(color: str = "red", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def png(color: str = "white", size: tuple[int, int] = (120, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def row(code, name, rank, score, flag, cases, closed, closure, on_time, overdue, grade="B") -> RankRow:
    figures = {
        "cases": cases,
        "closed": closed,
        "closure_rate": closure,
        "on_time_closure_rate": on_time,
        "overdue": overdue,
    }
    return RankRow(code=code, name=name, rank=rank, score=score, grade=grade, flag=flag, figures=figures)


TOWNS = (
    row("T02", "凤州镇", 1, 93.25, "red", 40, 38, 0.95, 0.9, 0, grade="A"),
    row("T01", "双石铺镇", 2, 81.0, None, 55, 44, 0.8, 0.7, 3),
    row("T03", "红花铺镇", 3, 52.5, "grey", 20, 10, 0.5, 0.4, 6, grade="D"),
    row("T04", "唐藏镇", None, None, None, 3, 3, None, None, 0, grade=None),
)
GRIDS = (
    row("G07", "凤州镇第二网格", 1, 96.4, "red", 18, 18, 1.0, 0.9444, 0, grade="A"),
    row("G01", "双石铺镇第一网格", 2, 88.0, None, 25, 22, 0.88, 0.8, 1),
    row("G03", "双石铺镇第三网格", 3, 70.25, None, 30, 22, 0.7333, 0.6, 2, grade="C"),
    row("G11", "红花铺镇第一网格", 4, 41.0, "grey", 12, 5, 0.4167, 0.25, 6, grade="D"),
)


def sample_notice(**changes) -> NoticeData:
    values = {
        "month": "2026-11",
        "number": "〔2026〕11号",
        "issuer": "凤县创建全国文明城市工作指挥部办公室",
        "issued_on": dt.date(2026, 12, 2),
        "towns": TOWNS,
        "grids": GRIDS,
        "totals": {
            "reported": 118,
            "filed": 110,
            "closed": 95,
            "closure_rate": 95 / 118,
            "overdue": 9,
            "citizen": 31,
        },
        "typical": (
            TypicalProblem(
                tracking_no="20261105-0003",
                category="占道经营",
                place="双石铺镇凤州路与滨河路交叉口",
                unit="县城市管理执法局",
                deadline=dt.datetime(2026, 11, 6, 10, 0),
                status="dispatched",
                description="流动摊贩占道经营",
                photo=jpeg("red"),
            ),
            TypicalProblem(
                tracking_no="20261112-0021",
                category="垃圾暴露",
                place="红花铺镇农贸市场东侧",
                unit="红花铺镇人民政府",
                deadline=dt.datetime(2026, 11, 13, 9, 0),
                status="closed",
                photo=b"not an image",
            ),
        ),
        "overdue": (
            UnitOverdue(
                unit_code="U01",
                unit_name="县城市管理执法局",
                cases=(
                    OverdueCase(
                        "20261105-0003", "占道经营", "凤州路与滨河路交叉口", dt.datetime(2026, 11, 6, 10), 24
                    ),
                ),
            ),
            UnitOverdue(
                unit_code="U09",
                unit_name="红花铺镇人民政府",
                cases=(
                    OverdueCase(
                        "20261120-0007", "道路破损", "红花铺镇街道中段", dt.datetime(2026, 11, 21, 9), 9
                    ),
                    OverdueCase(
                        "20261122-0002", "绿化损坏", "红花铺镇政府门前", dt.datetime(2026, 11, 23, 9), 7
                    ),
                ),
            ),
        ),
        "map_png": png(),
        "method": "综合得分按县评分方案计算",
    }
    values.update(changes)
    return NoticeData(**values)
