"""Province-size bench: load + audit, whois and the map's download for generated counties of N grids.

For each size (default 1,000 grids, the size `make bench` runs; `make bench-scale` runs 1,000 /
10,000 / 100,000) a county is written by scripts/gencounty.py and, each in its own child process
so that its peak RSS (ru_maxrss) is its own:

- baseline: a plain ``geopandas.read_file`` of every layer of the same layers.gpkg (and, apart,
  ``pandas.read_excel`` of the same workbook, or ``pandas.read_csv`` of the same CSV tables:
  counties get a workbook, sizes from 50,000 grids one CSV file per table, see ``--tables``);
- load: ``gridmap.reference.load_directory`` into a new SQLite store (read, validate, join,
  write, audit: what ``gridmap load`` does), then what a server worker does before its first
  answer (read the store, build the model and the whois index) and whois lookups/s through
  ``WhoisIndex.lookup``;
- page: the app on that store through the Flask test client: what the browser downloads to
  open the county map (`measure_map_download`: the HTML of ``/``, the scripts, styles and JSON
  it references and the vector tiles of the first view), and /api/whois requests/s.

Prints a table; ``--json FILE`` writes every number.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

FULL_SIZES = (1_000, 10_000, 100_000)
DEFAULT_SIZES = (1_000,)
WHOIS_LOOKUPS = 2_000
HTTP_WHOIS = 300
CSV_FROM = 50_000  # grids: from here the generated tables are CSV files, not one workbook


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


# ---------------------------------------------------------------- what the browser downloads

_ATTR_URL = re.compile(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.I)
_STRING_URL = re.compile(r"""["'](/(?:static|api|vt|vtiles|tiles)/[^"'\s<>{}]*)["']""")
_TEMPLATE = re.compile(r"""["']([^"'\s<>]*\{z\}[^"'\s<>]*\{x\}[^"'\s<>]*\{y\}[^"'\s<>]*)["']""")
_LAYER_ZOOM = re.compile(r'"name":\s*"([a-z_]+)",\s*"label":\s*"[^"]*",\s*"min_zoom":\s*(\d+)')


def _lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[float, float]:
    n = 2**z
    x = (lon + 180.0) / 360.0 * n
    lat_r = math.radians(lat)
    y = (1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n
    return x, y


def first_view_tiles(
    bounds: tuple[float, float, float, float], *, viewport: tuple[int, int] = (1366, 768), padding: int = 20
) -> tuple[int, list[tuple[int, int]]]:
    """The zoom Leaflet's fitBounds picks for ``bounds`` (lon/lat) and the 256 px tiles in view."""
    minx, miny, maxx, maxy = bounds
    width, height = viewport[0] - 2 * padding, viewport[1] - 2 * padding
    z = 0
    for zoom in range(23):
        x0, y1 = _lonlat_to_tile(minx, miny, zoom)
        x1, y0 = _lonlat_to_tile(maxx, maxy, zoom)
        if (x1 - x0) * 256 <= width and (y1 - y0) * 256 <= height:
            z = zoom
        else:
            break
    cx, cy = _lonlat_to_tile((minx + maxx) / 2, (miny + maxy) / 2, z)
    half_w, half_h = viewport[0] / 512.0, viewport[1] / 512.0
    n = 2**z
    tiles = [
        (x, y)
        for x in range(math.floor(cx - half_w), math.floor(cx + half_w) + 1)
        for y in range(math.floor(cy - half_h), math.floor(cy + half_h) + 1)
        if 0 <= x < n and 0 <= y < n
    ]
    return z, tiles


def measure_map_download(
    client,
    *,
    path: str = "/",
    bounds: tuple[float, float, float, float] | None = None,
    viewport: tuple[int, int] = (1366, 768),
) -> dict:
    """Bytes a browser downloads to open ``path`` through ``client`` (a Flask test client).

    Counts the HTML, every same-origin script, stylesheet, image and JSON URL the HTML names,
    and, for each vector tile URL template it names (``{z}/{x}/{y}``, with ``{layer}`` filled
    from the layer list the page carries, each layer from its ``min_zoom``), the tiles that
    cover ``bounds`` at the zoom fitBounds picks in ``viewport``. Raster (.png/.jpg) templates
    are the base map: named, not fetched. Sizes are as sent with ``Accept-Encoding: gzip, br``
    (``bytes``) and after decoding (``raw_bytes``).
    """
    headers = {"Accept-Encoding": "gzip, br"}

    def get(url: str) -> tuple[int, int, int, str]:
        response = client.get(url, headers=headers)
        body = response.get_data()
        encoding = response.headers.get("Content-Encoding", "")
        raw = body
        if encoding == "gzip":
            raw = gzip.decompress(body)
        elif encoding == "br":
            import brotli

            raw = brotli.decompress(body)
        return response.status_code, len(body), len(raw), raw.decode("utf-8", "replace")

    started = time.perf_counter()
    status, sent, raw, html = get(path)
    html_s = time.perf_counter() - started
    unescaped = html.replace("\\/", "/")
    items = [{"url": path, "kind": "html", "status": status, "bytes": sent, "raw_bytes": raw}]
    seen = {path}
    urls = [*_ATTR_URL.findall(unescaped), *_STRING_URL.findall(unescaped)]
    external = sorted({u for u in urls if urlsplit(u).netloc})
    for url in urls:
        if urlsplit(url).netloc or url in seen or url.startswith(("data:", "#", "javascript:")):
            continue
        seen.add(url)
        st, b, r, _ = get(url)
        kind = "json" if "/api/" in url or url.endswith((".json", ".geojson")) else "asset"
        items.append({"url": url, "kind": kind, "status": st, "bytes": b, "raw_bytes": r})
    templates = sorted(set(_TEMPLATE.findall(unescaped)))
    basemap = [t for t in templates if urlsplit(t).path.endswith((".png", ".jpg", ".jpeg", ".webp"))]
    vector = [t for t in templates if t not in basemap and not urlsplit(t).netloc]
    layers = dict(_LAYER_ZOOM.findall(unescaped))
    zoom, tiles = (None, [])
    if vector and bounds is not None:
        zoom, tiles = first_view_tiles(bounds, viewport=viewport)
        for template in vector:
            names = [(n, int(mz)) for n, mz in layers.items()] if "{layer}" in template else [("", 0)]
            for name, min_zoom in names:
                if zoom < min_zoom:
                    continue
                for x, y in tiles:
                    url = template.replace("{layer}", name).replace("{z}", str(zoom))
                    url = url.replace("{x}", str(x)).replace("{y}", str(y))
                    st, b, r, _ = get(url)
                    items.append({"url": url, "kind": "tile", "status": st, "bytes": b, "raw_bytes": r})
    ok = [i for i in items if i["status"] < 400]
    by_kind: dict[str, int] = {}
    for i in ok:
        by_kind[i["kind"]] = by_kind.get(i["kind"], 0) + i["bytes"]
    return {
        "html_bytes": items[0]["bytes"],
        "html_raw_bytes": items[0]["raw_bytes"],
        "html_s": round(html_s, 3),
        "requests": len(ok),
        "failed": [i["url"] for i in items if i["status"] >= 400],
        "bytes": sum(i["bytes"] for i in ok),
        "raw_bytes": sum(i["raw_bytes"] for i in ok),
        "bytes_by_kind": by_kind,
        "tile_zoom": zoom,
        "tiles_per_layer": len(tiles),
        "vector_templates": vector,
        "basemap_templates": basemap,
        "external": external,
        "largest": [
            {"url": i["url"], "bytes": i["bytes"]} for i in sorted(ok, key=lambda i: -i["bytes"])[:8]
        ],
    }


# ---------------------------------------------------------------- children


def _child_baseline(folder: Path) -> dict:
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    gpkg = folder / "layers.gpkg"
    started = time.perf_counter()
    for name, _ in pyogrio.list_layers(gpkg):
        gpd.read_file(gpkg, layer=name)
    read_file_s = time.perf_counter() - started
    rss_layers = _peak_rss_mb()
    started = time.perf_counter()
    workbook = folder / "responsibility.xlsx"
    if workbook.exists():
        pd.read_excel(workbook, sheet_name=None, dtype=str)
    for csv in sorted(folder.glob("*.csv")):
        pd.read_csv(csv, dtype=str)
    read_tables_s = time.perf_counter() - started
    return {
        "read_file_s": read_file_s,
        "read_file_peak_rss_mb": rss_layers,
        "read_tables_s": read_tables_s,
        "tables": "xlsx" if workbook.exists() else "csv",
        "peak_rss_mb": _peak_rss_mb(),
    }


def _child_load(folder: Path, database: Path, lookups: int) -> dict:
    import numpy as np

    import gridmap.reference as reference
    from gridmap.responsibility import build_model
    from gridmap.store import Store
    from gridmap.whois import WhoisIndex

    phases: dict[str, float] = {}

    def timed(name: str, func):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    for name in ("read_dataset", "build_model", "audit_model"):  # the steps load_directory calls
        if hasattr(reference, name):
            setattr(reference, name, timed(name, getattr(reference, name)))
    store = Store(f"sqlite:///{database}")
    started = time.perf_counter()
    result = reference.load_directory(store, folder)
    load_s = time.perf_counter() - started
    rss_load = _peak_rss_mb()
    started = time.perf_counter()
    model = build_model(store.read_dataset())
    index = WhoisIndex(model, tolerance_m=30.0)
    ready_s = time.perf_counter() - started
    minx, miny, maxx, maxy = model.grids.total_bounds
    rng = np.random.default_rng(1)
    lon = rng.uniform(minx, maxx, lookups)
    lat = rng.uniform(miny, maxy, lookups)
    started = time.perf_counter()
    answered = sum(index.lookup(x, y)["grid"] is not None for x, y in zip(lon, lat))
    lookup_s = time.perf_counter() - started
    return {
        "load_s": load_s,
        "phases_s": phases,
        "audit_errors": result.audit.error_count,
        "counts": result.counts,
        "load_peak_rss_mb": rss_load,
        "worker_ready_s": ready_s,
        "whois_per_s": lookups / lookup_s,
        "whois_in_grid": answered / lookups,
        "peak_rss_mb": _peak_rss_mb(),
        "bounds": [float(v) for v in (minx, miny, maxx, maxy)],
    }


def _child_page(database: Path, instance: Path, bounds: list[float], requests: int) -> dict:
    import numpy as np

    from web import create_app

    app = create_app({"GRIDMAP_DATABASE_URL": f"sqlite:///{database}", "GRIDMAP_INSTANCE_DIR": str(instance)})
    client = app.test_client()
    started = time.perf_counter()
    client.get("/api/whois?lon=0&lat=0")  # the model and index, built on first use
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    download = measure_map_download(client, bounds=tuple(bounds))  # type: ignore[arg-type]
    download["first_open_s"] = round(time.perf_counter() - started, 3)
    minx, miny, maxx, maxy = bounds
    rng = np.random.default_rng(2)
    urls = [
        f"/api/whois?lon={x:.6f}&lat={y:.6f}"
        for x, y in zip(rng.uniform(minx, maxx, requests), rng.uniform(miny, maxy, requests))
    ]
    started = time.perf_counter()
    errors = sum(client.get(u).status_code != 200 for u in urls)
    http_s = time.perf_counter() - started
    return {
        "first_request_s": first_s,
        "download": download,
        "whois_test_client_per_s": requests / http_s,
        "whois_errors": errors,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _run_child(*args: str) -> dict:
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", *args, "--child-out", str(out)], cwd=ROOT, check=False
        )
        if done.returncode != 0:
            return {"error": f"child {args[0]} exited {done.returncode}"}
        return json.loads(out.read_text(encoding="utf-8"))
    finally:
        out.unlink(missing_ok=True)


# ---------------------------------------------------------------- one size, the table


def tables_for(grids: int, choice: str = "auto") -> str:
    """The table format of a size: a workbook for a county, CSV files (gridmap.io.tablefiles) from
    CSV_FROM grids on, where a province's household heads outgrow a sheet."""
    if choice != "auto":
        return choice
    return "csv" if grids >= CSV_FROM else "xlsx"


def bench_size(
    grids: int,
    *,
    work: Path,
    lookups: int = WHOIS_LOOKUPS,
    requests: int = HTTP_WHOIS,
    page: bool = True,
    tables: str = "auto",
) -> dict:
    """Generate a county of ``grids`` grids under ``work`` and measure it (children for each part)."""
    from gencounty import write_county

    folder = work / f"county{grids}"
    started = time.perf_counter()
    tables = tables_for(grids, tables)
    counts = write_county(folder, grids=grids, seed=grids, tables=tables)
    generate_s = time.perf_counter() - started
    files_mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    database = work / f"store{grids}.sqlite"
    baseline = _run_child("baseline", str(folder))
    load = _run_child("load", str(folder), str(database), str(lookups))
    row: dict = {
        "grids": grids,
        "tables": tables,
        "generate_s": generate_s,
        "files_mb": files_mb,
        "counts": counts,
    }
    row["baseline"], row["load"] = baseline, load
    if "error" not in baseline and "error" not in load:
        row["load_vs_read_file"] = load["load_s"] / baseline["read_file_s"]
        row["load_vs_read_file_and_tables"] = load["load_s"] / (
            baseline["read_file_s"] + baseline["read_tables_s"]
        )
        row["rss_vs_read_file"] = load["load_peak_rss_mb"] / baseline["read_file_peak_rss_mb"]
    if page and "error" not in load:
        row["page"] = _run_child(
            "page", str(database), str(work / f"instance{grids}"), json.dumps(load["bounds"]), str(requests)
        )
    return row


def bench_import(polygons: int) -> dict:
    """scripts/bench_import.py at ``polygons`` polygons: `gridmap import` against read_file, same run."""
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    try:
        script = ROOT / "scripts" / "bench_import.py"
        done = subprocess.run(
            [sys.executable, str(script), "-n", str(polygons), "--json", str(out)], cwd=ROOT
        )
        result = json.loads(out.read_text(encoding="utf-8")) if out.stat().st_size else {}
        if not result:
            result = {"error": f"bench_import exited {done.returncode}"}
        return result
    finally:
        out.unlink(missing_ok=True)


def _rounded(value):
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def table(rows: list[dict]) -> str:
    head = ("grids", "read_file s", "load+audit s", "× read_file", "(+tables)", "peak MB", "× RSS", "ready s", "whois/s", "HTTP whois/s", "map KB", "reqs")  # fmt: skip
    lines = [head]
    for r in rows:
        b, ld, p = r.get("baseline", {}), r.get("load", {}), r.get("page", {})
        d = p.get("download", {})

        def f(v, fmt="{:.2f}"):
            return fmt.format(v) if isinstance(v, (int, float)) else "—"

        lines.append(
            (
                f"{r['grids']:,}",
                f(b.get("read_file_s")),
                f(ld.get("load_s")),
                f(r.get("load_vs_read_file"), "{:.1f}"),
                f(r.get("load_vs_read_file_and_tables"), "{:.1f}"),
                f(ld.get("load_peak_rss_mb"), "{:.0f}"),
                f(r.get("rss_vs_read_file"), "{:.1f}"),
                f(ld.get("worker_ready_s")),
                f(ld.get("whois_per_s"), "{:.0f}"),
                f(p.get("whois_test_client_per_s"), "{:.0f}"),
                f(d["bytes"] / 1024 if "bytes" in d else None, "{:.0f}"),
                f(d.get("requests"), "{}"),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument(
        "--sizes", help="grid counts, comma-separated (default 1000; `make bench-scale`: 1000,10000,100000)"
    )
    parser.add_argument("--full", action="store_true", help="1,000 / 10,000 / 100,000 grids")
    parser.add_argument("--lookups", type=int, default=WHOIS_LOOKUPS, help="whois lookups per size")
    parser.add_argument("--requests", type=int, default=HTTP_WHOIS, help="/api/whois requests per size")
    parser.add_argument(
        "--tables",
        choices=("auto", "xlsx", "csv"),
        default="auto",
        help="table format (auto: CSV from 50,000 grids)",
    )
    parser.add_argument("--no-page", action="store_true", help="skip the app (map download, HTTP whois)")
    parser.add_argument(
        "--import-polygons",
        type=int,
        default=None,
        help="also time `gridmap import` of this many polygons against read_file (scripts/bench_import.py; "
        "--full: 100,000)",
    )
    parser.add_argument("--keep", type=Path, help="write counties and stores here and keep them")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        if kind == "baseline":
            result = _child_baseline(Path(rest[0]))
        elif kind == "load":
            result = _child_load(Path(rest[0]), Path(rest[1]), int(rest[2]))
        else:
            result = _child_page(Path(rest[0]), Path(rest[1]), json.loads(rest[2]), int(rest[3]))
        args.child_out.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        return 0
    sizes = (
        FULL_SIZES
        if args.full
        else tuple(int(s) for s in (args.sizes or "").split(",") if s.strip()) or DEFAULT_SIZES
    )
    if sizes == DEFAULT_SIZES:
        print("规模基准（小规模）：完整的 1,000 / 10,000 / 100,000 网格请运行 make bench-scale", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for grids in sizes:
            print(f"… {grids:,} 个网格（责任表：{tables_for(grids, args.tables)}）", flush=True)
            rows.append(
                bench_size(
                    grids,
                    work=work,
                    lookups=args.lookups,
                    requests=args.requests,
                    page=not args.no_page,
                    tables=args.tables,
                )
            )
    print(table(rows))
    polygons = args.import_polygons or (FULL_SIZES[-1] if args.full else None)
    imported = bench_import(polygons) if polygons else None
    if imported is not None:
        print(
            f"gridmap import {polygons:,} 个面：{imported.get('import_s', '—')} s，"
            f"geopandas.read_file {imported.get('baseline_read_file_s', '—')} s，"
            f"{imported.get('import_ratio', '—')}× read_file"
        )
    failed = [
        r["grids"]
        for r in rows
        if "error" in r["load"] or "error" in r["baseline"] or "error" in r.get("page", {})
    ]
    result = {
        "bench": "scale",
        "cores": os.cpu_count(),
        "sizes": list(sizes),
        "rows": _rounded(rows),
        "failed": failed,
    }
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
