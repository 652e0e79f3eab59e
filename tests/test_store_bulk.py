"""Store.replace_reference writes rows in bulk (executemany of tuples, COPY on PostgreSQL): same rows as before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.errors import InvalidInput
from gridmap.io.read import read_dataset

AWKWARD = ["tab\there", "line\nbreak", "back\\slash", "引号\"与'", "", "\\N", "网格 ✓"]


def _derived(dataset) -> dict:
    return {
        n: pd.DataFrame({"grid_code": [None] * len(dataset.layers[n])})
        for n in ("segments", "points", "communities")
    }


def test_awkward_text_gaps_and_integral_floats_come_back_as_written(loaded_store, dataset_dir):
    dataset = read_dataset(dataset_dir)
    units = dataset.tables["units"]
    names = (AWKWARD * len(units))[: len(units)]
    units["name"] = names
    units.loc[units.index[-1], "phone"] = np.nan  # a gap read as NaN (XLSX) …
    communities = dataset.layers["communities"]
    households = [120.0] + [np.nan] * (len(communities) - 1)  # an int column with a gap reads as floats
    communities["households"] = households
    version = loaded_store.data_version()
    assert loaded_store.replace_reference(dataset, _derived(dataset)) == version + 1
    back = loaded_store.read_dataset()
    assert list(back.tables["units"]["name"]) == names
    assert back.tables["units"]["phone"].isna().iloc[-1]
    got = back.layers["communities"]["households"].tolist()
    assert got[0] == 120 and all(pd.isna(v) for v in got[1:])
    for name, gdf in dataset.layers.items():
        assert shapely.equals_exact(back.layers[name].geometry.to_numpy(), gdf.geometry.to_numpy(), 0).all()


def test_a_nul_character_is_bad_input_on_postgresql_and_nothing_changes(loaded_store, dataset_dir, backend):
    dataset = read_dataset(dataset_dir)
    dataset.tables["units"].loc[dataset.tables["units"].index[0], "name"] = "县\x00住建局"
    version = loaded_store.data_version()
    if backend == "postgresql":
        with pytest.raises(InvalidInput, match="空字符"):
            loaded_store.replace_reference(dataset, _derived(dataset))
        assert loaded_store.data_version() == version
        assert loaded_store.read_dataset().tables["units"]["name"].iloc[0] == "县住建局"
    else:  # SQLite stores it, as it always did
        loaded_store.replace_reference(dataset, _derived(dataset))
        assert loaded_store.read_dataset().tables["units"]["name"].iloc[0] == "县\x00住建局"
