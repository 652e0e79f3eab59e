"""`make bench`: speed as ratios against baselines measured in the same run; prints and writes JSON."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gridmap.io.read import Dataset
from gridmap.model import LAYERS, TABLES
from gridmap.responsibility import build_model
from gridmap.whois import WhoisIndex


def synthetic_dataset(n_side: int = 100) -> Dataset:
    """n_side² square grids of about 100 m tiling a block near 106.52E 33.91N, one town."""
    step = 0.001
    x0, y0 = 106.47, 33.86
    ix, iy = np.meshgrid(np.arange(n_side), np.arange(n_side))
    ix, iy = ix.ravel(), iy.ravel()
    grids = shapely.box(x0 + ix * step, y0 + iy * step, x0 + (ix + 1) * step, y0 + (iy + 1) * step)
    codes = [f"G{i:05d}" for i in range(len(grids))]

    def empty(spec):
        cols = {c.name: pd.Series(dtype=object) for c in spec.columns}
        return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")

    layers = {spec.name: empty(spec) for spec in LAYERS}
    town = shapely.box(x0 - 0.05, y0 - 0.05, x0 + n_side * step + 0.05, y0 + n_side * step + 0.05)
    layers["towns"] = gpd.GeoDataFrame(
        {"code": ["T1"], "name": ["双石铺镇"]}, geometry=[town], crs="EPSG:4326"
    )
    layers["grids"] = gpd.GeoDataFrame(
        {"code": codes, "name": [f"网格{i}" for i in range(len(codes))], "town_code": "T1"},
        geometry=grids,
        crs="EPSG:4326",
    )
    tables = {
        spec.name: pd.DataFrame({c.name: pd.Series(dtype=object) for c in spec.columns}) for spec in TABLES
    }
    tables["units"] = pd.DataFrame(
        {"code": ["U1"], "name": ["县住建局"], "kind": [None], "contact": [None], "phone": [None]}
    )
    tables["grid_roles"] = pd.DataFrame(
        {"grid_code": codes, "grid_head": "网格长", "grid_head_phone": None, "lead_unit_code": "U1"}
    )
    return Dataset(layers=layers, tables=tables, source="synthetic")


def naive_lookup(grids: np.ndarray, codes: list[str], lon: float, lat: float) -> str | None:
    """The baseline: test every grid with shapely contains until one holds the point."""
    p = shapely.Point(lon, lat)
    for code, g in zip(codes, grids):
        if g.contains(p):
            return code
    return None


def bench_whois(n_points: int = 2000) -> dict:
    dataset = synthetic_dataset()
    model = build_model(dataset)
    index = WhoisIndex(model, tolerance_m=50.0)
    grids = model.grids.geometry.to_numpy()
    codes = list(model.grids.index)
    rng = np.random.default_rng(1)
    lon = rng.uniform(106.4701, 106.5699, n_points)
    lat = rng.uniform(33.8601, 33.9599, n_points)
    k = 200  # the naive loop is slow: time it on a sample
    t = time.perf_counter()
    naive = [naive_lookup(grids, codes, lon[i], lat[i]) for i in range(k)]
    naive_rate = k / (time.perf_counter() - t)
    t = time.perf_counter()
    answers = [index.lookup(lon[i], lat[i]) for i in range(n_points)]
    single_rate = n_points / (time.perf_counter() - t)
    big = 200_000
    blon = rng.uniform(106.4701, 106.5699, big)
    blat = rng.uniform(33.8601, 33.9599, big)
    t = time.perf_counter()
    hit = index.locate(blon, blat)
    batch_rate = big / (time.perf_counter() - t)
    agree = all(a["grid"]["code"] == b for a, b in zip(answers[:k], naive))
    assert agree, "whois disagrees with the naive loop"
    assert (hit.grid >= 0).all()
    return {
        "grids": len(codes),
        "naive_per_s": round(naive_rate, 1),
        "lookup_per_s": round(single_rate, 1),
        "locate_batch_per_s": round(batch_rate, 1),
        "lookup_ratio": round(single_rate / naive_rate, 1),
        "batch_ratio": round(batch_rate / naive_rate, 1),
        "goal_ratio": 20,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hammer(url: str, *, seconds: float, clients: int) -> tuple[float, int]:
    """Requests per second to ``url`` by ``clients`` threads, a new connection per request."""
    from tests.loadgen import hammer

    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    done = hammer(parts.port, "GET", path, seconds=seconds, clients=clients, keep_alive=False)
    return done["per_s"], done["errors"]


def bench_http(*, seconds: float = 5.0, clients: int = 8) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="gridmap-bench-"))
    port = _free_port()
    env = {
        **os.environ,
        "GRIDMAP_INSTANCE_DIR": str(tmp),
        "GRIDMAP_DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite'}",
        "PORT": str(port),
    }
    gridmap = [sys.executable, "-m", "gridmap.cli"]
    subprocess.run(
        [*gridmap, "load", str(ROOT / "geodata" / "demo")], env=env, check=True, capture_output=True
    )
    from gridmap.settings import load_settings

    workers = load_settings(environ=env)["GRIDMAP_WORKERS"]  # `gridmap serve`'s default: one per core
    server = subprocess.Popen([*gridmap, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/api/ping", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        # Warm every worker's cache (model and index are built on first use).
        for _ in range(20):
            urllib.request.urlopen(base + "/api/whois?lon=106.52&lat=33.91", timeout=30).read()
        page = urllib.request.urlopen(base + "/", timeout=60).read()
        request = urllib.request.Request(base + "/", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=60) as r:
            page_gzip = len(r.read())
        ping_rate, ping_errors = _hammer(base + "/api/ping", seconds=seconds, clients=clients)
        whois_rate, whois_errors = _hammer(
            base + "/api/whois?lon=106.5213&lat=33.9107", seconds=seconds, clients=clients
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
    return {
        "cores": os.cpu_count(),
        "workers": workers,
        "ping_req_per_s": round(ping_rate, 1),
        "whois_req_per_s": round(whois_rate, 1),
        "whois_vs_ping_ratio": round(whois_rate / ping_rate, 2),
        "errors": ping_errors + whois_errors,
        "goal_req_per_s": 300,
        "map_page_bytes": len(page),
        "map_page_gzip_bytes": page_gzip,
    }


def bench_page_size() -> dict:
    """The naive folium page of the same layers: one GeoJson each, every field in the popup."""
    import folium

    from gridmap.io.read import read_dataset

    ds = read_dataset(ROOT / "geodata" / "demo")
    m = folium.Map(tiles=None)
    for name in ("towns", "grids", "segments", "points", "communities", "rivers"):
        gdf = ds.layers[name]
        fields = [c for c in gdf.columns if c != "geometry"]
        folium.GeoJson(gdf, name=name, popup=folium.GeoJsonPopup(fields=fields)).add_to(m)
    folium.LayerControl().add_to(m)
    naive = len(m.get_root().render().encode("utf-8"))
    return {"naive_folium_page_bytes": naive}


def table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", default="bench-results.json")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each HTTP run")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        help="run only these module benches (routing, import, printmap, problems)",
    )
    args = parser.parse_args(argv)
    results: dict = {}
    results["whois"] = w = bench_whois()
    rows = [
        ("measure", "value", "goal"),
        ("whois, naive shapely contains loop (10,000 grids)", f"{w['naive_per_s']}/s", "baseline"),
        ("whois lookup() one at a time", f"{w['lookup_per_s']}/s  ({w['lookup_ratio']}x)", "≥ 20x"),
        ("whois locate() vectorised", f"{w['locate_batch_per_s']}/s  ({w['batch_ratio']}x)", "≥ 20x"),
    ]
    if not args.skip_http:
        results["http"] = h = bench_http(seconds=args.seconds)
        results["page"] = p = bench_page_size()
        p["ours_page_bytes"] = h["map_page_bytes"]
        p["ours_page_gzip_bytes"] = h["map_page_gzip_bytes"]
        p["ratio_to_naive"] = round(h["map_page_bytes"] / p["naive_folium_page_bytes"], 2)
        rows += [
            ("HTTP /api/ping baseline", f"{h['ping_req_per_s']}/s", "baseline"),
            (
                f"HTTP /api/whois (gunicorn gevent, {h['workers']} workers)",
                f"{h['whois_req_per_s']}/s  ({h['whois_vs_ping_ratio']}x ping)",
                "≥ 300/s",
            ),
            ("HTTP errors", str(h["errors"]), "0"),
            (
                "county map page",
                f"{p['ours_page_bytes']} bytes ({p['ratio_to_naive']}x naive folium), "
                f"{p['ours_page_gzip_bytes']} gzip",
                "report",
            ),
        ]
    # Each module's own bench (scripts/bench_<area>.py --json PATH) prints its table; collect JSON.
    failed = []
    for script in sorted((ROOT / "scripts").glob("bench_*.py")):
        area = script.stem.removeprefix("bench_")
        if args.only and area not in args.only:
            continue
        out = Path(tempfile.mkdtemp()) / f"{area}.json"
        print(f"\n=== {script.name} ===", flush=True)
        done = subprocess.run([sys.executable, str(script), "--json", str(out)], cwd=ROOT)
        if out.exists():
            results[area] = json.loads(out.read_text(encoding="utf-8"))
        if done.returncode != 0:
            failed.append(area)
    results["failed"] = failed
    print("\n=== whois, HTTP, page size ===")
    print(table(rows))
    if failed:
        print(f"\n未达标或出错的基准：{', '.join(failed)}")
    Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\n结果已写入 {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
