"""Load datasets into the store and keep an up-to-date model and whois index per process."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gridmap.audit import AuditReport, audit_model
from gridmap.io.read import Dataset, read_dataset
from gridmap.model import GRID_CODE_LAYERS
from gridmap.responsibility import ResponsibilityModel, build_model
from gridmap.store import Store
from gridmap.whois import WhoisIndex


@dataclass
class LoadResult:
    """What a load wrote and what the audit of the loaded data found."""

    version: int
    counts: dict[str, int]
    audit: AuditReport
    warnings: list


def load_directory(store: Store, directory: str | Path) -> LoadResult:
    """Validate a dataset directory and replace the store's reference data with it, atomically."""
    dataset = read_dataset(directory)  # raises DataError, writing nothing
    model = build_model(dataset)
    derived = {
        name: pd.DataFrame({"grid_code": getattr(model, name)["grid_code"].to_numpy(dtype=object)})
        for name in GRID_CODE_LAYERS
    }
    version = store.replace_reference(dataset, derived)
    counts = {name: len(gdf) for name, gdf in dataset.layers.items()}
    counts.update({name: len(frame) for name, frame in dataset.tables.items()})
    return LoadResult(version=version, counts=counts, audit=audit_model(model), warnings=dataset.warnings)


class ReferenceCache:
    """The responsibility model and whois index of the store's current data, rebuilt on change."""

    def __init__(self, store: Store, *, tolerance_m: float) -> None:
        """A cache over ``store``; ``tolerance_m`` is GRIDMAP_WHOIS_TOLERANCE_M, for the whois index."""
        self.store = store
        self.tolerance_m = tolerance_m
        self._lock = threading.Lock()
        self._version: int | None = None
        self._model: ResponsibilityModel | None = None
        self._whois: WhoisIndex | None = None

    def _refresh(self) -> None:
        version = self.store.data_version()
        if version == self._version:
            return
        with self._lock:
            if version == self._version:
                return
            dataset: Dataset = self.store.read_dataset()
            model = build_model(dataset)
            self._whois = WhoisIndex(model, tolerance_m=self.tolerance_m)
            self._model = model
            self._version = version

    @property
    def version(self) -> int:
        self._refresh()
        return int(self._version or 0)

    def model(self) -> ResponsibilityModel:
        self._refresh()
        assert self._model is not None
        return self._model

    def whois(self) -> WhoisIndex:
        self._refresh()
        assert self._whois is not None
        return self._whois
