"""Routing benchmark: gap to the TSPLIB optimum via `gridmap route --planar`, beside OR-Tools GLS in the same run."""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from gridmap.routing.cli import route  # noqa: E402
from gridmap.routing.tsp import DEFAULT_TIME_LIMIT  # noqa: E402
from gridmap.routing.tsplib import read_best_solutions, read_problem, tour_length  # noqa: E402

TSPLIB = ROOT.parent / "shared" / "realdata" / "tsplib"
INSTANCES = (
    "eil51 berlin52 st70 eil76 pr76 kroA100 kroC100 kroD100 rd100 eil101 lin105 "
    "ch130 ch150 tsp225 a280 pcb442"
).split()


def ours(problem, folder: Path, time_limit: float) -> tuple[list[int], float]:
    """Run the CLI command in-process on a CSV of the instance; return the 0-based order and seconds."""
    path = folder / f"{problem.name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "x", "y"])
        for k, (x, y) in enumerate(problem.coords, start=1):
            writer.writerow([k, repr(float(x)), repr(float(y))])
    began = time.perf_counter()
    done = CliRunner().invoke(route, [str(path), "--planar", "--time-limit", str(time_limit)])
    seconds = time.perf_counter() - began
    if done.exit_code != 0:
        msg = f"gridmap route failed on {problem.name}: {done.output}"
        raise SystemExit(msg)
    answer = json.loads(done.output)
    order = [int(sid) - 1 for sid in answer["routes"][0]["stops"]]
    return order, seconds


def ortools_gls(matrix, time_limit: float) -> tuple[list[int] | None, float]:
    """OR-Tools routing, PATH_CHEAPEST_ARC then guided local search, for `time_limit` seconds."""
    try:
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2
    except ImportError:
        return None, 0.0
    n = len(matrix)
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    transit = routing.RegisterTransitMatrix(matrix.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(time_limit * 1000))
    began = time.perf_counter()
    solution = routing.SolveWithParameters(params)
    seconds = time.perf_counter() - began
    if solution is None:
        return None, seconds
    index, order = routing.Start(0), []
    while not routing.IsEnd(index):
        order.append(manager.IndexToNode(index))
        index = solution.Value(routing.NextVar(index))
    return order, seconds


def _gap(length: float, best: int) -> float:
    return 100.0 * (length - best) / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", default="bench-routing.json", help="where to write the results")
    parser.add_argument("--tsplib", default=str(TSPLIB), help="folder with the .tsp files and bestSolutions.txt")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, help="seconds, for both solvers")
    parser.add_argument("--instances", default=",".join(INSTANCES), help="comma-separated instance names")
    args = parser.parse_args(argv)
    folder = Path(args.tsplib)
    if not (folder / "bestSolutions.txt").exists():
        print(f"跳过路线基准：找不到 TSPLIB 数据 {folder}")
        return 0
    best = read_best_solutions(folder / "bestSolutions.txt")
    rows = []
    head = f"{'instance':10} {'n':>4} {'optimum':>8} {'ours':>8} {'gap%':>6} {'time s':>6}   {'OR-Tools':>8} {'gap%':>6} {'time s':>6}"
    print(f"gridmap route --planar (time limit {args.time_limit:g} s) vs OR-Tools GLS (same limit), one core")
    print(head)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.instances.split(","):
            problem = read_problem(folder / f"{name}.tsp")
            matrix = problem.matrix()
            n = len(matrix)
            order, seconds = ours(problem, Path(tmp), args.time_limit)
            if sorted(order) != list(range(n)):
                raise SystemExit(f"{name}: the tour is not a permutation of the {n} nodes")
            length = tour_length(matrix, order)
            ort_order, ort_seconds = ortools_gls(matrix, args.time_limit)
            ort_length = tour_length(matrix, ort_order) if ort_order else None
            row = {
                "instance": name,
                "n": n,
                "optimum": best[name],
                "length": length,
                "gap_pct": _gap(length, best[name]),
                "seconds": seconds,
                "ortools_length": ort_length,
                "ortools_gap_pct": _gap(ort_length, best[name]) if ort_length is not None else None,
                "ortools_seconds": ort_seconds,
            }
            rows.append(row)
            ort = (
                f"{ort_length:8d} {row['ortools_gap_pct']:6.2f} {ort_seconds:6.2f}"
                if ort_length is not None
                else f"{'—':>8} {'—':>6} {'—':>6}"
            )
            print(f"{name:10} {n:4d} {best[name]:8d} {length:8d} {row['gap_pct']:6.2f} {seconds:6.2f}   {ort}", flush=True)
    summary = {
        "median_gap_pct": statistics.median(r["gap_pct"] for r in rows),
        "worst_gap_pct": max(r["gap_pct"] for r in rows),
        "max_seconds": max(r["seconds"] for r in rows),
    }
    ort_gaps = [r["ortools_gap_pct"] for r in rows if r["ortools_gap_pct"] is not None]
    if ort_gaps:
        summary["ortools_median_gap_pct"] = statistics.median(ort_gaps)
        summary["ortools_worst_gap_pct"] = max(ort_gaps)
    print(
        f"{'median':10} {'':4} {'':8} {'':8} {summary['median_gap_pct']:6.2f} {'':6}   {'':8} "
        + (f"{summary['ortools_median_gap_pct']:6.2f}" if ort_gaps else "—")
    )
    print(
        f"{'worst':10} {'':4} {'':8} {'':8} {summary['worst_gap_pct']:6.2f} {summary['max_seconds']:6.2f}   {'':8} "
        + (f"{summary['ortools_worst_gap_pct']:6.2f}" if ort_gaps else "—")
    )
    ok = summary["median_gap_pct"] <= 0.1 and summary["worst_gap_pct"] <= 0.5
    print(f"目标（中位差距 ≤ 0.1%，最差 ≤ 0.5%）：{'达到' if ok else '未达到'}")
    report = {
        "time_limit": args.time_limit,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rows": rows,
        "summary": summary,
        "goal_met": ok,
    }
    Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"已写入 {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
