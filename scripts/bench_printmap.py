"""Bench of print maps: one A4 300 dpi grid map and the demo atlas, each beside a naive
GeoDataFrame.plot of the same layers saved at the same size and dpi, measured in the same run.

Usage: python scripts/bench_printmap.py [--json PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from gridmap import printmap
from gridmap.io.read import read_dataset
from gridmap.printmap import fonts
from gridmap.printmap.atlas import atlas_pages, render_atlas
from gridmap.responsibility import ResponsibilityModel, build_model

GOAL_MAP_S = 1.5
GOAL_ATLAS_S = 20.0
A4_INCHES = (2480 / 300, 3508 / 300)


def _load_model() -> tuple[ResponsibilityModel, str]:
    demo = ROOT / "geodata" / "demo"
    if (demo / "layers.gpkg").is_file():
        return build_model(read_dataset(demo)), "demo"
    import tempfile

    from tests import factory  # the tiny dataset when the demo is not generated yet

    return build_model(read_dataset(factory.write_dataset(Path(tempfile.mkdtemp()) / "d"))), "factory"


def naive_figure(model: ResponsibilityModel, grid_code: str | None) -> Figure:
    """The same layers with plain GeoDataFrame.plot calls on an A4 figure: no labels, legend,
    table, scale bar or north arrow."""
    crs = model.local_crs
    fig = Figure(figsize=A4_INCHES)
    ax = fig.add_axes((0.05, 0.4, 0.9, 0.55))
    grids = model.grids.to_crs(crs)
    focus = grids.loc[[grid_code]] if grid_code else grids
    segs = model.segments if grid_code is None else model.segments[model.segments["grid_code"] == grid_code]
    pts = model.points if grid_code is None else model.points[model.points["grid_code"] == grid_code]
    comms = (
        model.communities
        if grid_code is None
        else model.communities[model.communities["grid_code"] == grid_code]
    )
    if len(model.rivers):
        model.rivers.to_crs(crs).plot(ax=ax, color="#cfe3f3")
    model.towns.to_crs(crs).boundary.plot(ax=ax, color="#666", linewidth=0.8)
    grids.plot(ax=ax, color="#eeeeea", edgecolor="#999")
    focus.boundary.plot(ax=ax, color="red", linewidth=2)
    if len(comms):
        comms.to_crs(crs).plot(ax=ax, color="#d5ead0", edgecolor="#5b9a5b")
    if len(segs):
        segs.to_crs(crs).plot(ax=ax, column="unit_code", cmap="tab20", linewidth=2.4)
    if len(pts):
        pts.to_crs(crs).plot(ax=ax, column="category", cmap="tab20", markersize=20)
    x0, y0, x1, y1 = focus.total_bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    return fig


def _best(times: list[float]) -> float:
    return round(statistics.median(times), 3)


def bench_map(model: ResponsibilityModel, code: str, repeat: int) -> dict:
    printmap.render_map(model, kind="grid", code=code, fmt="png", dpi=300)  # warm caches
    ours, naive = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        data = printmap.render_map(model, kind="grid", code=code, fmt="png", paper="A4", dpi=300).data
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        buf = io.BytesIO()
        naive_figure(model, code).savefig(buf, format="png", dpi=300)
        naive.append(time.perf_counter() - t)
    return {
        "grid": code,
        "ours_s": _best(ours),
        "naive_s": _best(naive),
        "ratio_to_naive": round(_best(ours) / _best(naive), 2),
        "goal_s": GOAL_MAP_S,
        "png_bytes": len(data),
        "met": _best(ours) <= GOAL_MAP_S,
    }


def bench_atlas(model: ResponsibilityModel) -> dict:
    t = time.perf_counter()
    data = render_atlas(model, fmt="pdf", workers=2)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        for kind, code, _ in atlas_pages(model):
            pdf.savefig(naive_figure(model, code if kind == "grid" else None), dpi=300)
    naive = time.perf_counter() - t
    return {
        "pages": len(atlas_pages(model)),
        "workers": 2,
        "ours_s": round(ours, 2),
        "naive_serial_s": round(naive, 2),
        "ratio_to_naive": round(ours / naive, 2),
        "goal_s": GOAL_ATLAS_S,
        "pdf_bytes": len(data),
        "met": ours <= GOAL_ATLAS_S,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default="bench-printmap.json", help="where to write the results")
    parser.add_argument("--repeat", type=int, default=5, help="renders per measurement (median)")
    args = parser.parse_args(argv)
    t = time.perf_counter()
    fonts.register()  # builds the static font on the first run ever (not timed below)
    font_s = time.perf_counter() - t
    model, source = _load_model()
    code = str(model.segments["grid_code"].value_counts().index[0])
    one = bench_map(model, code, args.repeat)
    atlas = bench_atlas(model)
    results = {
        "data": source,
        "font_ready_s": round(font_s, 2),
        "grid_map_a4_300dpi": one,
        "atlas_pdf": atlas,
    }
    rows = [
        ("任务", "gridmap", "naive GeoDataFrame.plot", "比值", "目标"),
        (
            f"一幅网格图 A4 300 dpi PNG（{code}）",
            f"{one['ours_s']:.2f} s",
            f"{one['naive_s']:.2f} s",
            f"{one['ratio_to_naive']}x",
            f"≤ {GOAL_MAP_S} s {'达到' if one['met'] else '未达到'}",
        ),
        (
            f"演示图集 PDF（{atlas['pages']} 页，2 进程）",
            f"{atlas['ours_s']:.2f} s",
            f"{atlas['naive_serial_s']:.2f} s（单进程）",
            f"{atlas['ratio_to_naive']}x",
            f"≤ {GOAL_ATLAS_S} s {'达到' if atlas['met'] else '未达到'}",
        ),
    ]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    print("（naive 只画同样的图层，没有标注、图例、责任表、比例尺和指北针。）")
    Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"结果已写入 {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
