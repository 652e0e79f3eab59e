"""Monthly written notices (书面通报) and units' 整改通知书, as Word (.docx) and PDF documents."""

from __future__ import annotations

from gridmap.notice.data import (
    NoticeData,
    OverdueCase,
    RankRow,
    TypicalProblem,
    UnitOverdue,
    default_number,
    parse_month,
)
from gridmap.notice.docx import notice_docx, rectification_docx
from gridmap.notice.pdf import notice_pdf, rectification_pdf

__all__ = [
    "NoticeData",
    "OverdueCase",
    "RankRow",
    "TypicalProblem",
    "UnitOverdue",
    "default_number",
    "notice_docx",
    "notice_pdf",
    "parse_month",
    "rectification_docx",
    "rectification_pdf",
]
