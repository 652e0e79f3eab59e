"""A few thousand past cases imported (gridmap import-problems), then `gridmap evaluate` gives exactly
the figures counted independently from the generated cases, ranked and flagged by the scheme."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from gridmap.evaluation.indicators import COUNTS, INDICATORS
from gridmap.problems.history import import_history
from tests.problems.historyfile import expected_by_grid, make_cases, write_history

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
GRIDMAP = [sys.executable, "-m", "gridmap.cli"]
MIN_SAMPLE = 5
BANDS = ((2001, 100), (1201, 90), (501, 75), (301, 60), (1, 40), (0, 0))


def _rate(figures, numerator, denominator):
    den = figures[denominator]
    return figures[numerator] / den if den >= MIN_SAMPLE else None


def _region_score(f):
    """The default region composite, written out: citizen share 10, count 20, closure 30, on time 40."""
    count = next(points for least, points in BANDS if f["filed"] >= least)
    parts = [
        (10, None if f["filed"] < MIN_SAMPLE else 100 * (1 - f["citizen_filed"] / f["filed"])),
        (20, count),
        (30, None if f["due_closure"] < MIN_SAMPLE else 100 * f["closed"] / f["due_closure"]),
        (40, None if f["due_closure"] < MIN_SAMPLE else 100 * f["closed_on_time"] / f["due_closure"]),
    ]
    have = [(w, v) for w, v in parts if v is not None]
    return round(sum(w * v for w, v in have) / sum(w for w, _ in have), 2)


def test_imported_history_evaluates_to_the_expected_figures_ranks_and_flags(ctx, settings, tmp_path):
    month = "2026-10"
    cases = make_cases(2400, month=month, seed=21)
    report = import_history(ctx, write_history(tmp_path / "history.csv", cases), now=NOW)
    assert report.committed and report.ok, report.to_text()
    expected = expected_by_grid(cases)

    done = subprocess.run(
        [*GRIDMAP, "evaluate", "--month", month, "--by", "grid", "--json"],
        env={**os.environ, **settings},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    rows = {r["code"]: r for r in json.loads(done.stdout)}
    assert set(rows) == set(expected)
    for grid, figures in expected.items():
        row = rows[grid]
        for count in COUNTS:
            if count.key in figures:
                assert row[count.key] == figures[count.key], (grid, count.key)
        for item in INDICATORS:
            if item.numerator in figures and item.denominator in figures:
                want = _rate(figures, item.numerator, item.denominator)
                assert row[item.key] == (None if want is None else pytest.approx(want, abs=1e-6)), (
                    grid,
                    item.key,
                )
        assert row["score"] == pytest.approx(_region_score(figures), abs=0.005), grid
    # ranked by score; the best grid gets the red flag, the last the grey one
    order = sorted(expected, key=lambda g: (-_region_score(expected[g]), g))
    assert [rows[g]["rank"] for g in order] == [1, 2]
    assert [rows[g]["flag"] for g in order] == ["red", "grey"]
    assert sum(r["reports"] for r in rows.values()) == len(cases)
