"""The monthly red flag to the first town or grid, the grey flag to the last, and their history."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from gridmap.evaluation import flags
from gridmap.evaluation.scoring import load_scheme

SCHEME = load_scheme()
NOW = dt.datetime(2026, 12, 1, 2, 0)


def _ranked(ranks, codes=None):
    codes = codes or [f"G{n}" for n in range(1, len(ranks) + 1)]
    return pd.DataFrame(
        {
            "code": codes,
            "name": [f"网格{c}" for c in codes],
            "score": [None if r is None else 100.0 - 10 * r for r in ranks],
            "rank": [float("nan") if r is None else float(r) for r in ranks],
        }
    )


def test_red_to_the_first_and_grey_to_the_last_ranked():
    table = _ranked([2, 1, None, 3])
    assert flags.assign(table, by="grid", scheme=SCHEME).tolist() == [None, "red", None, "grey"]
    assert flags.assign(table, by="town", scheme=SCHEME).tolist() == [None, "red", None, "grey"]


def test_no_grey_flag_when_the_scheme_has_none_or_only_one_is_ranked():
    table = _ranked([2, 1, 3])
    red_only = dataclasses.replace(SCHEME, grey_flag=False)
    assert flags.assign(table, by="grid", scheme=red_only).tolist() == [None, "red", None]
    assert flags.assign(_ranked([1, None]), by="grid", scheme=SCHEME).tolist() == ["red", None]
    assert flags.assign(_ranked([None, None]), by="grid", scheme=SCHEME).tolist() == [None, None]


def test_only_towns_and_grids_compete_for_the_flag():
    for by in ("unit", "department", "category", "inspector"):
        assert flags.assign(_ranked([1, 2]), by=by, scheme=SCHEME).tolist() == [None, None]


def _flagged(ranks, codes=None):
    table = _ranked(ranks, codes)
    table["flag"] = flags.assign(table, by="grid", scheme=SCHEME)
    return table


def test_the_history_keeps_each_month_and_a_rerun_replaces_its_month(store):
    flags.record(store, month="2026-10", by="grid", table=_flagged([1, 2, 3]), now=NOW)
    flags.record(store, month="2026-11", by="grid", table=_flagged([3, 1, 2]), now=NOW)
    flags.record(store, month="2026-11", by="town", table=_flagged([1, 2], ["T1", "T2"]), now=NOW)
    flags.record(store, month="2026-11", by="grid", table=_flagged([2, 3, 1]), now=NOW)  # recomputed
    history = flags.history(store)
    assert [(h["month"], h["level"], h["flag"], h["code"], h["rank"], h["of"]) for h in history] == [
        ("2026-11", "grid", "red", "G3", 1, 3),
        ("2026-11", "grid", "grey", "G2", 3, 3),
        ("2026-11", "town", "red", "T1", 1, 2),
        ("2026-11", "town", "grey", "T2", 2, 2),
        ("2026-10", "grid", "red", "G1", 1, 3),
        ("2026-10", "grid", "grey", "G3", 3, 3),
    ]
    assert history[0]["name"] == "网格G3" and history[0]["score"] == 90.0
    assert [h["code"] for h in flags.history(store, by="town")] == ["T1", "T2"]
