"""Benchmark: a province's household heads (1.75 million rows) read as CSV and GeoPackage table.

Writes the table once as a GBK CSV with Chinese headers and as a GeoPackage attribute table,
then reads each in a fresh process, reporting time and peak RSS:

- the baseline: a plain ``pandas.read_csv`` / ``pyogrio.read_dataframe`` of the same file;
- ``gridmap load``'s reading (`gridmap.io.read.read_tables` of a dataset directory: column
  mapping, text cleaning, required cells, duplicate codes);
- ``gridmap import``'s reading (`gridmap.io.formats.read_source` then the same value checks).

    python scripts/bench_tables.py --rows 1750000 [--json bench-tables.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name -> (imports, not timed; the read, timed)
_CASES = {
    "csv: pandas.read_csv": ("import pandas as pd", "n = len(pd.read_csv(CSV, encoding='gb18030'))"),
    "csv: gridmap load": (
        "from gridmap.io.read import read_tables",
        "n = len(read_tables(DIR)[0]['household_heads'])",
    ),
    "csv: gridmap import": (
        "from gridmap.io.formats import read_source; from gridmap.io.read import check_values;"
        "from gridmap.model import TABLE_BY_NAME; spec = TABLE_BY_NAME['household_heads']",
        "s = read_source(CSV, kind='household_heads');"
        "f = s.frame.rename(columns={c.label: c.name for c in spec.columns});"
        "n = len(check_values(f, spec.columns, key='code', labels=s.labels, where={})[0])",
    ),
    "gpkg: pyogrio.read_dataframe": (
        "import pyogrio",
        "n = len(pyogrio.read_dataframe(GPKG, layer='中心户长', read_geometry=False))",
    ),
    "gpkg: gridmap load": (
        "from gridmap.io.read import read_tables",
        "n = len(read_tables(GPKG)[0]['household_heads'])",
    ),
}


def _write(rows: int, folder: Path) -> None:
    import numpy as np
    import pandas as pd
    import pyogrio

    sys.path.insert(0, str(ROOT))
    from tests import factory

    i = np.arange(rows)
    surnames = np.array(list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"), dtype=object)
    given = np.array(["大姐", "建国", "秀英", "桂兰", "志强", "丽", "伟", "芳", "红梅", "德明"], dtype=object)
    frame = pd.DataFrame(
        {
            "编号": [f"H{k:07d}" for k in i.tolist()],
            "姓名": surnames[i % len(surnames)] + given[(i // 7) % len(given)],
            "联系电话": (13900000000 + i).astype(str).astype(object),
            "小区编号": [f"C{k:06d}" for k in (i // 25).tolist()],
            "楼栋": [f"{k}号楼" for k in (i % 30 + 1).tolist()],
        }
    )
    tables = factory.tables()
    del tables["household_heads"]
    factory.write_dataset(folder / "dataset", tables_=tables)
    frame.to_csv(folder / "dataset" / "中心户长.csv", index=False, encoding="gbk")
    shutil.copy(folder / "dataset" / "中心户长.csv", folder / "households.csv")
    for name, spec_rows in tables.items():  # the other tables in the same GeoPackage
        from gridmap.model import TABLE_BY_NAME

        spec = TABLE_BY_NAME[name]
        pyogrio.write_dataframe(
            pd.DataFrame(spec_rows, columns=[c.label for c in spec.columns]),
            folder / "tables.gpkg",
            layer=spec.label,
            driver="GPKG",
        )
    pyogrio.write_dataframe(frame, folder / "tables.gpkg", layer="中心户长", driver="GPKG")


def _run(case: tuple[str, str], folder: Path) -> dict:
    """One case in a fresh process; peak RSS is its VmHWM (ru_maxrss would carry the parent's over exec)."""
    imports, code = case
    hwm = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
    script = (
        f"import time; CSV = {str(folder / 'households.csv')!r}; DIR = {str(folder / 'dataset')!r}; "
        f"GPKG = {str(folder / 'tables.gpkg')!r}; {imports}; "
        f"before = {hwm}; t = time.perf_counter(); "
        f"{code}; print(n, time.perf_counter() - t, before, {hwm})"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, cwd=ROOT)
    rows, seconds, before_kb, rss_kb = out.stdout.split()
    return {
        "rows": int(rows),
        "seconds": round(float(seconds), 2),
        "peak_rss_mb": round(int(rss_kb) / 1024),
        "rss_after_imports_mb": round(int(before_kb) / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_750_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gridmap-bench-tables-"))
    try:
        started = time.perf_counter()
        _write(args.rows, folder)
        print(
            f"写入 {args.rows:,} 行中心户长（GBK CSV 与 GeoPackage 表）：{time.perf_counter() - started:.1f} s"
        )
        results = {name: _run(case, folder) for name, case in _CASES.items()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    base = {"csv": results["csv: pandas.read_csv"], "gpkg": results["gpkg: pyogrio.read_dataframe"]}
    print(f"{'case':32} {'rows':>10} {'s':>7} {'× base':>7} {'RSS MB':>7} {'× base':>7} {'imports MB':>10}")
    for name, r in results.items():
        b = base[name.split(":")[0]]
        r["time_ratio"] = round(r["seconds"] / b["seconds"], 2)
        r["rss_ratio"] = round(r["peak_rss_mb"] / b["peak_rss_mb"], 2)
        print(
            f"{name:32} {r['rows']:>10,} {r['seconds']:>7.2f} {r['time_ratio']:>7.2f} "
            f"{r['peak_rss_mb']:>7} {r['rss_ratio']:>7.2f} {r['rss_after_imports_mb']:>10}"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"rows": args.rows, "results": results}, ensure_ascii=False, indent=1)
        )


if __name__ == "__main__":
    main()
