"""`gridmap route` through click: JSON on stdout, clear Chinese messages and exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gridmap.routing.cli import route

SQUARE = "id,x,y\nA,0,0\nB,100,0\nC,100,100\nD,0,100\nE,50,50\n"


def csv_file(tmp_path: Path, text: str, *, encoding: str = "utf-8", name: str = "points.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(*args):
    return CliRunner().invoke(route, [str(a) for a in args])


def ok(*args) -> dict:
    done = run(*args)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def refused(*args) -> str:
    done = run(*args)
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output
    assert isinstance(done.exception, SystemExit)  # a clean exit, not a crash
    assert done.stdout == ""
    return done.stderr


def test_closed_tour_from_the_first_stop(tmp_path):
    answer = ok(csv_file(tmp_path, SQUARE), "--planar")
    (tour,) = answer["routes"]
    assert tour["stops"][0] == "A"
    assert sorted(tour["stops"]) == ["A", "B", "C", "D", "E"]
    assert tour["length"] == 442  # 3 sides of 100 m + 2 half-diagonals of 71 m (whole metres)
    assert answer["total_length"] == 442
    assert answer["dropped"] == []


def test_open_path_to_a_given_end(tmp_path):
    answer = ok(csv_file(tmp_path, SQUARE), "--planar", "--start", "B", "--open", "--end", "C", "--seed", "3")
    stops = answer["routes"][0]["stops"]
    assert stops[0] == "B" and stops[-1] == "C" and len(stops) == 5
    assert answer["routes"][0]["closed"] is False


def test_inspectors_with_a_budget_and_optional_stops(tmp_path):
    text = "id,x,y,mandatory,prize\n站,0,0,1,\nN,0,400,1,\nS,0,-400,1,\nFAR,3000,0,0,100\n"
    answer = ok(csv_file(tmp_path, text), "--planar", "--vehicles", "2", "--max-length", "1000")
    assert answer["dropped"] == ["FAR"]
    assert sorted(s for r in answer["routes"] for s in r["stops"][1:]) == ["N", "S"]
    assert all(r["length"] <= 1000 for r in answer["routes"])


def test_gbk_csv_with_chinese_ids(tmp_path):
    text = "id,x,y\n县政府,0,0\n人民广场,300,0\n农贸市场,300,400\n"
    answer = ok(csv_file(tmp_path, text, encoding="gbk"), "--planar")
    assert answer["routes"][0]["stops"][0] == "县政府"
    assert answer["routes"][0]["length"] == 1200


def test_duplicate_ids_are_named_with_their_rows(tmp_path):
    message = refused(csv_file(tmp_path, SQUARE + "B,5,5\n"), "--planar")
    assert "B" in message and "重复" in message and "第 3、7 行" in message


def test_non_numeric_coordinates_are_named(tmp_path):
    message = refused(csv_file(tmp_path, SQUARE.replace("C,100,100", "C,abc,100")), "--planar")
    assert "C" in message and "'abc'" in message and "不是数字" in message and "行 4" in message


def test_missing_columns_and_too_few_stops(tmp_path):
    assert "缺少列" in refused(csv_file(tmp_path, "name,x,y\nA,0,0\nB,1,1\n"), "--planar")
    assert "至少需要 2 个点位" in refused(csv_file(tmp_path, "id,x,y\nA,0,0\n"), "--planar")
    assert "找不到点位文件" in refused(tmp_path / "nothing.csv", "--planar")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--start", "Z"], ["起点", "Z"]),
        (["--open", "--end", "Q"], ["终点", "Q"]),
        (["--end", "C"], ["--open"]),
        (["--max-length", "-5"], ["正数"]),
        (["--vehicles", "0"], ["至少为 1"]),
        (["--time-limit", "0"], ["正数"]),
    ],
)
def test_bad_options_are_refused_in_chinese(tmp_path, args, words):
    message = refused(csv_file(tmp_path, SQUARE), "--planar", *args)
    for word in words:
        assert word in message


def test_budget_too_small_names_the_stop_and_the_budget_needed(tmp_path):
    text = SQUARE + "远处,5000,0\n"
    message = refused(csv_file(tmp_path, text), "--planar", "--vehicles", "3", "--max-length", "2000")
    assert "远处" in message and "10,000 米" in message


def test_lon_lat_without_a_street_network_says_what_to_do(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("GRIDMAP_INSTANCE_DIR", str(tmp_path / "instance"))  # an empty store, on each backend
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", database_url)
    text = "id,x,y\nA,106.51,33.90\nB,106.52,33.91\nC,106.53,33.90\n"
    message = refused(csv_file(tmp_path, text))
    assert "路网尚未导入" in message and "--planar" in message


def test_same_seed_same_output(tmp_path):
    rng = np.random.default_rng(12)
    rows = "".join(f"P{k},{x:.1f},{y:.1f}\n" for k, (x, y) in enumerate(rng.random((40, 2)) * 800))
    path = csv_file(tmp_path, "id,x,y\n" + rows)
    first = ok(path, "--planar", "--seed", "7", "--time-limit", "0.5")
    second = ok(path, "--planar", "--seed", "7", "--time-limit", "0.5")
    assert first == second


def test_cli_default_time_limit_is_the_solver_default():
    from gridmap.routing import cli, tsp

    assert cli.DEFAULT_TIME_LIMIT == tsp.DEFAULT_TIME_LIMIT <= 2.0
