"""Schema 3 and 4: a database from before issue 12 keeps its problems and users and gains the new columns."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from gridmap.store import SCHEMA_VERSION, Store

NEW_PROBLEM_COLUMNS = (
    "urgency",
    "verify_deadline",
    "verifier",
    "parked_until",
    "merged_into",
    "returns",
    "reopens",
    "satisfaction",
    "satisfaction_note",
    "satisfaction_at",
    "reporter_key",
)


def test_schema_2_database_is_migrated_with_its_problems(settings):
    url = settings["GRIDMAP_DATABASE_URL"]
    Store(url).engine.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:  # back to what schema 2 had, with one problem and one user in it
        conn.execute(
            text(
                "INSERT INTO problems (tracking_no, category, description, lon, lat, source, status, fallback,"
                " deadline, supporters, extensions, reworks, created_at, updated_at)"
                " VALUES ('20261001-0001', 'x', '井盖缺失', 106.5, 33.9, 'citizen', 'dispatched', false,"
                " '2026-10-09 01:00:00', 0, 0, 0, '2026-09-30 08:00:00', '2026-09-30 08:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO users (username, role, password_hash, active, created_at)"
                " VALUES ('old', 'office', 'x', true, '2026-01-01 00:00:00')"
            )
        )
        for column in NEW_PROBLEM_COLUMNS:
            conn.execute(text(f"ALTER TABLE problems DROP COLUMN {column}"))
        conn.execute(text("ALTER TABLE problem_events DROP COLUMN detail"))
        conn.execute(text("ALTER TABLE users DROP COLUMN email"))
        conn.execute(text("ALTER TABLE users DROP COLUMN phone"))
        conn.execute(text("DROP TABLE problem_requests"))
        conn.execute(text("UPDATE meta SET value = '2' WHERE key = 'schema_version'"))
    engine.dispose()

    migrated = Store(url)
    assert migrated.get_meta("schema_version") == str(SCHEMA_VERSION)
    columns = {c["name"] for c in inspect(migrated.engine).get_columns("problems")}
    assert set(NEW_PROBLEM_COLUMNS) <= columns
    assert {"email", "phone"} <= {c["name"] for c in inspect(migrated.engine).get_columns("users")}
    assert "problem_requests" in inspect(migrated.engine).get_table_names()
    with migrated.engine.connect() as conn:
        row = conn.execute(
            text("SELECT tracking_no, urgency, returns, reopens, satisfaction FROM problems")
        ).one()
        user = conn.execute(text("SELECT username, email FROM users")).one()
    assert tuple(row) == ("20261001-0001", "normal", 0, 0, None)
    assert tuple(user) == ("old", None)
    assert Store(url).get_meta("schema_version") == str(SCHEMA_VERSION)  # a second start changes nothing


def test_schema_5_database_gains_grid_levels_and_problem_shops(settings):
    url = settings["GRIDMAP_DATABASE_URL"]
    Store(url).engine.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:  # back to what schema 5 had, with one problem and one household head
        conn.execute(
            text(
                "INSERT INTO problems (tracking_no, category, description, lon, lat, source, status, fallback,"
                " deadline, supporters, extensions, reworks, created_at, updated_at)"
                " VALUES ('20261101-0001', 'stall', '占道经营', 106.5, 33.9, 'citizen', 'reported', false,"
                " '2026-11-09 01:00:00', 0, 0, 0, '2026-11-01 08:00:00', '2026-11-01 08:00:00')"
            )
        )
        conn.execute(
            text("INSERT INTO ref_household_heads (code, name, community_code) VALUES ('H1', '郑大姐', 'C1')")
        )
        conn.execute(text("DROP INDEX ix_problems_shop_code"))
        conn.execute(text("ALTER TABLE problems DROP COLUMN shop_code"))
        conn.execute(text("ALTER TABLE problems DROP COLUMN shop_name"))
        conn.execute(text("ALTER TABLE ref_household_heads DROP COLUMN building_code"))
        for table in ("ref_subgrids", "ref_shops", "ref_frontages", "ref_buildings", "ref_grid_people"):
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("UPDATE meta SET value = '5' WHERE key = 'schema_version'"))
    engine.dispose()

    migrated = Store(url)
    assert migrated.get_meta("schema_version") == str(SCHEMA_VERSION) == "7"
    found = inspect(migrated.engine)
    assert {"shop_code", "shop_name"} <= {c["name"] for c in found.get_columns("problems")}
    assert "ix_problems_shop_code" in {i["name"] for i in found.get_indexes("problems")}
    assert "building_code" in {c["name"] for c in found.get_columns("ref_household_heads")}
    assert {"ref_subgrids", "ref_shops", "ref_frontages", "ref_buildings", "ref_grid_people"} <= set(
        found.get_table_names()
    )
    with migrated.engine.connect() as conn:
        assert conn.execute(text("SELECT tracking_no, shop_code FROM problems")).all() == [
            ("20261101-0001", None)
        ]
        assert conn.execute(text("SELECT name, building_code FROM ref_household_heads")).all() == [
            ("郑大姐", None)
        ]
