"""Import speed: 100,000 polygons from a GeoPackage, against plain geopandas.read_file, same run."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gridmap.importer import run_import
from gridmap.store import Store

GOAL_S = 15.0


def make_gpkg(path: Path, n: int) -> None:
    """n grid polygons (a slightly sheared tiling, 5 vertices each) in one town near Feng County."""
    side = int(np.ceil(np.sqrt(n)))
    step = 0.0008
    ix, iy = np.meshgrid(np.arange(side), np.arange(side))
    ix, iy = ix.ravel()[:n], iy.ravel()[:n]
    x0, y0 = 106.30, 33.70

    def corner(dx, dy):  # sheared rows: neighbours share their corners exactly
        return x0 + (ix + dx) * step + (iy + dy) * 0.0001, y0 + (iy + dy) * step

    xs = np.stack([corner(0, 0)[0], corner(1, 0)[0], corner(1, 1)[0], corner(0, 1)[0]], axis=1)
    ys = np.stack([corner(0, 0)[1], corner(1, 0)[1], corner(1, 1)[1], corner(0, 1)[1]], axis=1)
    rings = np.stack([xs, ys], axis=2)
    rings = np.concatenate([rings, rings[:, :1]], axis=1).reshape(-1, 2)
    geoms = shapely.polygons(shapely.linearrings(rings, indices=np.repeat(np.arange(n), 5)))
    codes = [f"610330100{i:06d}" for i in range(n)]
    gdf = gpd.GeoDataFrame(
        {"网格编码": codes, "网格名称": [f"第{i}号网格" for i in range(n)], "所属镇代码": "610330100"},
        geometry=geoms,
        crs="EPSG:4490",
    )
    pyogrio.write_dataframe(gdf, path, layer="网格")


def timed(func, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write results to this file")
    parser.add_argument("-n", type=int, default=100_000, help="number of polygons")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "grids.gpkg"
        make_gpkg(path, args.n)
        store = Store(f"sqlite:///{tmp / 'bench.sqlite'}")
        town = gpd.GeoDataFrame(
            {"code": ["610330100"], "name": ["双石铺镇"]},
            geometry=[shapely.box(106.0, 33.5, 107.0, 34.5)],
            crs="EPSG:4326",
        )
        store.import_reference("towns", town, mode="replace")
        baseline = timed(lambda: gpd.read_file(path), repeat=2)
        reports = {}

        def dry():
            reports["dry"] = run_import(store, path, kind="grids", dry_run=True)

        def full():
            reports["full"] = run_import(store, path, kind="grids", mode="replace")

        dry_s = timed(dry)
        full_s = timed(full)
        for name, report in reports.items():
            if not report.ok:
                print(report.to_text()[:2000])
                raise SystemExit(f"bench import {name} failed")
        stored = len(store.read_current().layers["grids"])
    rows = [
        ("geopandas.read_file (baseline)", baseline),
        ("gridmap import --dry-run (read + validate)", dry_s),
        ("gridmap import (read + validate + commit)", full_s),
    ]
    print(f"导入基准：{args.n} 个面（GeoPackage，EPSG:4490），目标 ≤ {GOAL_S:.0f} s")
    print(f"{'what':48} {'seconds':>8} {'× baseline':>11}")
    for name, seconds in rows:
        print(f"{name:48} {seconds:8.2f} {seconds / baseline:11.1f}")
    ok = full_s <= GOAL_S and stored == args.n
    print(f"结果：{'达标' if ok else '未达标'}（完整导入 {full_s:.2f} s，写入 {stored} 个网格）")
    result = {
        "bench": "import",
        "polygons": args.n,
        "baseline_read_file_s": round(baseline, 3),
        "dry_run_s": round(dry_s, 3),
        "import_s": round(full_s, 3),
        "import_ratio": round(full_s / baseline, 2),
        "goal_s": GOAL_S,
        "ok": ok,
    }
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
