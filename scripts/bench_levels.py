"""Grid levels bench: model build, level audit, whois and level index at the demo's size and 100×, as ratios.

The demo county (geodata/demo: 129 sub-grids, 305 shops, 305 frontages, 1,066 buildings, 361
grid people) and a tiled copy of it: N translated copies side by side (default 1, 10, 100),
every layer and table copied, the county-town layers too (towns, grids, segments, points,
communities scale with the level layers, so every parent still exists and holds its children);
codes get a two-digit copy prefix (``07610330100201``), which keeps the hierarchical coding;
leaders and units are shared by all copies. For each size, in one process, each measure is a
ratio against a baseline timed in the same run:

- model: ``build_model`` with the level layers vs the same dataset without them (no subgrids,
  shops, frontages, buildings, grid_people);
- audit: ``gridmap.auditlevels.audit_levels`` vs a plain ``geopandas.read_file`` of the same four
  level layers from a GeoPackage written in a temporary directory;
- whois: ``WhoisIndex.lookup``/s on the model with levels vs on the model without them (the
  same seeded spots: half uniform in the extent, a quarter in buildings, a quarter on frontages);
- level index: ``LevelIndex`` build vs plain ``shapely.STRtree`` builds of the same metric geometries.

"ratio growth": a ratio at the largest size over the same ratio at 1×. "cost growth": the levels'
own cost per level feature (model: with minus without; whois: extra µs per lookup) at the largest
size over the first size of 10 copies or more (at 1× a few milliseconds of fixed cost drown it);
above 3 is reported as a finding: something is worse than linear. The timings of each pair
alternate and the fastest of each is kept (the machine may be busy). Prints a table;
``--json FILE`` writes every number; the exit status is 0 (findings are in the JSON).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gridmap.auditlevels import audit_levels
from gridmap.coverage import CoverageRule
from gridmap.io.read import Dataset, read_dataset
from gridmap.levelwhois import LevelIndex
from gridmap.responsibility import build_model
from gridmap.settings import load_settings
from gridmap.whois import WhoisIndex

DEMO = ROOT / "geodata" / "demo"
LEVEL_LAYERS = ("subgrids", "shops", "frontages", "buildings")
LEVEL_TABLES = ("grid_people",)
# columns holding codes of copied features (units and leaders are shared by all copies)
CODE_COLUMNS = (
    "code",
    "town_code",
    "grid_code",
    "parent_code",
    "shop_code",
    "community_code",
    "building_code",
    "grid_codes",
)
SHARED_TABLES = ("leaders", "units")
DEFAULT_SIZES = (1, 10, 100)
LOOKUPS = 2_000
GROWTH_LIMIT = 3.0
BUDGET_S = 120.0
T = TypeVar("T")
_TOKEN = re.compile(r"[^,，、;；\s]+")


def demo_dataset() -> Dataset:
    """The demo county, generated first if geodata/demo is absent."""
    if not (DEMO / "layers.gpkg").exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_data.py")], cwd=ROOT, check=True)
    return read_dataset(DEMO)


def _prefixed(values: pd.Series, prefix: str) -> pd.Series:
    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return v
        return _TOKEN.sub(lambda m: prefix + m.group(), str(v))

    return values.map(one)


def _copy(frame: pd.DataFrame, prefix: str, *, shift: tuple[float, float] | None) -> pd.DataFrame:
    out = frame.copy()
    for column in CODE_COLUMNS:
        if column in out.columns:
            out[column] = _prefixed(out[column], prefix)
    if shift is not None and isinstance(out, gpd.GeoDataFrame):
        dx, dy = shift
        moved = shapely.transform(out.geometry.to_numpy(), lambda xy: xy + np.array([dx, dy]))
        out = out.set_geometry(gpd.GeoSeries(moved, index=out.index, crs=out.crs))
    return out


def tile(dataset: Dataset, copies: int) -> Dataset:
    """``copies`` translated copies of ``dataset`` on a square raster, codes prefixed "00", "01"…

    One copy is the dataset itself (no prefix). Deterministic.
    """
    if copies == 1:
        return Dataset(layers=dict(dataset.layers), tables=dict(dataset.tables), source=dataset.source)
    minx, miny, maxx, maxy = pd.concat([g.geometry for g in dataset.layers.values() if len(g)]).total_bounds
    width, height = (maxx - minx) * 1.01, (maxy - miny) * 1.01
    side = math.ceil(math.sqrt(copies))
    # centre the raster on the demo so the local metric CRS stays the demo's zone
    x0, y0 = -(side - 1) / 2 * width, -(side - 1) / 2 * height
    shifts = [(x0 + (k % side) * width, y0 + (k // side) * height) for k in range(copies)]
    prefixes = [f"{k:02d}" if copies <= 100 else f"{k:04d}" for k in range(copies)]
    layers = {
        name: gpd.GeoDataFrame(
            pd.concat([_copy(gdf, p, shift=s) for p, s in zip(prefixes, shifts)], ignore_index=True),
            crs=gdf.crs,
        )
        for name, gdf in dataset.layers.items()
    }
    tables = {
        name: frame.copy()
        if name in SHARED_TABLES
        else pd.concat([_copy(frame, p, shift=None) for p in prefixes], ignore_index=True)
        for name, frame in dataset.tables.items()
    }
    return Dataset(layers=layers, tables=tables, source=f"{dataset.source} ×{copies}")


def without_levels(dataset: Dataset) -> Dataset:
    """The same dataset with no level layers and no grid people."""
    layers = {n: g for n, g in dataset.layers.items() if n not in LEVEL_LAYERS}
    tables = {n: (f.iloc[0:0].copy() if n in LEVEL_TABLES else f) for n, f in dataset.tables.items()}
    return Dataset(layers=layers, tables=tables, source=dataset.source)


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Seconds one call of ``fn`` took, and its result."""
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def _spots(dataset: Dataset, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Half uniform in the towns' extent, a quarter in buildings, a quarter on frontages (seeded)."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = dataset.layers["towns"].total_bounds
    k = n // 4
    u = n - 2 * k
    lon, lat = rng.uniform(minx, maxx, u), rng.uniform(miny, maxy, u)
    for name in ("buildings", "frontages"):
        geoms = dataset.layers[name].geometry.to_numpy()
        picks = shapely.point_on_surface(geoms[rng.integers(0, len(geoms), k)])
        lon = np.concatenate([lon, shapely.get_x(picks)])
        lat = np.concatenate([lat, shapely.get_y(picks)])
    return lon, lat


def _rate(index: WhoisIndex, lon: np.ndarray, lat: np.ndarray) -> tuple[float, list[dict]]:
    t = time.perf_counter()
    answers = [index.lookup(x, y) for x, y in zip(lon.tolist(), lat.tolist())]
    return len(answers) / (time.perf_counter() - t), answers


def _best_pair(first, second, rounds: int) -> tuple[float, float]:
    """Fastest seconds of ``first`` and of ``second``, alternated ``rounds`` times (a busy machine slows both alike)."""
    a = b = float("inf")
    for i in range(rounds):
        for which in (0, 1) if i % 2 == 0 else (1, 0):
            t = time.perf_counter()
            (first if which == 0 else second)()
            s = time.perf_counter() - t
            a, b = (min(a, s), b) if which == 0 else (a, min(b, s))
    return a, b


def bench_size(
    base: Dataset,
    copies: int,
    *,
    work: Path,
    lookups: int,
    rounds: int = 3,
    repeats: int | None = None,
    seed: int = 15,
) -> dict:
    """Every measure for ``copies`` copies of ``base``."""
    started = time.perf_counter()
    settings = load_settings(environ={})
    rule = CoverageRule.from_settings(settings)
    if repeats is None:
        repeats = 5 if copies < 10 else 3
    full = tile(base, copies)
    bare = without_levels(full)
    counts = {n: len(full.layers[n]) for n in ("towns", "grids", "communities", *LEVEL_LAYERS)}
    counts["grid_people"] = len(full.tables["grid_people"])
    level_features = sum(counts[n] for n in LEVEL_LAYERS)

    # (a) the model, with vs without the level layers
    bare_s, full_s = _best_pair(lambda: build_model(bare), lambda: build_model(full), repeats)
    bare_model, model = build_model(bare), build_model(full)

    # (b) the level audit vs reading the same level layers from a GeoPackage
    gpkg = work / f"levels-{copies}.gpkg"
    for name in LEVEL_LAYERS:
        full.layers[name].to_file(gpkg, layer=name, driver="GPKG", engine="pyogrio")
    frontage_max_m = float(settings["GRIDMAP_AUDIT_FRONTAGE_MAX_M"])
    read_s, audit_s = _best_pair(
        lambda: [gpd.read_file(gpkg, layer=n, engine="pyogrio") for n in LEVEL_LAYERS],
        lambda: audit_levels(model, rule=rule, frontage_max_m=frontage_max_m),
        repeats,
    )
    audit = audit_levels(model, rule=rule, frontage_max_m=frontage_max_m)
    errors = sum(1 for f in audit.findings if f["severity"] == "error")

    # (d) the level index vs plain STRtrees over the same metric geometries
    geoms = {n: model.metric_geometries(n) for n in LEVEL_LAYERS if n != "shops"}
    tolerance_f = float(settings["GRIDMAP_FRONTAGE_TOLERANCE_M"])
    trees_s, levels_s = _best_pair(
        lambda: [shapely.STRtree(g) for g in geoms.values()],
        lambda: LevelIndex(model, frontage_tolerance_m=tolerance_f),
        repeats,
    )

    # (c) whois lookups/s with vs without levels, same spots
    tolerance = float(settings["GRIDMAP_WHOIS_TOLERANCE_M"])
    bare_index_s, bare_index = _timed(lambda: WhoisIndex(bare_model, tolerance_m=tolerance))
    index_s, index = _timed(lambda: WhoisIndex(model, tolerance_m=tolerance))
    lon, lat = _spots(full, lookups, seed)
    _rate(bare_index, lon, lat)  # one pass each first: records are built on first use
    _, answers = _rate(index, lon, lat)
    # short alternated chunks, the fastest of each kept: a busy machine swings long passes by 2-3×
    bare_t = t = 0.0
    for at in range(0, len(lon), 100):
        chunk = slice(at, at + 100)
        a, b = _best_pair(
            lambda c=chunk: _rate(bare_index, lon[c], lat[c]),
            lambda c=chunk: _rate(index, lon[c], lat[c]),
            rounds,
        )
        bare_t, t = bare_t + a, t + b
    bare_rate, rate = len(lon) / bare_t, len(lon) / t
    answered_at = pd.Series([a.get("answered_at") for a in answers]).value_counts().to_dict()
    return {
        "copies": copies,
        "counts": counts,
        "level_features": level_features,
        "model": {
            "without_levels_s": round(bare_s, 4),
            "with_levels_s": round(full_s, 4),
            "ratio": round(full_s / bare_s, 3),
            "level_us_per_feature": round((full_s - bare_s) / level_features * 1e6, 2),
        },
        "audit": {
            "read_level_layers_s": round(read_s, 4),
            "audit_levels_s": round(audit_s, 4),
            "ratio": round(audit_s / read_s, 3),
            "us_per_feature": round(audit_s / level_features * 1e6, 2),
            "findings": len(audit.findings),
            "errors": errors,
        },
        "whois": {
            "lookups": len(lon),
            "without_levels_per_s": round(bare_rate, 1),
            "with_levels_per_s": round(rate, 1),
            "ratio": round(rate / bare_rate, 3),
            "level_us_per_lookup": round((1 / rate - 1 / bare_rate) * 1e6, 1),
            "index_without_levels_s": round(bare_index_s, 4),
            "index_with_levels_s": round(index_s, 4),
            "answered_at": {str(k): int(v) for k, v in answered_at.items()},
            "shops_named": sum(1 for a in answers if a.get("shop")),
            "buildings_named": sum(1 for a in answers if a.get("building")),
        },
        "level_index": {
            "strtrees_s": round(trees_s, 4),
            "level_index_s": round(levels_s, 4),
            "ratio": round(levels_s / trees_s, 3),
            "us_per_feature": round(levels_s / level_features * 1e6, 2),
        },
        "wall_s": round(time.perf_counter() - started, 1),
    }


MEASURES = (
    ("model", "build_model 含层级 / 不含层级"),
    ("audit", "audit_levels / read_file 层级图层"),
    ("whois", "whois lookup/s 含层级 / 不含层级"),
    ("level_index", "LevelIndex / STRtree 同样几何"),
)


# the part of each measure the levels cost, per level feature (whois: per lookup)
COST = {
    "model": "level_us_per_feature",
    "audit": "us_per_feature",
    "whois": "level_us_per_lookup",
    "level_index": "us_per_feature",
}


def growth(rows: list[dict]) -> tuple[dict[str, float], dict[str, float]]:
    """How each ratio, and each level cost, grew from a smaller size to the largest.

    Ratios: the largest size's over the smallest's (lookups/s inverted). Costs: the largest
    size's over the first size of at least 10 copies (below that, fixed costs of a few
    milliseconds drown the levels' part), the smallest if none; whois: per lookup.
    """
    first, last = rows[0], rows[-1]
    ref = next((r for r in rows[:-1] if r["copies"] >= 10), first)
    ratios, costs = {}, {}
    for key, _ in MEASURES:
        a, b = first[key]["ratio"], last[key]["ratio"]
        ratios[key] = round(a / b if key == "whois" else b / a, 2)
        c0, c1 = ref[key][COST[key]], last[key][COST[key]]
        costs[key] = round(c1 / c0, 2) if c0 > 0 and c1 > 0 else float("nan")
    return ratios, costs


def print_table(rows: list[dict], grown: tuple[dict[str, float], dict[str, float]] | None) -> None:
    """Each measure's ratio per size (the two timings behind it), level cost per feature, growth."""
    head = ["measure", *(f"{r['copies']}× ({r['level_features']:,} 层级要素)" for r in rows)]
    if grown is not None:
        head += ["ratio growth", "cost growth"]
    lines = [head]
    for key, label in MEASURES:
        cells = [label]
        for r in rows:
            m = r[key]
            cost = f"{m[COST[key]]} µs/{'次' if key == 'whois' else '要素'}"
            if key == "whois":
                pair = f"{m['with_levels_per_s']:.0f} vs {m['without_levels_per_s']:.0f}/s"
            elif key == "model":
                pair = f"{m['with_levels_s']:.2f} vs {m['without_levels_s']:.2f} s"
            elif key == "audit":
                pair = f"{m['audit_levels_s']:.2f} vs {m['read_level_layers_s']:.2f} s"
            else:
                pair = f"{m['level_index_s']:.3f} vs {m['strtrees_s']:.3f} s"
            cells.append(f"{m['ratio']}× ({pair}; {cost})")
        if grown is not None:
            cells += [f"{grown[0][key]}", f"{grown[1][key]}"]
        lines.append(cells)
    lines.append(["wall time (s)", *(str(r["wall_s"]) for r in rows), *([""] * (len(head) - 1 - len(rows)))])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument(
        "--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="copies of the demo, comma-separated"
    )
    parser.add_argument("--lookups", type=int, default=LOOKUPS, help="whois spots per size")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternated whois passes per index (fastest kept)"
    )
    parser.add_argument("--quick", action="store_true", help="time everything once (for tests)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    base = demo_dataset()
    print(f"层级基准：演示县及其 {'/'.join(map(str, sizes))} 倍（平移复制，县城各层一并复制）", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gridmap-bench-levels-") as tmp:
        for copies in sizes:
            print(f"… {copies}×", flush=True)
            rows.append(
                bench_size(
                    base,
                    copies,
                    work=Path(tmp),
                    lookups=args.lookups,
                    rounds=1 if args.quick else args.rounds,
                    repeats=1 if args.quick else None,
                )
            )
    grown = growth(rows) if len(rows) > 1 else None
    print_table(rows, grown)
    findings = []
    if grown is not None:
        for key, label in MEASURES:
            if grown[1][key] > GROWTH_LIMIT:
                findings.append(f"{label}：层级开销（{COST[key]}）增长 {grown[1][key]} 倍")
    for r in rows:
        if r["wall_s"] > BUDGET_S:
            findings.append(f"{r['copies']}× 用时 {r['wall_s']} 秒，超过 {BUDGET_S:.0f} 秒")
    for f in findings:
        print(f"发现：{f}")
    result = {
        "bench": "levels",
        "sizes": sizes,
        "baseline": {
            "model": "build_model of the same dataset without level layers and grid people",
            "audit": "geopandas.read_file of the four level layers from a GeoPackage",
            "whois": "WhoisIndex.lookup on the model without level layers, same spots",
            "level_index": "shapely.STRtree of the same metric subgrid, frontage and building geometries",
        },
        "rows": rows,
        "ratio_growth": grown[0] if grown else None,
        "cost_growth": grown[1] if grown else None,
        "findings": findings,
    }
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
