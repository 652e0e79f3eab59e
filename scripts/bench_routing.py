"""Routing benchmark: gap to the TSPLIB optimum via `gridmap route --planar`, beside OR-Tools GLS in the same run;
and the demo county's day plan (street matrix by scipy.sparse.csgraph) beside the same plan with a Python-loop
Dijkstra matrix, in the same run."""

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

from click.testing import CliRunner

from gridmap.routing.cli import route
from gridmap.routing.tsp import DEFAULT_TIME_LIMIT
from gridmap.routing.tsplib import read_best_solutions, read_problem, tour_length

TSPLIB = ROOT.parent / "shared" / "realdata" / "tsplib"
INSTANCES = [
    "eil51",
    "berlin52",
    "st70",
    "eil76",
    "pr76",
    "kroA100",
    "kroC100",
    "kroD100",
    "rd100",
    "eil101",
    "lin105",
    "ch130",
    "ch150",
    "tsp225",
    "a280",
    "pcb442",
]


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
    parser.add_argument(
        "--tsplib", default=str(TSPLIB), help="folder with the .tsp files and bestSolutions.txt"
    )
    parser.add_argument(
        "--time-limit", type=float, default=DEFAULT_TIME_LIMIT, help="seconds, for both solvers"
    )
    parser.add_argument("--instances", default=",".join(INSTANCES), help="comma-separated instance names")
    parser.add_argument("--skip-tsplib", action="store_true", help="only the demo county's day plan")
    parser.add_argument("--skip-day", action="store_true", help="only the TSPLIB table")
    args = parser.parse_args(argv)
    report: dict = {"python": platform.python_version(), "machine": platform.machine()}
    ok = True
    if not args.skip_tsplib:
        tsplib = tsplib_bench(args)
        if tsplib is not None:
            report["tsplib"] = tsplib
            report.update({k: tsplib[k] for k in ("time_limit", "rows", "summary")})
            ok = ok and tsplib["goal_met"]
    if not args.skip_day:
        day = day_bench()
        report["demo_day"] = day
        ok = ok and day["goal_met"]
    report["goal_met"] = ok
    Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"已写入 {args.json}")
    return 0 if ok else 1


def tsplib_bench(args) -> dict | None:
    """The TSPLIB table: gap to the optimum and seconds, ours beside OR-Tools GLS."""
    folder = Path(args.tsplib)
    if not (folder / "bestSolutions.txt").exists():
        print(f"跳过 TSPLIB 基准：找不到 TSPLIB 数据 {folder}")
        return None
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
            print(
                f"{name:10} {n:4d} {best[name]:8d} {length:8d} {row['gap_pct']:6.2f} {seconds:6.2f}   {ort}",
                flush=True,
            )
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
    return {"time_limit": args.time_limit, "rows": rows, "summary": summary, "goal_met": ok}


def python_matrix(placement):
    """Baseline: one heapq Dijkstra per stop, in plain Python, over the same street graph."""
    import heapq

    import numpy as np

    graph = placement.graph.tocsr()
    sym = (graph + graph.T).tocsr()
    indptr, indices, weights = sym.indptr, sym.indices, sym.data
    n = sym.shape[0]
    sources = placement.stop_node
    out = np.full((len(sources), n), np.inf)
    for row, source in enumerate(sources):
        dist = out[row]
        dist[source] = 0.0
        heap = [(0.0, int(source))]
        while heap:
            d, u = heapq.heappop(heap)
            if d > dist[u]:
                continue
            for k in range(indptr[u], indptr[u + 1]):
                v, nd = indices[k], d + weights[k]
                if nd < dist[v]:
                    dist[v] = nd
                    heapq.heappush(heap, (nd, int(v)))
    return np.ascontiguousarray(out[:, sources])


def day_bench() -> dict:
    """The demo county's day (46 inspectors, 139 points, 30 open problems) with the csgraph street
    matrix, beside the same plan with a Python-loop Dijkstra matrix; both end to end, same run."""
    import numpy as np

    from gridmap.problems.service import context_from_settings
    from gridmap.reference import ReferenceCache, load_directory
    from gridmap.routing import county, sources, streets
    from gridmap.routing.options import options_from_settings
    from gridmap.settings import load_settings
    from gridmap.store import Store
    from tests.routing.town import seed_demo_problems

    print()
    print("演示县一天的巡查计划（46 名巡查员、139 个考察点位、30 个问题，沿路网距离；目标 ≤ 10 秒）")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            {"GRIDMAP_INSTANCE_DIR": tmp, "GRIDMAP_DATABASE_URL": f"sqlite:///{tmp}/demo.sqlite"}, environ={}
        )
        store = Store(settings["GRIDMAP_DATABASE_URL"])
        load_directory(store, ROOT / "geodata" / "demo")
        cache = ReferenceCache(store, tolerance_m=50.0)
        problems = seed_demo_problems(context_from_settings(store, cache, settings), cache.model(), count=30)
        must = {k for k, kind in problems.items() if kind != "fresh"}
        print(
            f"{'grids':10} {'matrix':8} {'seconds':>8} {'routes':>6} {'visited':>7} {'must':>5} {'dropped':>7} "
            f"{'km':>7} {'budgets':>8}"
        )
        original = streets.Placement.matrix
        for own in (True, False):
            for label, matrix in (("csgraph", original), ("python", python_matrix)):
                streets.Placement.matrix = matrix  # the baseline swaps only the matrix computation
                sources._cache.clear()
                try:
                    began = time.perf_counter()
                    options = options_from_settings(settings, own_grids=own)
                    plan = county.plan_county_day(store, settings, day="2026-11-27", options=options)
                    seconds = time.perf_counter() - began
                finally:
                    streets.Placement.matrix = original
                visited = {s.id for r in plan.routes for s in r.stops}
                row = {
                    "own_grids": own,
                    "matrix": label,
                    "seconds": seconds,
                    "routes": len(plan.routes),
                    "visited": len(visited),
                    "mandatory_visited": len(must & visited),
                    "mandatory": len(must),
                    "dropped": len(plan.dropped),
                    "km": sum(r.length_m for r in plan.routes) / 1000,
                    "within_budgets": all(r.work_m <= r.budget_m for r in plan.routes),
                }
                rows.append(row)
                print(
                    f"{'own' if own else 'any':10} {label:8} {seconds:8.2f} {row['routes']:6d} {row['visited']:7d} "
                    f"{row['mandatory_visited']:>2}/{row['mandatory']:<2} {row['dropped']:7d} {row['km']:7.2f} "
                    f"{'ok' if row['within_budgets'] else 'OVER':>8}"
                )
        # the matrix alone, ours vs the Python loop, on the same placement of all stops
        network = sources.load_network(store)
        model = cache.model()
        stops = county.county_stops(store, model, point_value_m=settings["GRIDMAP_PATROL_POINT_VALUE_M"])
        place = network.place(np.array([[s.lon, s.lat] for s in stops]))
        t0 = time.perf_counter()
        fast = original(place)
        t1 = time.perf_counter()
        slow = python_matrix(place)
        t2 = time.perf_counter()
        assert np.allclose(fast, slow), "the two matrices differ"
    ours = [r for r in rows if r["matrix"] == "csgraph"]
    base = [r for r in rows if r["matrix"] == "python"]
    matrix_ratio = (t2 - t1) / max(t1 - t0, 1e-9)
    print(
        f"距离矩阵（{len(stops)} 个点位）：csgraph {1000 * (t1 - t0):.1f} 毫秒，Python 循环 {1000 * (t2 - t1):.1f} 毫秒，"
        f"快 {matrix_ratio:.0f} 倍"
    )
    for o, b in zip(ours, base):
        print(
            f"整个计划（{'只去本人网格' if o['own_grids'] else '不限网格'}）：{o['seconds']:.2f} 秒，"
            f"基线 {b['seconds']:.2f} 秒（比值 {b['seconds'] / o['seconds']:.2f}）"
        )
    ok = all(
        r["seconds"] <= 10 and r["mandatory_visited"] == r["mandatory"] and r["within_budgets"] for r in ours
    )
    print(f"目标（≤ 10 秒，必去点位全部安排，不超出工作日）：{'达到' if ok else '未达到'}")
    return {
        "rows": rows,
        "matrix_ms": 1000 * (t1 - t0),
        "python_matrix_ms": 1000 * (t2 - t1),
        "matrix_ratio": matrix_ratio,
        "goal_met": ok,
    }


if __name__ == "__main__":
    sys.exit(main())
