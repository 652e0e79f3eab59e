"""Writing a page: matplotlib settings of every page, PNG/PDF/SVG bytes with their metadata."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, PngImagePlugin

from gridmap.printmap import fonts
from gridmap.printmap.page import PageOptions

__all__ = ["rc_params", "save_figure"]


def rc_params(family: str | None = None) -> dict:
    """matplotlib settings of every page: our font, TrueType in PDF, outlines in SVG."""
    family = family or fonts.register()
    return {
        "font.family": [family],
        "font.size": 8.0,
        "pdf.fonttype": 42,  # TrueType (Type 42) embedding: text stays text, selectable
        "ps.fonttype": 42,
        "svg.fonttype": "path",  # SVG text as outlines: looks the same without the font installed
        "axes.unicode_minus": True,  # the font has U+2212
        "path.simplify": True,
        "text.hinting": "none",  # unhinted advances: the stroke copy under a text lines up
        "pdf.compression": 6,
    }


def save_figure(fig: Figure, options: PageOptions, *, title: str) -> bytes:
    """Write a Figure as PNG (dpi in the file), PDF (fonts embedded) or SVG; return the bytes."""
    buf = io.BytesIO()
    meta = {"Title": title}
    if options.fmt == "png":
        canvas = fig.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            msg = "a PNG page needs a figure drawn on an Agg canvas (FigureCanvasAgg(fig))"
            raise TypeError(msg)
        with matplotlib.rc_context(rc_params()):
            canvas.draw()
        rgb = np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[:, :, :3])
        info = PngImagePlugin.PngInfo()
        info.add_itxt("Title", title)
        info.add_text("Software", "gridmap")
        Image.fromarray(rgb).save(
            buf, format="png", dpi=(options.dpi, options.dpi), compress_level=1, pnginfo=info
        )
        return buf.getvalue()
    if options.fmt == "pdf":
        meta.update({"Author": "网格责任地图 gridmap", "Creator": "gridmap", "Subject": "网格责任图"})
    else:
        meta.update({"Creator": "gridmap"})
    with matplotlib.rc_context(rc_params()):
        fig.savefig(buf, format=options.fmt, dpi=options.dpi, metadata=meta, facecolor="white")
    return buf.getvalue()
