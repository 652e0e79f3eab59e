"""Laying out and drawing a printed page: title, map, legend, table and footer in their boxes."""

from __future__ import annotations

import threading

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gridmap.printmap import fonts
from gridmap.printmap.content import PageContent
from gridmap.printmap.draw import PT_PER_MM
from gridmap.printmap.layers import draw_map, palettes
from gridmap.printmap.legend import Legend, draw_legend
from gridmap.printmap.output import rc_params, save_figure
from gridmap.printmap.overlays import Overlay
from gridmap.printmap.page import PageOptions
from gridmap.printmap.panels import Footer, draw_footer, draw_table, draw_title
from gridmap.responsibility import ResponsibilityModel

__all__ = ["draw_page", "render_page"]

# matplotlib's font cache and text layout are not thread-safe: one page at a time per process.
_LOCK = threading.Lock()


def _frames(options: PageOptions) -> tuple[float, dict[str, tuple[float, float, float, float]]]:
    """Scale factor against A4 and the page's boxes (x, y, w, h) in mm from the lower left."""
    width, height = options.size_mm
    s = min(width, height) / 210.0
    m = 10 * s
    if not options.landscape:
        boxes = {
            "title": (m, height - m - 17 * s, width - 2 * m, 17 * s),
            "map": (m, 136 * s, width - 2 * m, height - m - 19 * s - 136 * s),
            "legend": (m, 79 * s, width - 2 * m, 55 * s),  # at most; 30 mm preferred
            "table": (m, 18.5 * s, width - 2 * m, 83.5 * s),
            "footer": (m, m, width - 2 * m, 5 * s),
        }
    else:
        right = 98 * s
        map_w = width - 2 * m - right - 4 * s
        top = height - m - 19 * s
        boxes = {
            "title": (m, height - m - 17 * s, width - 2 * m, 17 * s),
            "map": (m, 17 * s, map_w, top - 17 * s),
            "legend": (width - m - right, top - 95 * s, right, 95 * s),  # at most; 48 preferred
            "table": (width - m - right, 18.5 * s, right, top - 73 * s - 18.5 * s),  # top: see legend
            "footer": (m, m, width - 2 * m, 5 * s),
        }
    return s, boxes


def _axes(fig: Figure, box, size_mm) -> Axes:
    x, y, w, h = box
    W, H = size_mm
    ax = fig.add_axes((x / W, y / H, w / W, h / H))
    ax.set_axis_off()
    return ax


def _points_axes(fig: Figure, box, size_mm) -> Axes:
    """Axes whose data units are typographic points, origin at the top left, y downwards."""
    ax = _axes(fig, box, size_mm)
    ax.set_xlim(0, box[2] * PT_PER_MM)
    ax.set_ylim(box[3] * PT_PER_MM, 0)
    return ax


def draw_page(
    model: ResponsibilityModel,
    content: PageContent,
    *,
    options: PageOptions,
    overlays: list[Overlay] | tuple = (),
    footer: Footer = Footer(),
) -> Figure:
    """Build the matplotlib Figure of a page (no file written)."""
    family = fonts.register()
    s, boxes = _frames(options)
    size_mm = options.size_mm
    with matplotlib.rc_context(rc_params(family)):
        fig = Figure(figsize=options.figsize, dpi=options.dpi, facecolor="white")
        FigureCanvasAgg(fig)
        legend = Legend()
        ax_map = _axes(fig, boxes["map"], size_mm)
        denominator = draw_map(
            ax_map, model, content, list(overlays), box_mm=boxes["map"], s=s, legend=legend
        )
        draw_title(fig, content, box_mm=boxes["title"], size_mm=size_mm, s=s)
        used = draw_legend(
            _points_axes(fig, boxes["legend"], size_mm),
            legend,
            box_mm=boxes["legend"],
            preferred_mm=(48 if options.landscape else 30) * s,
            s=s,
        )
        _lx, ly, _lw, lh = boxes["legend"]
        tx, ty, tw, _th = boxes["table"]
        top = ly + lh - used - 3.5 * s  # the table starts right under the legend
        boxes["table"] = (tx, ty, tw, top - ty)
        _, colours = palettes(model, content)
        draw_table(
            _points_axes(fig, boxes["table"], size_mm),
            content.table,
            content.facts,
            box_mm=boxes["table"],
            s=s,
            colours=colours,
        )
        draw_footer(
            fig,
            footer,
            local_crs=model.local_crs,
            denominator=denominator,
            box_mm=boxes["footer"],
            size_mm=size_mm,
            s=s,
        )
    return fig


def render_page(
    model: ResponsibilityModel,
    content: PageContent,
    *,
    options: PageOptions,
    overlays: list[Overlay] | tuple = (),
    footer: Footer = Footer(),
) -> bytes:
    """Draw a page and write it in the chosen format; return the file's bytes."""
    with _LOCK:
        fig = draw_page(model, content, options=options, overlays=overlays, footer=footer)
        return save_figure(fig, options, title=content.title)
