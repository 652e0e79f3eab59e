"""The store: owns the database connection, the schema and its migrations, and every write."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Engine

from gridmap.errors import ConfigError, NotFound
from gridmap.io.read import Dataset
from gridmap.model import LAYERS, TABLES

SCHEMA_VERSION = 1
metadata = MetaData()

meta_table = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=True),
)

# Derived columns stored beside the spec's columns, computed at load.
_DERIVED = {"segments": ("grid_code",), "points": ("grid_code",), "communities": ("grid_code",)}


def _column_type(kind: str):
    return Integer if kind == "int" else Text


reference_tables: dict[str, Table] = {}
for _spec in LAYERS:
    reference_tables[_spec.name] = Table(
        f"ref_{_spec.name}",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        *[Column(c.name, _column_type(c.kind), index=(c.name == "code")) for c in _spec.columns],
        *[Column(name, Text, index=True) for name in _DERIVED.get(_spec.name, ())],
        Column("geom", LargeBinary, nullable=False),  # WKB, EPSG:4326
    )
for _spec in TABLES:
    reference_tables[_spec.name] = Table(
        f"ref_{_spec.name}",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        *[Column(c.name, _column_type(c.kind)) for c in _spec.columns],
    )

# Modules that define more tables on `metadata` (problems, patrols, …), imported before the
# schema is created. Add yours here; new tables are created by `migrate`, changes to existing
# ones need a numbered migration below.
SCHEMA_MODULES: tuple[str, ...] = ()

# Migrations: version -> function(connection). Version 1 is the initial schema.
MIGRATIONS: dict[int, object] = {}


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """The one place that reads and writes the database."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                msg = f"无法创建数据库目录 {path.parent}：{exc}"
                raise ConfigError(msg) from exc
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.migrate()

    def migrate(self) -> int:
        """Create the schema or bring it up to SCHEMA_VERSION; return the version."""
        import importlib

        for module in SCHEMA_MODULES:
            importlib.import_module(module)
        with self.engine.begin() as conn:
            metadata.create_all(conn)
            row = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version"))
            current = int(row.scalar() or 0)
            if current == 0:
                conn.execute(insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))
                current = SCHEMA_VERSION
            for version in range(current + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](conn)
                conn.execute(
                    meta_table.update()
                    .where(meta_table.c.key == "schema_version")
                    .values(value=str(version))
                )
        return SCHEMA_VERSION

    # --- meta -------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(meta_table.c.value).where(meta_table.c.key == key)).scalar()

    def data_version(self) -> int:
        """A counter bumped by every reference load; caches compare it to stay fresh."""
        return int(self.get_meta("data_version") or 0)

    @staticmethod
    def _set_meta(conn, key: str, value: str) -> None:
        updated = conn.execute(
            meta_table.update().where(meta_table.c.key == key).values(value=value)
        ).rowcount
        if not updated:
            conn.execute(insert(meta_table).values(key=key, value=value))

    # --- reference data -----------------------------------------------------------------
    def replace_reference(self, dataset: Dataset, derived: dict[str, pd.DataFrame]) -> int:
        """Replace all reference data in one transaction; return the new data version."""
        rows: dict[str, list[dict]] = {}
        for spec in LAYERS:
            gdf = dataset.layers.get(spec.name)
            if gdf is None:
                rows[spec.name] = []
                continue
            frame = pd.DataFrame({c.name: gdf[c.name].to_numpy(dtype=object) for c in spec.columns})
            for name in _DERIVED.get(spec.name, ()):
                frame[name] = derived[spec.name][name].to_numpy(dtype=object)
            frame["geom"] = shapely.to_wkb(gdf.geometry.to_numpy(), output_dimension=2)
            rows[spec.name] = _records(frame)
        for spec in TABLES:
            frame = dataset.tables[spec.name][[c.name for c in spec.columns]]
            rows[spec.name] = _records(frame)
        with self.engine.begin() as conn:
            for table in reference_tables.values():
                conn.execute(delete(table))
            for name, records in rows.items():
                if records:
                    conn.execute(insert(reference_tables[name]), records)
            version = int(
                conn.execute(select(meta_table.c.value).where(meta_table.c.key == "data_version")).scalar()
                or 0
            ) + 1
            self._set_meta(conn, "data_version", str(version))
            self._set_meta(conn, "data_source", dataset.source)
            self._set_meta(conn, "data_loaded_at", dt.datetime.now(dt.timezone.utc).isoformat())
        return version

    def has_reference(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(reference_tables["grids"].c.id).limit(1)).first() is not None

    def read_dataset(self) -> Dataset:
        """Read the reference data back as a Dataset (layers in EPSG:4326)."""
        if not self.has_reference():
            msg = "数据库中还没有网格数据。请先运行 `gridmap load geodata/demo` 或导入本县数据"
            raise NotFound(msg)
        layers: dict[str, gpd.GeoDataFrame] = {}
        tables: dict[str, pd.DataFrame] = {}
        with self.engine.connect() as conn:
            for spec in LAYERS:
                table = reference_tables[spec.name]
                frame = pd.DataFrame(
                    conn.execute(select(table).order_by(table.c.id)).mappings().all(),
                    columns=[c.name for c in table.columns],
                )
                geoms = shapely.from_wkb(frame.pop("geom").to_numpy())
                frame = frame.drop(columns=["id", *_DERIVED.get(spec.name, ())])
                for c in spec.columns:
                    if c.kind == "int":
                        frame[c.name] = frame[c.name].astype("Int64")
                    else:
                        frame[c.name] = frame[c.name].astype(object)
                layers[spec.name] = gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")
            for spec in TABLES:
                table = reference_tables[spec.name]
                frame = pd.DataFrame(
                    conn.execute(select(table).order_by(table.c.id)).mappings().all(),
                    columns=[c.name for c in table.columns],
                )
                tables[spec.name] = frame.drop(columns=["id"]).astype(object)
        return Dataset(layers=layers, tables=tables, source=self.get_meta("data_source") or "")


def _records(frame: pd.DataFrame) -> list[dict]:
    out = frame.astype(object).where(frame.notna(), None)
    return out.to_dict("records")
