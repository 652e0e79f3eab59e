"""The panels around a printed map: the responsibility table, the title and the footer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from gridmap import clock
from gridmap.printmap import furniture
from gridmap.printmap import text as tm
from gridmap.printmap.content import PageContent, Table
from gridmap.printmap.draw import PT_PER_MM, put

__all__ = ["Footer", "draw_footer", "draw_table", "draw_title"]


@dataclass(frozen=True)
class Footer:
    """What the foot of the page says: map date (China Standard Time) and the data source."""

    today: dt.date | None = None
    source: str = ""
    extra: str = ""


def _table_layout(table: Table, facts, width: float, size: float, colours: dict[str, str]):
    """Lines of every fact and cell at a font size, and the heights they take (points)."""
    line = size * tm.LINE_HEIGHT
    pad = size * 0.45
    fact_lines = []
    for label, value in facts:
        lw = tm.width(label + "：", size)
        fact_lines.append((label, lw, tm.wrap(value, width - lw, size)))
    facts_h = sum(len(v) for _, _, v in fact_lines) * line + (size * 0.6 if fact_lines else 0)
    has_swatch = any(colours.get(c) for c in table.swatches if c)
    swatch_w = size * 2.2 if has_swatch else 0.0
    total = sum(w for _, w in table.columns)
    widths = [w / total * width for _, w in table.columns]
    header = [
        tm.wrap(h, widths[i] - 2 * pad - (swatch_w if i == 0 else 0), size)
        for i, (h, _) in enumerate(table.columns)
    ]
    header_h = max(len(h) for h in header) * line + 2 * pad
    rows = []
    for r in table.rows:
        cells = [
            tm.wrap(str(v), widths[i] - 2 * pad - (swatch_w if i == 0 else 0), size) for i, v in enumerate(r)
        ]
        rows.append((cells, max(len(c) for c in cells) * line + 2 * pad))
    title_h = size * 1.15 * tm.LINE_HEIGHT + size * 0.3
    return fact_lines, facts_h, widths, header, header_h, rows, title_h, pad, line, swatch_w


def draw_table(ax: Axes, table: Table, facts, *, box_mm, s: float, colours: dict[str, str]) -> None:
    width = box_mm[2] * PT_PER_MM
    height = box_mm[3] * PT_PER_MM
    min_size = 4.6 * s
    size = 7.6 * s
    while True:
        layout = _table_layout(table, facts, width, size, colours)
        fact_lines, facts_h, widths, header, header_h, rows, title_h, pad, line, swatch_w = layout
        need = facts_h + title_h + header_h + sum(h for _, h in rows)
        if need <= height or size <= min_size:
            break
        size = max(min_size, size - 0.2 * s)
    y = 0.0
    for label, lw, values in fact_lines:
        put(ax, 0, y, label + "：", ha="left", va="top", fontsize=size, color="#8a1010", bold=0.2)
        for text_line in values:
            put(ax, lw, y, text_line, ha="left", va="top", fontsize=size, color="#111")
            y += line
    if fact_lines:
        y += size * 0.6
    put(ax, 0, y, table.title, ha="left", va="top", fontsize=size * 1.15, color="#111", bold=0.25)
    y += title_h
    xs = np.concatenate([[0.0], np.cumsum(widths)])

    def draw_row(cells, h, fill, top, swatch=None, colour="#111"):
        ax.add_artist(Rectangle((0, top), width, h, facecolor=fill, edgecolor="#9a9a9a", linewidth=0.4))
        for i, lines in enumerate(cells):
            x = xs[i] + pad + (swatch_w if i == 0 else 0)
            for j, text_line in enumerate(lines):
                put(ax, x, top + pad + j * line, text_line, ha="left", va="top", fontsize=size, color=colour)
        for xv in xs[1:-1]:
            ax.add_artist(Line2D([xv, xv], [top, top + h], color="#9a9a9a", linewidth=0.4))
        if swatch:
            ax.add_artist(
                Line2D(
                    [pad, pad + swatch_w * 0.75],
                    [top + pad + line * 0.45] * 2,
                    color=swatch,
                    linewidth=2.2 * s,
                    solid_capstyle="butt",
                )
            )

    draw_row(header, header_h, "#e8e8e4", y)
    y += header_h
    if not rows:
        empty = [["（无）"] + [""] * (len(widths) - 1)]
        draw_row(empty, line + 2 * pad, "white", y)
    swatches = table.swatches + [None] * (len(rows) - len(table.swatches))
    left_out = 0
    for k, ((cells, h), code) in enumerate(zip(rows, swatches)):
        more = len(rows) - k - 1
        if y + h > height - (line + 2 * pad if more else 0):
            left_out = len(rows) - k
            break
        draw_row(cells, h, "white" if k % 2 == 0 else "#f6f6f3", y, colours.get(code) if code else None)
        y += h
    if left_out:
        note = f"……另有 {left_out} 项未能列出，完整名单请见网页或数据导出（XLSX）"
        put(ax, pad, y + pad, note, ha="left", va="top", fontsize=size, color="#8a1010")


def draw_title(fig: Figure, content: PageContent, *, box_mm, size_mm, s: float) -> None:
    x, y, w, h = box_mm
    W, H = size_mm
    cx = (x + w / 2) / W
    size = 19 * s
    room = w * PT_PER_MM * 0.98
    if tm.width(content.title, size) > room:  # a long chain (镇 › 村 › 组…): smaller, never cut
        size = max(9 * s, size * room / tm.width(content.title, size))
    put(
        fig,
        cx,
        (y + h) / H,
        content.title,
        ha="center",
        va="top",
        fontsize=size,
        color="#111",
        bold=0.7 * s,
    )
    put(
        fig, cx, (y + 1.2 * s) / H, content.subtitle, ha="center", va="bottom", fontsize=7.6 * s, color="#444"
    )
    fig.add_artist(Line2D([x / W, (x + w) / W], [y / H, y / H], color="#c51b1b", linewidth=1.2 * s))


def draw_footer(
    fig: Figure, footer: Footer, *, local_crs: str, denominator: int, box_mm, size_mm, s: float
) -> None:
    x, y, w, h = box_mm
    W, H = size_mm
    today = footer.today or clock.today()
    left = f"制图日期：{today.year}年{today.month}月{today.day}日（北京时间）"
    if footer.source:
        left += f"　数据来源：{footer.source}"
    if footer.extra:
        left += f"　{footer.extra}"
    right = (
        f"坐标系：CGCS2000 高斯-克吕格 3 度带（{local_crs}）　比例尺 {furniture.format_scale(denominator)}"
        "\n网格责任地图 gridmap"
    )
    size = 6.0 * s
    right_w = max(tm.width(line, size) for line in right.split("\n"))
    room = w * PT_PER_MM - right_w - 14 * s
    lines = tm.wrap(left, room, size)[:2]
    put(
        fig,
        x / W,
        (y + h) / H,
        "\n".join(lines),
        ha="left",
        va="top",
        fontsize=size,
        color="#333",
        linespacing=1.35,
    )
    put(
        fig,
        (x + w) / W,
        (y + h) / H,
        right,
        ha="right",
        va="top",
        fontsize=size,
        color="#333",
        linespacing=1.35,
        multialignment="right",
    )
    fig.add_artist(Line2D([x / W, (x + w) / W], [(y + h + 1.2 * s) / H] * 2, color="#bbbbbb", linewidth=0.5))
