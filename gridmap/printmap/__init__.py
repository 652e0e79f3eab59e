"""Print-quality responsibility maps (PNG, PDF, SVG on A4/A3) and the county atlas, drawn with
matplotlib Agg and a CJK font that comes with the requirements."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg", force=False)  # headless; the OO API below never opens a window

from gridmap import clock
from gridmap.errors import Forbidden
from gridmap.printmap import fonts
from gridmap.printmap.atlas import render_atlas
from gridmap.printmap.cache import PrintCache, cached
from gridmap.printmap.overlays import Overlay, problem_overlay, route_overlays
from gridmap.printmap.page import (
    DPI_RANGE,
    FORMATS,
    PAPERS,
    PageOptions,
    page_options,
)
from gridmap.printmap.panels import Footer
from gridmap.printmap.render import draw_page, render_page
from gridmap.printmap.subjects import KINDS, PageContent, page_content
from gridmap.responsibility import ResponsibilityModel

__all__ = [
    "DPI_RANGE",
    "FORMATS",
    "KINDS",
    "PAPERS",
    "Footer",
    "Overlay",
    "PageContent",
    "PageOptions",
    "PrintCache",
    "Rendered",
    "cached",
    "draw_page",
    "export_map",
    "fonts",
    "page_content",
    "page_options",
    "problem_overlay",
    "render_atlas",
    "render_map",
    "render_page",
    "route_overlays",
    "source_note",
]

_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


@dataclass(frozen=True)
class Rendered:
    """A rendered page: the file's bytes, its MIME type and a suggested (Chinese) file name."""

    data: bytes
    mimetype: str
    filename: str
    title: str
    ascii_filename: str = "map"  # for clients that cannot read a UTF-8 file name


def render_map(
    model: ResponsibilityModel,
    *,
    kind: str,
    code: str | None = None,
    fmt: object = "png",
    paper: object = "A4",
    landscape: object = False,
    dpi: object = 300,
    overlays: list[Overlay] | tuple = (),
    today: dt.date | None = None,
    source: str = "",
) -> Rendered:
    """Render the responsibility map of a grid, town, unit, leader or the county.

    Parameters
    ----------
    model : ResponsibilityModel
    kind : str
        "grid", "town", "unit", "leader" or "county".
    code : str, optional
        The grid, town, unit or leader code (not for the county).
    fmt, paper, landscape, dpi
        Page options, validated by `page_options` (InvalidInput on bad values).
    overlays : list of Overlay
        Optional layers: problems by status, a patrol route with numbered stops, …
    today : date, optional
        The map date printed in the footer (default: today in Asia/Shanghai).
    source : str
        The data source printed in the footer.

    Returns
    -------
    Rendered

    Raises
    ------
    InvalidInput
        Unknown format, paper, kind, or dpi outside 72–600.
    NotFound
        Unknown code.
    """
    options = page_options(fmt=fmt, paper=paper, landscape=landscape, dpi=dpi)
    content = page_content(model, kind, code)
    data = render_page(
        model, content, options=options, overlays=overlays, footer=Footer(today=today, source=source)
    )
    stem = _UNSAFE.sub("_", content.stem)
    filename = f"{stem}_{options.paper}{'横向' if options.landscape else ''}.{options.fmt}"
    ascii_stem = re.sub(r"[^A-Za-z0-9_-]+", "_", f"{kind}_{code}" if code else kind)
    ascii_name = f"{ascii_stem}_{options.paper}{'_landscape' if options.landscape else ''}.{options.fmt}"
    return Rendered(
        data=data,
        mimetype=options.mimetype,
        filename=filename,
        title=content.title,
        ascii_filename=ascii_name,
    )


def source_note(store) -> str:
    """The footer's data source line from the store's metadata (source, load time, version)."""
    source = (store.get_meta("data_source") or "").rstrip("/")
    name = source.rsplit("/", 1)[-1] if source else "本系统数据库"
    loaded = store.get_meta("data_loaded_at")
    text = f"网格责任数据“{name}”"
    if loaded:
        try:
            when = clock.china(dt.datetime.fromisoformat(loaded))
            text += f"，{when.year}年{when.month}月{when.day}日导入"
        except ValueError:
            pass
    return text + f"（数据版本 {store.data_version()}）"


def export_map(
    cache,
    *,
    kind: str,
    code: str | None = None,
    fmt: object = "png",
    paper: object = "A4",
    landscape: object = False,
    dpi: object = 300,
    overlays: list[Overlay] | tuple = (),
    max_dpi: int | None = None,
    pages: PrintCache | None = None,
) -> Rendered:
    """Render a map from the store's current data (a ReferenceCache), with its source note.

    ``max_dpi`` caps the resolution (Forbidden above it: the limit for visitors who are not
    logged in). ``pages`` keeps rendered pages per data version, date and page options; a page
    with overlays is always drawn afresh. Rendering takes one of the process's heavy-work slots
    (ServiceBusy when none frees in time).
    """
    from gridmap import __version__
    from gridmap.serving import run_heavy

    options = page_options(fmt=fmt, paper=paper, landscape=landscape, dpi=dpi)  # fail fast
    if max_dpi is not None and options.dpi > max_dpi:
        msg = (
            f"未登录时打印版地图的分辨率最高 {max_dpi} dpi（本次请求 {options.dpi} dpi）；"
            f"请选择 {max_dpi} dpi 或更低，或登录后导出（最高 {DPI_RANGE[1]} dpi）"
        )
        raise Forbidden(msg)
    model = cache.model()
    source = source_note(cache.store)
    today = clock.today()

    def make() -> tuple[dict, bytes]:
        rendered = run_heavy(
            "地图出图",
            render_map,
            model,
            kind=kind,
            code=code,
            fmt=options.fmt,
            paper=options.paper,
            landscape=options.landscape,
            dpi=options.dpi,
            overlays=overlays,
            today=today,
            source=source,
        )
        return {
            "mimetype": rendered.mimetype,
            "filename": rendered.filename,
            "title": rendered.title,
            "ascii_filename": rendered.ascii_filename,
        }, rendered.data

    parts = {
        "renderer": __version__,
        "version": cache.version,
        "source": source,
        "today": today,
        "kind": kind,
        "code": code,
        "options": options,
    }
    meta, data = cached(None if overlays else pages, parts, make)
    return Rendered(data=data, **meta)
