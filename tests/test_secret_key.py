"""The session secret: configured, or generated once and kept in the database for every server."""

from __future__ import annotations

from gridmap.passwords import secret_key
from gridmap.store import Store


def _settings(folder, url, **extra):
    return {"GRIDMAP_INSTANCE_DIR": str(folder), "GRIDMAP_DATABASE_URL": url, **extra}


def test_servers_with_their_own_folders_agree_on_the_key_kept_in_the_database(tmp_path, settings):
    database_url = settings["GRIDMAP_DATABASE_URL"]
    first = secret_key(_settings(tmp_path / "a", database_url), Store(database_url))
    second = secret_key(_settings(tmp_path / "b", database_url), Store(database_url))
    assert len(first) == 64 and second == first
    assert not (tmp_path / "a" / "secret_key").exists() and not (tmp_path / "b" / "secret_key").exists()


def test_the_first_key_written_wins_and_a_configured_key_overrides(tmp_path, settings):
    database_url = settings["GRIDMAP_DATABASE_URL"]
    store = Store(database_url)
    assert store.meta_setdefault("secret_key", "k1" * 32) == "k1" * 32
    assert store.meta_setdefault("secret_key", "k2" * 32) == "k1" * 32  # a later server reads back
    assert secret_key(_settings(tmp_path, settings), store) == "k1" * 32
    assert secret_key(_settings(tmp_path, database_url, GRIDMAP_SECRET_KEY="from-env"), store) == "from-env"


def test_a_key_kept_in_the_instance_folder_before_is_taken_over(tmp_path, settings):
    database_url = settings["GRIDMAP_DATABASE_URL"]
    (tmp_path / "secret_key").write_text("old-key-from-the-folder\n", encoding="ascii")
    assert secret_key(_settings(tmp_path, settings), Store(database_url)) == "old-key-from-the-folder"
    assert secret_key(_settings(tmp_path / "elsewhere", database_url), Store(database_url)) == (
        "old-key-from-the-folder"
    )
