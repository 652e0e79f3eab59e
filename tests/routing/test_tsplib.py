"""TSPLIB reading: both header styles, odd names, one-line tours, EOF optional, EUC_2D rounding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gridmap.errors import DataError
from gridmap.routing.tsplib import (
    euc_2d_matrix,
    instance_name,
    read_best_solutions,
    read_problem,
    read_tour,
    tour_length,
)

TSPLIB = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "tsplib"

SPACED = """NAME : tiny5
COMMENT : spaced headers, no EOF line
TYPE : TSP
DIMENSION : 5
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
1 0 0
2 3 0
3 3 4
4 0 4
5 1.5 2.0
"""

TIGHT = """NAME: tiny5
TYPE: TSP
COMMENT: tight headers: key colon value
DIMENSION: 5
EDGE_WEIGHT_TYPE: EUC_2D
NODE_COORD_SECTION
 1 0.00000e+00 0.00000e+00
 2 3.00000e+00 0.00000e+00
 3 3 4
 4 0 4
 5 1.5 2
EOF
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_both_header_styles_read_the_same(tmp_path):
    a = read_problem(write(tmp_path, "a.tsp", SPACED))
    b = read_problem(write(tmp_path, "b.tsp", TIGHT))
    assert a.name == b.name == "tiny5"
    assert a.dimension == b.dimension == 5
    assert a.edge_weight_type == b.edge_weight_type == "EUC_2D"
    np.testing.assert_array_equal(a.coords, b.coords)
    assert a.matrix()[0, 2] == 5  # a 3-4-5 triangle


def test_mixed_header_styles_in_one_file(tmp_path):
    text = SPACED.replace("DIMENSION : 5", "DIMENSION: 5").replace("TYPE : TSP", "TYPE: TSP")
    assert read_problem(write(tmp_path, "m.tsp", text)).dimension == 5


def test_odd_names_give_the_bare_instance_name(tmp_path):
    assert instance_name("./TSPLIB/a280.tsp.optbc.tour") == "a280"
    assert instance_name("ulysses16.tsp") == "ulysses16"
    text = SPACED.replace("NAME : tiny5", "NAME : ./TSPLIB/tiny5.tsp.optbc.tour")
    assert read_problem(write(tmp_path, "odd.tsp", text)).name == "tiny5"


def test_tour_one_node_per_line_with_odd_name(tmp_path):
    text = (
        "NAME : ./TSPLIB/a280.tsp.optbc.tour\nTYPE : TOUR\nDIMENSION : 5\nTOUR_SECTION\n1\n2\n3\n4\n5\n-1\n"
    )
    assert read_tour(write(tmp_path, "a.tour", text)) == [0, 1, 2, 3, 4]


def test_tour_on_one_line_and_many_per_line(tmp_path):
    one = "NAME : u.opt.tour\nTYPE : TOUR\nDIMENSION : 5\nTOUR_SECTION\n1 5 3 2 4\n-1\nEOF\n"
    many = "NAME: r\nTYPE: TOUR\nTOUR_SECTION\n   1  5\n   3  2\n   4\n-1\nEOF\n"
    no_terminator = "TOUR_SECTION\n1 5 3 2 4\nEOF\n"
    for text in (one, many, no_terminator):
        assert read_tour(write(tmp_path, "t.tour", text)) == [0, 4, 2, 1, 3]


def test_euc_2d_rounds_half_up():
    m = euc_2d_matrix([[0, 0], [2.5, 0], [2.49, 0]])
    assert m[0, 1] == 3 and m[0, 2] == 2 and m.dtype == np.int64


def test_best_solutions(tmp_path):
    path = write(tmp_path, "bestSolutions.txt", "a280 : 2579\neil51 : 426\r\nvm1084 : 239297  \n\n")
    assert read_best_solutions(path) == {"a280": 2579, "eil51": 426, "vm1084": 239297}


def test_bad_files_raise_data_errors(tmp_path):
    with pytest.raises(DataError, match="坐标行"):
        read_problem(write(tmp_path, "bad.tsp", SPACED.replace("3 3 4", "3 three 4")))
    with pytest.raises(DataError, match="DIMENSION"):
        read_problem(write(tmp_path, "short.tsp", SPACED.replace("DIMENSION : 5", "DIMENSION : 6")))
    geo = read_problem(write(tmp_path, "geo.tsp", SPACED.replace("EUC_2D", "GEO")))
    with pytest.raises(DataError, match="EUC_2D"):
        geo.matrix()
    with pytest.raises(DataError, match="无法读取"):
        read_problem(tmp_path / "missing.tsp")


@pytest.mark.parametrize(
    ("name", "optimum"), [("eil51", 426), ("a280", 2579), ("rd100", 7910), ("ch150", 6528)]
)
def test_real_optimal_tours_have_the_published_length(name, optimum):
    if not TSPLIB.is_dir():
        pytest.skip(f"TSPLIB data not found at {TSPLIB}")
    problem = read_problem(TSPLIB / f"{name}.tsp")
    tour = read_tour(TSPLIB / f"{name}.opt.tour")
    assert sorted(tour) == list(range(problem.dimension))
    assert tour_length(problem.matrix(), tour) == optimum
    assert read_best_solutions(TSPLIB / "bestSolutions.txt")[name] == optimum
