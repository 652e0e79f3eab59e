"""I/O engines: geopandas read_file/to_file of the 100,000-polygon GeoPackage through pyogrio and fiona, same run."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import make_gpkg

ENGINES = ("pyogrio", "fiona")
LAYER = "网格"


def _gdal_versions() -> dict[str, str]:
    import fiona
    import pyogrio

    return {"pyogrio": pyogrio.__gdal_version_string__, "fiona": fiona.__gdal_version__}


def time_engines(path: Path, *, out_dir: Path, rounds: int = 3, layer: str = LAYER) -> dict:
    """Median seconds to read ``path`` and write it back as GeoPackage with each engine.

    The engines alternate within each round so that a busy machine slows both alike; every
    read is checked to hold as many features as the file, every written file is read back.
    """
    expected = len(gpd.read_file(path, layer=layer, engine="pyogrio"))
    reads: dict[str, list[float]] = {e: [] for e in ENGINES}
    writes: dict[str, list[float]] = {e: [] for e in ENGINES}
    for i in range(rounds):
        order = ENGINES if i % 2 == 0 else ENGINES[::-1]
        for engine in order:
            t = time.perf_counter()
            gdf = gpd.read_file(path, layer=layer, engine=engine)
            reads[engine].append(time.perf_counter() - t)
            if len(gdf) != expected:
                msg = f"{engine} read {len(gdf)} features from {path}, expected {expected}"
                raise RuntimeError(msg)
            target = out_dir / f"{engine}-{i}.gpkg"
            t = time.perf_counter()
            gdf.to_file(target, layer=layer, driver="GPKG", engine=engine)
            writes[engine].append(time.perf_counter() - t)
            back = len(gpd.read_file(target, layer=layer, engine="pyogrio"))
            if back != expected:
                msg = f"{engine} wrote {back} features to {target}, expected {expected}"
                raise RuntimeError(msg)
            target.unlink()
    read_s = {e: statistics.median(v) for e, v in reads.items()}
    write_s = {e: statistics.median(v) for e, v in writes.items()}
    read_ratio = read_s["fiona"] / read_s["pyogrio"]
    write_ratio = write_s["fiona"] / write_s["pyogrio"]
    total = {e: read_s[e] + write_s[e] for e in ENGINES}
    return {
        "features": expected,
        "rounds": rounds,
        "read_s": {e: round(s, 3) for e, s in read_s.items()},
        "write_s": {e: round(s, 3) for e, s in write_s.items()},
        "read_ratio_fiona_to_pyogrio": round(read_ratio, 2),
        "write_ratio_fiona_to_pyogrio": round(write_ratio, 2),
        "faster": min(ENGINES, key=total.__getitem__),
        "gdal": _gdal_versions(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write results to this file")
    parser.add_argument("-n", type=int, default=100_000, help="number of polygons")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per engine (medians reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "grids.gpkg"
        make_gpkg(path, args.n)
        result = {
            "bench": "engines",
            "polygons": args.n,
            **time_engines(path, out_dir=tmp, rounds=args.rounds),
        }
    print(f"读写引擎基准：{args.n} 个面（GeoPackage），每个引擎 {args.rounds} 轮取中位数")
    print(f"{'what':30} {'pyogrio s':>10} {'fiona s':>10} {'fiona/pyogrio':>14}")
    for what, key in (("geopandas.read_file", "read"), ("GeoDataFrame.to_file", "write")):
        s = result[f"{key}_s"]
        ratio = result[f"{key}_ratio_fiona_to_pyogrio"]
        print(f"{what:30} {s['pyogrio']:10.2f} {s['fiona']:10.2f} {ratio:14.2f}")
    gdal = result["gdal"]
    print(f"GDAL：pyogrio {gdal['pyogrio']}，fiona {gdal['fiona']}；较快：{result['faster']}")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
