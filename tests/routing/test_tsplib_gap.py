"""Real TSPLIB instances through `gridmap route --planar`: valid permutations within 0.5% of the optimum."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridmap.routing.cli import route
from gridmap.routing.tsplib import read_best_solutions, read_problem, tour_length

TSPLIB = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "tsplib"


@pytest.mark.parametrize("name", ["eil51", "kroA100", "ch130", "a280", "pcb442"])
def test_cli_tour_is_within_half_a_percent_of_the_optimum(name, tmp_path):
    if not (TSPLIB / f"{name}.tsp").exists():
        pytest.skip(f"TSPLIB data not found at {TSPLIB}")
    problem = read_problem(TSPLIB / f"{name}.tsp")
    optimum = read_best_solutions(TSPLIB / "bestSolutions.txt")[name]
    path = tmp_path / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "x", "y"])
        for k, (x, y) in enumerate(problem.coords, start=1):
            writer.writerow([k, repr(float(x)), repr(float(y))])
    done = CliRunner().invoke(route, [str(path), "--planar", "--time-limit", "1"])
    assert done.exit_code == 0, done.output
    (tour,) = json.loads(done.stdout)["routes"]
    order = [int(s) - 1 for s in tour["stops"]]
    assert sorted(order) == list(range(problem.dimension))
    length = tour_length(problem.matrix(), order)
    assert length == tour["length"]  # the CLI's planar lengths are TSPLIB's rounded lengths
    assert length <= optimum * 1.005
