"""The store: schema, atomic loads, reading back what was written."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import func, select
from sqlalchemy.exc import ProgrammingError

from gridmap.errors import DataError, NotFound
from gridmap.reference import load_directory
from gridmap.store import SCHEMA_VERSION, Store, reference_tables
from tests import factory


def _count(store: Store, name: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(reference_tables[name])).scalar()


def test_new_store_is_migrated_and_in_wal_mode(store, backend):
    assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
    with store.engine.connect() as conn:
        if backend == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        else:  # PostGIS geometry with a GiST index on every layer
            kinds = conn.exec_driver_sql(
                "SELECT table_name, udt_name FROM information_schema.columns WHERE column_name = 'geom'"
                " AND table_name LIKE 'ref_%%'"
            ).all()
            assert {kind for _, kind in kinds} == {"geometry"}
            indexes = {r[0] for r in conn.exec_driver_sql("SELECT indexdef FROM pg_indexes").all()}
            for table, _ in kinds:
                assert f"CREATE INDEX ix_{table}_geom ON public.{table} USING gist (geom)" in indexes
    with pytest.raises(NotFound, match="gridmap load"):
        store.read_dataset()


def test_round_trip_keeps_names_codes_and_geometry(loaded_store, dataset_dir):
    back = loaded_store.read_dataset()
    truth = factory.layers()
    for name, gdf in truth.items():
        got = back.layers[name]
        assert len(got) == len(gdf)
        assert shapely.equals_exact(got.geometry.to_numpy(), gdf.geometry.to_numpy(), 1e-12).all()
    assert list(back.layers["grids"]["name"]) == ["滨江网格", "新建路网格"]
    assert list(back.tables["units"]["name"]) == ["县住建局", "县城管执法局", "县供电分公司"]
    assert back.layers["communities"]["households"].iloc[0] == 120


def test_reload_replaces_in_one_version(loaded_store, tmp_path):
    before = loaded_store.data_version()
    tables = factory.tables()
    tables["units"].append(["U4", "县教育局", "县级部门", None, None])
    load_directory(loaded_store, factory.write_dataset(tmp_path / "v2", tables_=tables))
    assert loaded_store.data_version() == before + 1
    assert _count(loaded_store, "units") == 4
    assert _count(loaded_store, "grids") == 2


def test_failed_load_leaves_store_unchanged(loaded_store, tmp_path):
    before = (loaded_store.data_version(), _count(loaded_store, "grids"), _count(loaded_store, "units"))
    layers = factory.layers()
    layers["grids"] = layers["grids"].drop(columns=["town_code"])
    with pytest.raises(DataError):
        load_directory(loaded_store, factory.write_dataset(tmp_path / "bad", layers_=layers))
    after = (loaded_store.data_version(), _count(loaded_store, "grids"), _count(loaded_store, "units"))
    assert after == before


def test_write_failing_mid_transaction_rolls_back(loaded_store, dataset_dir, monkeypatch):
    """A crash after the old rows are deleted must not leave an empty or half-full store."""
    from gridmap.io.read import read_dataset

    dataset = read_dataset(dataset_dir)
    dataset.tables["units"].loc[dataset.tables["units"].index[0], "name"] = object()  # unbindable
    before = _count(loaded_store, "segments")
    with pytest.raises(ProgrammingError, match="ref_units"):  # fails on the unbindable unit name
        loaded_store.replace_reference(
            dataset, {n: _derived(n, dataset) for n in ("segments", "points", "communities")}
        )
    assert _count(loaded_store, "segments") == before
    assert _count(loaded_store, "units") == 3


def _derived(name, dataset):
    import pandas as pd

    return pd.DataFrame({"grid_code": [None] * len(dataset.layers[name])})


def test_writing_queues_concurrent_writers(database_url, backend, tmp_path):
    """Read-then-write (compare-and-set) from 4 threads: no Conflict, no lost update, on both backends."""
    import threading

    from sqlalchemy import select

    from gridmap.store import Store, meta_table

    store = Store(database_url)
    errors: list[Exception] = []

    def bump(n: int) -> None:
        try:
            for _ in range(20):
                with store.writing() as conn:
                    store._bump_version(conn)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    if backend == "sqlite":
        assert (tmp_path / "instance" / "test.sqlite.write-lock").exists()
    with store.reading() as conn:
        value = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "data_version")).scalar()
    assert int(value) == 80


def test_postgresql_wkb_columns_are_migrated_to_postgis(pg_cluster, dataset_dir):
    """A version-4 PostgreSQL store (geometry as WKB bytea) becomes PostGIS geometry, data kept."""
    from sqlalchemy import create_engine, text

    name = pg_cluster.create_database()
    try:
        url = pg_cluster.url(name)
        loaded = load_directory(Store(url), dataset_dir)
        assert loaded is not None
        engine = create_engine(url)
        with engine.begin() as conn:  # turn it back into what version 4 wrote
            for table in [t.name for t in reference_tables.values() if "geom" in t.c]:
                conn.execute(text(f"DROP INDEX ix_{table}_geom"))
                conn.execute(
                    text(f"ALTER TABLE {table} ALTER COLUMN geom TYPE bytea USING ST_AsBinary(geom)")
                )
            conn.execute(text("UPDATE meta SET value = '4' WHERE key = 'schema_version'"))
        engine.dispose()
        store = Store(url)
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
        with store.reading() as conn:
            kind = conn.execute(
                text(
                    "SELECT udt_name FROM information_schema.columns WHERE table_name = 'ref_grids' AND column_name = 'geom'"
                )
            ).scalar()
            srid = conn.execute(text("SELECT DISTINCT ST_SRID(geom) FROM ref_grids")).scalar()
        assert (kind, srid) == ("geometry", 4326)
        back = store.read_dataset().layers["grids"]
        truth = factory.layers()["grids"]
        assert shapely.equals_exact(back.geometry.to_numpy(), truth.geometry.to_numpy(), 1e-12).all()
        store.engine.dispose()
    finally:
        pg_cluster.drop_database(name)


def test_text_with_a_nul_character_is_bad_input_on_postgresql(store, backend):
    """PostgreSQL cannot store NUL in text: a 400 saying so (never a 500); SQLite keeps it as it was."""
    import pandas as pd

    from gridmap.errors import InvalidInput

    units = pd.DataFrame(
        {"code": ["U1"], "name": ["县\x00住建局"], "kind": [None], "contact": [None], "phone": [None]}
    )
    if backend == "postgresql":
        with pytest.raises(InvalidInput, match="空字符"):
            store.import_reference("units", units, mode="replace")
        assert store.data_version() == 0
    else:
        store.import_reference("units", units, mode="replace")
        assert store.read_current().tables["units"]["name"].tolist() == ["县\x00住建局"]
