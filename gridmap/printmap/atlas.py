"""The county atlas: the county overview and one page per grid, rendered in parallel worker
processes, as one multi-page PDF or a ZIP of PNGs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import multiprocessing
import threading
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from queue import Empty

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages

from gridmap.errors import InvalidInput, NotFound
from gridmap.printmap.output import rc_params
from gridmap.printmap.page import PageOptions, page_options
from gridmap.printmap.panels import Footer
from gridmap.printmap.render import draw_page, render_page
from gridmap.printmap.subjects import page_content
from gridmap.responsibility import ResponsibilityModel

ATLAS_FORMATS = {"pdf": "application/pdf", "zip": "application/zip"}
DEFAULT_WORKERS = 2

_model: ResponsibilityModel | None = None  # the worker's copy, set once by _init
_queue = None  # where a worker reports each finished page


def _init(model: ResponsibilityModel, queue=None) -> None:
    global _model, _queue
    _model = model
    _queue = queue


def _chunk(pages: list[tuple[str, str | None]], options: PageOptions, footer: Footer) -> list[bytes]:
    """Render consecutive pages: as ONE multi-page PDF (the font is subset and embedded once per
    chunk, not once per page), or as one PNG per page."""
    assert _model is not None
    if options.fmt != "pdf":
        out = []
        for kind, code in pages:
            out.append(render_page(_model, page_content(_model, kind, code), options=options, footer=footer))
            _report()
        return out
    buffer = io.BytesIO()
    with matplotlib.rc_context(rc_params()), PdfPages(buffer, metadata={"Creator": "gridmap"}) as pdf:
        for kind, code in pages:
            pdf.savefig(draw_page(_model, page_content(_model, kind, code), options=options, footer=footer))
            _report()
    return [buffer.getvalue()]


def _report() -> None:
    if _queue is not None:
        _queue.put(1)


def atlas_pages(model: ResponsibilityModel, *, levels: bool = False) -> list[tuple[str, str | None, str]]:
    """(kind, code, title) of every page: the county overview first, then each grid; with
    ``levels``, then every village, group and sub-grid, by town and code (parents first)."""
    pages: list[tuple[str, str | None, str]] = [("county", None, "全县网格责任总图")]
    pages += [("grid", code, str(name)) for code, name in model.grids["name"].items()]
    if levels and len(model.subgrids):
        subs = model.subgrids.assign(_town=model.subgrids["town_code"].fillna(""), _code=model.subgrids.index)
        subs = subs.sort_values(["_town", "depth", "_code"], kind="stable")
        pages += [("subgrid", str(code), str(name)) for code, name in subs["name"].items()]
    return pages


def _context():
    """Fork when it is safe (one thread: the CLI); else start clean interpreters."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def render_atlas(
    model: ResponsibilityModel,
    *,
    fmt: str = "pdf",
    paper: object = "A4",
    landscape: object = False,
    dpi: object = 300,
    workers: int = DEFAULT_WORKERS,
    progress: Callable[[int, int], None] | None = None,
    today: dt.date | None = None,
    source: str = "",
    levels: bool = False,
) -> bytes:
    """Render the atlas: one multi-page PDF, or a ZIP with one PNG per page.

    Parameters
    ----------
    model : ResponsibilityModel
    fmt : str
        "pdf" (one file, vector pages, fonts embedded) or "zip" (PNG pages at `dpi`).
    paper, landscape, dpi
        Page options as for a single map (validated; InvalidInput on bad values).
    workers : int
        Worker processes rendering pages in parallel (1 renders in this process).
    progress : callable, optional
        Called as progress(done, total) after each page.
    today, source
        Footer date and data source.
    levels : bool
        Also a page for every village, group and sub-grid (after the grids).

    Returns
    -------
    bytes
    """
    fmt = str(fmt or "").strip().lower()
    if fmt not in ATLAS_FORMATS:
        msg = f"图集格式“{fmt}”不支持：可选 pdf（多页 PDF）或 zip（每页一张 PNG 的压缩包）"
        raise InvalidInput(msg)
    if not isinstance(workers, int) or workers < 1:
        msg = f"并行进程数应为正整数，收到 {workers!r}"
        raise InvalidInput(msg)
    options = page_options(fmt="pdf" if fmt == "pdf" else "png", paper=paper, landscape=landscape, dpi=dpi)
    if not len(model.grids):
        msg = "没有网格数据，无法生成图集。请先导入网格责任数据"
        raise NotFound(msg)
    pages = atlas_pages(model, levels=levels)
    footer = Footer(today=today, source=source)
    jobs = [(kind, code) for kind, code, _ in pages]
    chunks = [list(c) for c in _split(jobs, workers)]
    results: list[list[bytes]] = []
    done = 0
    if workers == 1:
        _init(model)
        for chunk in chunks:
            results.append(_chunk(chunk, options, footer))
            done += len(chunk)
            if progress:
                progress(done, len(pages))
    else:
        context = _context()
        queue = context.Queue()
        clean = dataclasses.replace(model)  # no per-process caches (HTML, GeoJSON) to pickle
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_init, initargs=(clean, queue)
        ) as pool:
            futures = [pool.submit(_chunk, chunk, options, footer) for chunk in chunks]
            while done < len(pages) and not all(f.done() for f in futures):
                try:
                    queue.get(timeout=0.2)
                except Empty:
                    continue
                done += 1
                if progress:
                    progress(done, len(pages))
            results = [f.result() for f in futures]  # raises a worker's error here
        while done < len(pages):
            done += 1
            if progress:
                progress(done, len(pages))
    parts = [part for chunk in results for part in chunk]
    if fmt == "pdf":
        return _merge_pdf(parts, [t for _, _, t in pages])
    return _zip_png(parts, pages)


def _split(jobs: list, n: int) -> list[list]:
    """n runs of consecutive jobs; the overview (the heaviest page) counts for two."""
    n = max(1, min(n, len(jobs)))
    weights = [2.0 if kind == "county" else 1.0 for kind, _ in jobs]
    target = sum(weights) / n
    chunks: list[list] = [[]]
    load = 0.0
    for job, weight in zip(jobs, weights):
        if load >= target * len(chunks) - 1e-9 and len(chunks) < n:
            chunks.append([])
        chunks[-1].append(job)
        load += weight
    return [c for c in chunks if c]


def _merge_pdf(parts: list[bytes], titles: list[str]) -> bytes:
    """Join the chunks' PDFs in page order, with a bookmark per page."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part)))
    for number, title in enumerate(titles[: len(writer.pages)]):
        writer.add_outline_item(title=title, page_number=number)
    writer.add_metadata({"/Title": "网格责任图集", "/Author": "网格责任地图 gridmap", "/Creator": "gridmap"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _zip_png(parts: list[bytes], pages: list[tuple[str, str | None, str]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:  # PNG is deflated
        for n, (part, (kind, code, title)) in enumerate(zip(parts, pages)):
            name = "全县网格责任总图" if kind == "county" else f"{title}_{code}"
            archive.writestr(f"{n:02d}_{name}.png", part)
    return out.getvalue()
