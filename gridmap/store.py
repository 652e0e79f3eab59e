"""The store: owns the database connection, the schema and its migrations, and every write."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import (
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine, UserDefinedType

from gridmap.errors import ConfigError, Conflict, InvalidInput, NotFound
from gridmap.io.read import Dataset
from gridmap.model import LAYERS, TABLES

SCHEMA_VERSION = 7  # 2: token/api key expiry, api key source, sessions, rate_hits (accounts/schema.py);
# 3: issue-12 problem columns (problems/schema.py); 4: users' email and phone (accounts/schema.py);
# 5: reference geometry as PostGIS geometry with GiST indexes on PostgreSQL (SQLite unchanged);
# 6: household heads' building code (the new level layers are new tables); 7: a problem's shop (门前五包)
metadata = MetaData()

SRID = 4326
# Serialises writers across every process and server on one PostgreSQL (Store.writing, migrate).
WRITE_LOCK_KEY = 0x67726964  # "grid"
MIGRATE_LOCK_KEY = 0x67726965


class PostGISGeometry(UserDefinedType):
    """A PostGIS ``geometry(Geometry, 4326)`` column that callers read and write as WKB bytes."""

    cache_ok = True

    def get_col_spec(self, **_kw) -> str:
        return f"geometry(Geometry,{SRID})"

    def bind_expression(self, bindvalue):
        return func.ST_GeomFromWKB(bindvalue, SRID, type_=self)

    def column_expression(self, colexpr):
        return func.ST_AsBinary(colexpr, type_=LargeBinary)


def geometry_type() -> TypeEngine:
    """WKB bytes (EPSG:4326) on SQLite, a PostGIS geometry on PostgreSQL; callers always see WKB."""
    return LargeBinary().with_variant(PostGISGeometry(), "postgresql")


def is_postgresql(conn_or_engine: Connection | Engine) -> bool:
    return conn_or_engine.dialect.name == "postgresql"


meta_table = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=True),
)


def _column_type(kind: str):
    return Integer if kind == "int" else Text


reference_tables: dict[str, Table] = {}
for _spec in LAYERS:
    reference_tables[_spec.name] = Table(
        f"ref_{_spec.name}",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        *[Column(c.name, _column_type(c.kind), index=(c.name == "code")) for c in _spec.columns],
        *[Column(name, Text, index=True) for name in _spec.derived],  # computed at load
        Column("geom", geometry_type(), nullable=False),  # EPSG:4326 (WKB on SQLite)
    )
    Index(f"ix_ref_{_spec.name}_geom", reference_tables[_spec.name].c.geom, postgresql_using="gist").ddl_if(
        dialect="postgresql"
    )
for _table_spec in TABLES:
    reference_tables[_table_spec.name] = Table(
        f"ref_{_table_spec.name}",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        *[Column(c.name, _column_type(c.kind)) for c in _table_spec.columns],
    )

# Modules that define more tables on `metadata` (problems, patrols, …), imported before the
# schema is created. Add yours here; new tables are created by `migrate`, changes to existing
# ones need a numbered migration below.
SCHEMA_MODULES: tuple[str, ...] = (
    "gridmap.accounts.schema",
    "gridmap.problems.schema",
    "gridmap.routing.schema",
    "gridmap.notify.schema",
    "gridmap.wording.schema",
    "gridmap.evaluation.schema",
    "gridmap.exposure.schema",
    "gridmap.assessment.schema",
    "gridmap.atlasjobs.schema",
)

# Migrations: version -> function(connection). Version 1 is the initial schema.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


def _geometry_columns(conn: Connection) -> None:
    """5: PostgreSQL stores reference geometry as PostGIS geometry (was WKB bytea) with GiST indexes."""
    if not is_postgresql(conn):
        return
    for spec in LAYERS:
        table = f"ref_{spec.name}"
        kind = conn.execute(
            text(
                "SELECT udt_name FROM information_schema.columns WHERE table_name = :t AND column_name = 'geom'"
            ),
            {"t": table},
        ).scalar()
        if kind == "bytea":
            conn.execute(
                text(
                    f"ALTER TABLE {table} ALTER COLUMN geom TYPE geometry(Geometry,{SRID}) "
                    f"USING ST_SetSRID(ST_GeomFromWKB(geom), {SRID})"
                )
            )
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{table}_geom ON {table} USING gist (geom)"))
    # SQLite never checked VARCHAR lengths; PostgreSQL does ("request_extension" is 17 long).
    conn.execute(text("ALTER TABLE problem_events ALTER COLUMN action TYPE VARCHAR(32)"))


MIGRATIONS[5] = _geometry_columns


def _household_building(conn: Connection) -> None:
    """6: household heads are bound to a building (ref_household_heads.building_code)."""
    from sqlalchemy import inspect

    if "building_code" not in {c["name"] for c in inspect(conn).get_columns("ref_household_heads")}:
        conn.execute(text("ALTER TABLE ref_household_heads ADD COLUMN building_code TEXT"))


MIGRATIONS[6] = _household_building


def _postgis(engine: Engine) -> None:
    """Make sure the database has PostGIS (needs a role allowed to create the extension once)."""
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except DBAPIError as exc:
        msg = (
            f"PostgreSQL 数据库 {engine.url.database} 没有 PostGIS 扩展，且当前用户无法创建：{exc.orig}。"
            "请安装 PostGIS（Debian：postgresql-<版本>-postgis-3），并由超级用户在该库执行 CREATE EXTENSION postgis"
        )
        raise ConfigError(msg) from exc


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _refuse_nul(_conn, _cursor, _statement, parameters, _context, _executemany) -> None:
    """PostgreSQL refuses text with NUL characters (SQLite stores them): say so as bad input, not a 500."""
    if parameters and _has_nul(parameters):
        msg = "输入中含有空字符（\\x00），数据库不能保存；请删除这个不可见字符后重试"
        raise InvalidInput(msg)


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
        if is_postgresql(self.engine):
            event.listen(self.engine, "before_cursor_execute", _refuse_nul)
        self.migrate()

    def migrate(self) -> int:
        """Create the schema or bring it up to SCHEMA_VERSION; return the version."""
        import importlib

        for module in SCHEMA_MODULES:
            importlib.import_module(module)
        if is_postgresql(self.engine):
            _postgis(self.engine)
        with self.engine.begin() as conn:
            if is_postgresql(conn):  # several servers starting at once migrate one after another
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK_KEY})
            metadata.create_all(conn)
            row = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version"))
            current = int(row.scalar() or 0)
            if current == 0:
                conn.execute(insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))
                current = SCHEMA_VERSION
            for version in range(current + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](conn)
                conn.execute(
                    meta_table.update().where(meta_table.c.key == "schema_version").values(value=str(version))
                )
        return SCHEMA_VERSION

    # --- transactions -------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """The one way to write: a transaction, queued behind other writers on a SQLite file.

        SQLite lets one writer in at a time and makes the others poll with growing sleeps,
        which wastes most of the time under many concurrent writers; an advisory file lock
        around the short write transaction queues them in the kernel instead. On PostgreSQL
        the transaction first takes a transaction-level advisory lock, so writers on every
        process and server sharing the database queue one after another in the database (as
        they do on a SQLite file), and a write's reads see every earlier write committed:
        read-then-write code (counters, idempotency keys, compare-and-set versions) stays
        correct without in-process state. In-memory SQLite needs no lock.
        """
        if is_postgresql(self.engine):
            with self.engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})
                yield conn
            return
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if not database or database == ":memory:":
            with self.engine.begin() as conn:
                yield conn
            return
        import fcntl

        fd = os.open(f"{database}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with self.engine.begin() as conn:
                yield conn
        finally:
            os.close(fd)  # releases the lock

    def reading(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection for reads (no transaction is held open longer than the block)."""
        return self.engine.connect()

    # --- meta -------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(meta_table.c.value).where(meta_table.c.key == key)).scalar()

    def data_version(self) -> int:
        """A counter bumped by every reference load; caches compare it to stay fresh."""
        return int(self.get_meta("data_version") or 0)

    # Data-version bumps tried in this process: a reference cache re-reads the version at once when
    # this moves, instead of waiting for its next periodic check (GRIDMAP_VERSION_CHECK_S).
    bumps_here: int = 0

    def meta_setdefault(self, key: str, value: str) -> str:
        """meta[key], set to ``value`` first if absent; concurrent servers all get the one that won."""
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        with self.writing() as conn:
            conn.execute(dialect.insert(meta_table).values(key=key, value=value).on_conflict_do_nothing())
        return str(self.get_meta(key))

    def drop_connections(self, *, close: bool = True) -> None:
        """Empty the connection pool: ``close=False`` in a forked child, whose inherited connections
        belong to the parent and must be forgotten, never used or closed (SQLAlchemy's fork recipe)."""
        self.engine.dispose(close=close)

    @staticmethod
    def _set_meta(conn, key: str, value: str) -> None:
        updated = conn.execute(
            meta_table.update().where(meta_table.c.key == key).values(value=value)
        ).rowcount
        if not updated:
            conn.execute(insert(meta_table).values(key=key, value=value))

    def _bump_version(self, conn, *, expected: int | None = None) -> int:
        """Increment data_version inside the caller's transaction (compare-and-set).

        The update takes the write lock first, so concurrent writers serialise; with
        ``expected``, a version changed since the caller validated gives Conflict.
        """
        current = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "data_version")).scalar()
        current_version = int(current or 0)
        if expected is not None and current_version != expected:
            msg = f"数据在检查之后已被修改（版本 {expected} → {current_version}），本次导入未写入；请重新导入"
            raise Conflict(msg)
        version = current_version + 1
        Store.bumps_here += 1
        if current is None:
            conn.execute(insert(meta_table).values(key="data_version", value=str(version)))
            return version
        bumped = conn.execute(
            meta_table.update()
            .where(meta_table.c.key == "data_version")
            .where(meta_table.c.value == current)
            .values(value=str(version))
        ).rowcount
        if bumped != 1:
            msg = "数据正在被另一个写入修改，本次未写入；请稍后重试"
            raise Conflict(msg)
        return version

    # --- reference data -----------------------------------------------------------------
    def replace_reference(self, dataset: Dataset, derived: dict[str, pd.DataFrame]) -> int:
        """Replace all reference data in one transaction; return the new data version.

        Rows go in as column-built tuples in one executemany per table (SQLite) or one COPY per
        table (PostgreSQL, geometry as EWKB hex), not as a dict per row through SQLAlchemy.
        """
        postgresql = is_postgresql(self.engine)
        columns: dict[str, dict[str, list]] = {}
        for spec in LAYERS:
            gdf = dataset.layers.get(spec.name)
            if gdf is None:
                continue
            values = {c.name: _column_values(gdf[c.name]) for c in spec.columns}
            for name in spec.derived:
                values[name] = _column_values(derived[spec.name][name])
            values["geom"] = _geometry_values(gdf.geometry.to_numpy(), postgresql=postgresql)
            columns[spec.name] = values
        for table_spec in TABLES:
            frame = dataset.tables[table_spec.name]
            columns[table_spec.name] = {c.name: _column_values(frame[c.name]) for c in table_spec.columns}
        with self.writing() as conn:
            for table in reference_tables.values():
                conn.execute(delete(table))
            for name, values in columns.items():
                _insert_columns(conn, reference_tables[name], values)
            version = self._bump_version(conn)
            self._set_meta(conn, "data_source", dataset.source)
            self._set_meta(conn, "data_loaded_at", dt.datetime.now(dt.UTC).isoformat())
        return version

    def has_reference(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(reference_tables["grids"].c.id).limit(1)).first() is not None

    def read_dataset(self) -> Dataset:
        """Read the reference data back as a Dataset (layers in EPSG:4326); NotFound when empty."""
        if not self.has_reference():
            msg = "数据库中还没有网格数据。请先运行 `gridmap load geodata/demo` 或导入本县数据"
            raise NotFound(msg)
        return self.read_current()

    def read_current(self) -> Dataset:
        """Every layer and table as stored now (empty frames where nothing is stored)."""
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
                frame = frame.drop(columns=["id", *spec.derived])
                for c in spec.columns:
                    frame[c.name] = frame[c.name].astype("Int64" if c.kind == "int" else object)
                layers[spec.name] = gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")
            for table_spec in TABLES:
                table = reference_tables[table_spec.name]
                frame = pd.DataFrame(
                    conn.execute(select(table).order_by(table.c.id)).mappings().all(),
                    columns=[c.name for c in table.columns],
                )
                tables[table_spec.name] = frame.drop(columns=["id"]).astype(object)
        return Dataset(layers=layers, tables=tables, source=self.get_meta("data_source") or "")

    def import_reference(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        mode: str,
        expected_version: int | None = None,
        derived: dict[str, pd.DataFrame] | None = None,
        source: str = "",
        progress=None,
    ) -> int:
        """Replace or merge one layer/table in ONE transaction; bump data_version; return it.

        Parameters
        ----------
        name : str
            A layer ("grids", …) or table ("units", …) name.
        frame : DataFrame or GeoDataFrame
            The rows, with the spec's columns (layers: geometry in EPSG:4326, and for
            segments/points/communities a "grid_code" column).
        mode : {"replace", "merge"}
            replace: the layer/table holds exactly these rows afterwards. merge: stored rows whose
            key (code; grid_code or town_code for link tables) appears in `frame` are replaced,
            the others kept.
        expected_version : int, optional
            data_version the caller validated against; another write since gives Conflict and
            nothing is written.
        derived : dict, optional
            For other layers: DataFrame(code, grid_code) to update their derived grid codes.
        progress : callable, optional
            ``progress(rows_written, rows_total)``.
        """
        from gridmap.model import LAYER_BY_NAME, TABLE_BY_NAME

        if mode not in ("replace", "merge"):
            msg = f"导入方式应为 replace 或 merge，收到：{mode!r}"
            raise InvalidInput(msg)
        if name in LAYER_BY_NAME:
            spec_columns = [c.name for c in LAYER_BY_NAME[name].columns]
            out = pd.DataFrame({c: frame[c].to_numpy(dtype=object) for c in spec_columns})
            for column in LAYER_BY_NAME[name].derived:
                values = frame[column] if column in frame else pd.Series([None] * len(frame))
                out[column] = values.to_numpy(dtype=object)
            out["geom"] = shapely.to_wkb(frame.geometry.to_numpy(), output_dimension=2)
        elif name in TABLE_BY_NAME:
            spec_columns = [c.name for c in TABLE_BY_NAME[name].columns]
            out = pd.DataFrame({c: frame[c].to_numpy(dtype=object) for c in spec_columns})
        else:
            msg = f"未知的图层或表：{name}"
            raise InvalidInput(msg)
        records = _records(out)
        table = reference_tables[name]
        key = merge_key(name)
        with self.writing() as conn:
            version = self._bump_version(conn, expected=expected_version)
            if mode == "replace" or key is None:
                if mode == "replace":
                    conn.execute(delete(table))
            else:
                keys = list(dict.fromkeys(v for v in out[key].tolist() if v is not None))
                for start in range(0, len(keys), 500):
                    conn.execute(delete(table).where(table.c[key].in_(keys[start : start + 500])))
            for start in range(0, len(records), _IMPORT_CHUNK):
                conn.execute(insert(table), records[start : start + _IMPORT_CHUNK])
                if progress is not None:
                    progress(min(start + _IMPORT_CHUNK, len(records)), len(records))
            from sqlalchemy import bindparam

            for layer, codes in (derived or {}).items():
                if layer == name or codes is None or not len(codes):
                    continue
                target = reference_tables[layer]
                rows = [{"k": k, "g": g} for k, g in zip(codes["code"], codes["grid_code"])]
                conn.execute(
                    target.update().where(target.c.code == bindparam("k")).values(grid_code=bindparam("g")),
                    rows,
                )
            self._set_meta(conn, "data_loaded_at", dt.datetime.now(dt.UTC).isoformat())
            self._set_meta(conn, "last_import", source)
        return version


def _records(frame: pd.DataFrame) -> list[dict]:
    out = frame.astype(object).where(frame.notna(), None)
    return out.to_dict("records")


def _column_values(series: pd.Series) -> list:
    """A column's values as Python objects, missing ones (NaN, None, NaT) as None."""
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values.tolist()


def _geometry_values(geometries, *, postgresql: bool) -> list:
    """WKB bytes (SQLite), or EWKB hex with the SRID for a PostgreSQL COPY."""
    if postgresql:
        tagged = shapely.set_srid(geometries, SRID)
        return list(shapely.to_wkb(tagged, output_dimension=2, hex=True, include_srid=True))
    return list(shapely.to_wkb(geometries, output_dimension=2))


def _nul_column(values: list) -> bool:
    texts = [v for v in values if isinstance(v, str)]
    return bool(texts) and pd.Series(texts, dtype=object).str.contains("\x00", regex=False).any()


def _insert_columns(conn: Connection, table: Table, values: dict[str, list]) -> None:
    """Insert rows given column by column: one executemany of tuples, or a COPY on PostgreSQL."""
    names = list(values)
    rows = list(zip(*values.values(), strict=True))
    if not rows:
        return
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
    if not is_postgresql(conn):
        marks = ", ".join("?" for _ in names)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({quoted}) VALUES ({marks})", rows)
        return
    if any(_nul_column(v) for n, v in values.items() if n != "geom"):
        msg = "输入中含有空字符（\\x00），数据库不能保存；请删除这个不可见字符后重试"
        raise InvalidInput(msg)
    ints = [i for i, n in enumerate(names) if isinstance(table.c[n].type, Integer)]
    if ints:  # an integral float (a column that had gaps) is written as the integer it is
        rows = [tuple(_integral(v) if i in ints else v for i, v in enumerate(row)) for row in rows]
    statement = f"COPY {table.name} ({quoted}) FROM STDIN"
    raw = conn.connection.driver_connection
    assert raw is not None
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, conn.dialect.loaded_dbapi.Error) from exc


def _integral(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# === Per-layer import (issue 6: gridmap import) ==========================================
# Store methods used by gridmap/importer.py: read what is there (even without grids), and
# replace or merge ONE layer or table in one transaction that also bumps data_version.

# Merge keys of tables without a unique code: their rows are replaced group by group.
_MERGE_KEYS = {
    "grid_leaders": "grid_code",
    "town_leaders": "town_code",
    "rivers": "name",
    "grid_roles": "grid_code",
    "frontages": "shop_code",  # a shop's frontages replaced together
    "grid_people": "grid_code",  # a grid's people replaced together
}
_IMPORT_CHUNK = 5000


def merge_key(name: str) -> str | None:
    """The column that identifies a row of layer or table `name` when imports merge, or None."""
    from gridmap.model import LAYER_BY_NAME, TABLE_BY_NAME

    if name in _MERGE_KEYS:
        return _MERGE_KEYS[name]
    if name in TABLE_BY_NAME:
        return TABLE_BY_NAME[name].key
    return "code" if any(c.name == "code" for c in LAYER_BY_NAME[name].columns) else None
