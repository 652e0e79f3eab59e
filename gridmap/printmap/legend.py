"""The legend of a printed map: sections of swatches and labels, fitted to its box."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from gridmap.printmap import text as tm
from gridmap.printmap.draw import PT_PER_MM, put

__all__ = ["Legend", "draw_legend", "swatch"]


@dataclass
class Legend:
    """Sections of (swatch spec, label) entries, in the order they are shown."""

    sections: list[tuple[str, list[tuple[dict, str]]]] = field(default_factory=list)

    def add(self, heading: str, entries: list[tuple[dict, str]]) -> None:
        if entries:
            self.sections.append((heading, entries))


def swatch(ax: Axes, spec: dict, x: float, y: float, w: float, h: float) -> None:
    kind = spec["kind"]
    if kind == "line":
        ax.add_artist(
            Line2D(
                [x, x + w],
                [y, y],
                color=spec["color"],
                linewidth=spec.get("width", 2.0),
                linestyle=spec.get("style", "-"),
                solid_capstyle="butt",
            )
        )
    elif kind == "fill":
        ax.add_artist(
            Rectangle(
                (x, y - h / 2),
                w,
                h,
                facecolor=spec["color"],
                edgecolor=spec.get("edge", "none"),
                linewidth=spec.get("lw", 0.5),
            )
        )
    elif kind == "marker":
        ax.add_artist(
            Line2D(
                [x + w / 2],
                [y],
                marker=spec["marker"],
                markersize=h * 1.05,
                color=spec["color"],
                markeredgecolor="white",
                markeredgewidth=0.5,
                linestyle="none",
            )
        )
    elif kind == "numbered":
        ax.add_artist(
            Line2D(
                [x + w / 2],
                [y],
                marker="o",
                markersize=h * 1.3,
                color=spec["color"],
                markeredgecolor="white",
                markeredgewidth=0.5,
                linestyle="none",
            )
        )
        put(ax, x + w / 2, y, "1", ha="center", va="center", color="white", fontsize=h * 0.8)


def draw_legend(ax: Axes, legend: Legend, *, box_mm, preferred_mm: float, s: float) -> float:
    """Draw the legend from the top of its box; return the height used in mm. The type shrinks
    from 7 pt until the legend fits the preferred height; a long legend (many units, categories,
    overlays) then grows towards the whole box at a still readable 5.5 pt before shrinking more."""
    width = box_mm[2] * PT_PER_MM
    height = box_mm[3] * PT_PER_MM
    sections = [(h, e) for h, e in legend.sections if e]
    if not sections:
        return 0.0
    all_texts = [t for _, entries in sections for _, t in entries]
    for size in np.arange(7.0 * s, 4.4 * s, -0.25 * s):
        sw = 2.4 * size
        gap = 1.2 * size
        colw = sw + gap + max(tm.width(t, size) for t in all_texts) + 1.6 * size
        ncol = max(1, min(int(width // colw), 8))
        row = size * 1.5
        rows = sum(1 + math.ceil(len(e) / ncol) for _, e in sections)
        need = rows * row
        if need <= preferred_mm * PT_PER_MM or (size <= 5.5 * s and need <= height):
            break
        if size - 0.25 * s < 4.4 * s:
            break
    colw = width / ncol
    y = row * 0.6
    for heading, entries in sections:
        if y > height:
            break
        put(ax, 0, y, heading, ha="left", va="center", fontsize=size * 1.05, color="#111", bold=0.25)
        y += row
        for i, (spec, label) in enumerate(entries):
            col = i % ncol
            if col == 0 and i:
                y += row
            if y > height - row * 0.3:
                break
            x = col * colw
            swatch(ax, spec, x, y, sw, size * 0.8)
            put(
                ax,
                x + sw + gap,
                y,
                tm.fit_line(label, colw - sw - gap - 2, size),
                ha="left",
                va="center",
                fontsize=size,
                color="#222",
            )
        y += row
    return min(y - row * 0.3, height) / PT_PER_MM
