"""Load datasets into the store and keep an up-to-date model and whois index per process."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from gridmap import serving
from gridmap.audit import AuditReport, audit_model
from gridmap.errors import GridmapError, ServiceBusy
from gridmap.io.read import Dataset, read_dataset
from gridmap.model import GRID_CODE_LAYERS
from gridmap.responsibility import ResponsibilityModel, build_model
from gridmap.spatial.dbwhois import DatabaseWhois
from gridmap.spatial.repository import require_postgis
from gridmap.store import Store
from gridmap.whois import Whois, WhoisIndex

T = TypeVar("T")
log = logging.getLogger(__name__)


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


@dataclass
class Snapshot:
    """One data version's model and whois (or the error reading it gave), and what was derived from it."""

    version: int
    model: ResponsibilityModel | None = None
    whois: Whois | None = None
    error: GridmapError | None = None
    derived: dict[str, Any] = field(default_factory=dict)


class ReferenceCache:
    """The responsibility model and whois index of the store's current data, rebuilt on change.

    The data version is read at most every ``check_s`` seconds (at once after a write in this
    process). In a server worker (``background`` set by `forked`), a new version is built in a
    real thread while the old model keeps answering, so no request waits for a build; elsewhere
    (commands, tests, the development server) the first caller after a change builds it.
    """

    def __init__(
        self,
        store: Store,
        *,
        tolerance_m: float,
        check_s: float = 0.0,
        whois_source: str = "memory",
        frontage_tolerance_m: float | None = None,
    ) -> None:
        """A cache over ``store``; ``tolerance_m`` is GRIDMAP_WHOIS_TOLERANCE_M, for whois;
        ``check_s`` is GRIDMAP_VERSION_CHECK_S (0: read the version at every use); ``whois_source``
        is GRIDMAP_WHOIS_SOURCE: ``memory`` builds a WhoisIndex per data version, ``database``
        asks PostGIS (ConfigError here on SQLite) and builds no index; ``frontage_tolerance_m`` is
        GRIDMAP_FRONTAGE_TOLERANCE_M (None: its registry default)."""
        if whois_source == "database":
            require_postgis(store)
        elif whois_source != "memory":
            msg = f"whois_source 应为 memory 或 database，实际为 {whois_source!r}"
            raise ValueError(msg)
        self.store = store
        self.tolerance_m = tolerance_m
        self.frontage_tolerance_m = frontage_tolerance_m
        self.whois_source = whois_source
        self.check_s = float(check_s)
        self.background = False
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._checked_at = -math.inf
        self._seen_bumps = -1
        self._building = False
        self._derivers: dict[str, Callable[[ResponsibilityModel], Any]] = {}

    # --- building -------------------------------------------------------------------------
    def _build(self, version: int) -> Snapshot:
        try:
            dataset: Dataset = self.store.read_dataset()
        except GridmapError as error:  # NotFound: no grids loaded yet; kept until the version moves
            return Snapshot(version, error=error)
        model = build_model(dataset)
        whois: Whois
        if self.whois_source == "database":
            model.drop_metric_geometries()  # only the index uses them: memory saved per worker
            whois = DatabaseWhois(
                self.store,
                model,
                tolerance_m=self.tolerance_m,
                frontage_tolerance_m=self.frontage_tolerance_m,
            )
        else:
            whois = WhoisIndex(
                model, tolerance_m=self.tolerance_m, frontage_tolerance_m=self.frontage_tolerance_m
            )
        snapshot = Snapshot(version, model=model, whois=whois)
        for key, derive in list(self._derivers.items()):
            snapshot.derived[key] = derive(model)
        return snapshot

    def warm(self) -> None:
        """Build the current version now (the server's master, before it forks its workers)."""
        version = self.store.data_version()
        with self._lock:
            self._snapshot = self._build(version)
            self._checked_at, self._seen_bumps = time.monotonic(), Store.bumps_here

    def forked(self) -> None:
        """In a forked server worker: build later versions in the background from now on."""
        self._lock = threading.Lock()
        self._building = False
        self.background = True

    def _build_in_background(self, version: int | None) -> None:
        """Build ``version``; None: read the data version here first and build only if it moved."""
        try:
            if version is None:
                version = self.store.data_version()
                current = self._snapshot
                if current is not None and current.version == version:
                    return
            self._snapshot = self._build(version)
        except Exception:  # retried at the next version check
            log.exception("rebuilding the reference model of data version %s failed", version)
        finally:
            self._building = False

    def _current(self) -> Snapshot:
        snapshot = self._snapshot
        now = time.monotonic()
        if (
            snapshot is not None
            and now - self._checked_at < self.check_s
            and Store.bumps_here == self._seen_bumps
        ):
            return snapshot
        self._seen_bumps = Store.bumps_here
        if self.background and snapshot is not None:
            # A warm worker reads the version in the background too: no request waits on the database
            # for it (on PostgreSQL that read yields the event loop to whatever else is running).
            self._checked_at = now
            if not self._building:
                self._building = True
                serving.start_thread(self._build_in_background, None)
            return snapshot
        version = self.store.data_version()
        self._checked_at = now
        if snapshot is not None and snapshot.version == version:
            return snapshot
        if self.background:
            if not self._building:
                self._building = True
                serving.start_thread(self._build_in_background, version)
            if snapshot is None:
                msg = f"网格数据（版本 {version}）正在载入本服务进程，请约 5 秒后重试"
                raise ServiceBusy(msg, retry_after=5)
            return snapshot
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or snapshot.version != version:
                snapshot = self._build(version)
                self._snapshot = snapshot
        return snapshot

    def _ready(self) -> Snapshot:
        snapshot = self._current()
        if snapshot.error is not None:
            raise snapshot.error.with_traceback(None)  # raised again each use: no growing traceback
        return snapshot

    # --- reading --------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """The data version of the model in use."""
        return self._current().version

    def model(self) -> ResponsibilityModel:
        model = self._ready().model
        assert model is not None
        return model

    def whois(self) -> Whois:
        whois = self._ready().whois
        assert whois is not None
        return whois

    def cached_later(self, key: str, derive: Callable[[ResponsibilityModel], Any]) -> None:
        """Have every build from now on (the master's at start-up too) compute ``derive`` as ``key``."""
        self._derivers.setdefault(key, derive)

    def cached(self, key: str, derive: Callable[[ResponsibilityModel], T]) -> T:
        """``derive(model)`` once per data version (e.g. the grid list of `/`); every later build,
        the master's at start-up and the background ones included, computes it before it is used."""
        snapshot = self._ready()
        self._derivers.setdefault(key, derive)
        if key not in snapshot.derived:
            assert snapshot.model is not None
            snapshot.derived[key] = derive(snapshot.model)
        return snapshot.derived[key]
