"""Settings: each declared once, documented in the README, and parsed as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridmap.errors import ConfigError
from gridmap.passwords import secret_key
from gridmap.settings import SETTINGS, config_file, load_settings

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented_in_the_readme(setting):
    rows = [line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    assert any(f"`{setting.name}`" in row for row in rows), f"{setting.name} missing from README"
    assert setting.help.strip()


def test_defaults(tmp_path):
    values = load_settings(environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path)})
    assert values["PORT"] == 5000
    assert values["GRIDMAP_BASEMAP"] == "none"
    assert values["GRIDMAP_WHOIS_TOLERANCE_M"] == 50.0
    assert values["GRIDMAP_DATABASE_URL"] == f"sqlite:///{tmp_path / 'gridmap.sqlite'}"


def test_environment_beats_config_file(tmp_path):
    config_file(tmp_path).write_text('PORT = 7000\nGRIDMAP_BASEMAP = "osm"\n', encoding="utf-8")
    values = load_settings(environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path), "PORT": "8080"})
    assert values["PORT"] == 8080
    assert values["GRIDMAP_BASEMAP"] == "osm"


@pytest.mark.parametrize(
    ("env", "text"),
    [
        ({"PORT": "abc"}, "PORT"),
        ({"PORT": "-1"}, "PORT"),
        ({"GRIDMAP_BASEMAP": "google"}, "GRIDMAP_BASEMAP"),
        ({"GRIDMAP_BASEMAP": "tianditu"}, "GRIDMAP_TIANDITU_TOKEN"),
        ({"GRIDMAP_WHOIS_TOLERANCE_M": "0"}, "GRIDMAP_WHOIS_TOLERANCE_M"),
    ],
)
def test_bad_values_are_named(tmp_path, env, text):
    with pytest.raises(ConfigError, match=text):
        load_settings(environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path), **env})


def test_local_tile_folder_basemap(tmp_path):
    values = load_settings(environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path), "GRIDMAP_BASEMAP": str(tmp_path)})
    assert values["GRIDMAP_BASEMAP"] == str(tmp_path.resolve())


def test_unknown_key_in_config_file(tmp_path):
    config_file(tmp_path).write_text("PROT = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="PROT"):
        load_settings(environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path)})


def test_generated_secret_is_kept_in_the_database_and_stable(tmp_path, database_url):
    from gridmap.store import Store

    settings = load_settings(
        environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path), "GRIDMAP_DATABASE_URL": database_url}
    )
    first = secret_key(settings, Store(settings.database_url))
    assert len(first) == 64 and secret_key(settings, Store(settings.database_url)) == first
    assert not (tmp_path / "secret_key").exists()  # nothing private left in a server's own folder


def test_settings_object_is_frozen_typed_and_matches_the_registry(tmp_path):
    import dataclasses
    import types
    import typing

    from gridmap.settings import Settings, attribute_name

    declared = {f.name: f for f in dataclasses.fields(Settings)}
    assert set(declared) == {attribute_name(s.name) for s in SETTINGS}
    hints = typing.get_type_hints(Settings)
    settings = load_settings(environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path)})
    for setting in SETTINGS:
        value = getattr(settings, attribute_name(setting.name))
        assert settings[setting.name] == value
        if setting.default is not None:  # every default has its field's type
            hint = hints[attribute_name(setting.name)]
            if isinstance(hint, types.UnionType):  # str | None: one of the members
                kinds = tuple(typing.get_origin(a) or a for a in typing.get_args(hint))
            else:  # tuple[tuple[int, int], ...]: the container
                kinds = (typing.get_origin(hint) or hint,)
            assert isinstance(setting.default, kinds), setting.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]
    assert settings.but(patrol_mode="bike").patrol_mode == "bike" and settings.patrol_mode == "walk"


def test_overrides_are_parsed_like_the_environment(tmp_path):
    settings = load_settings(
        {"PORT": "8081", "GRIDMAP_PATROL_OWN_GRIDS": "false"}, environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path)}
    )
    assert settings.port == 8081 and settings.patrol_own_grids is False
    with pytest.raises(ConfigError, match="GRIDMAP_PATROL_MODE"):
        load_settings({"GRIDMAP_PATROL_MODE": "drive"}, environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path)})


def test_work_hours_are_spans_in_minutes_and_bad_spans_say_what_to_write(tmp_path):
    env = {"GRIDMAP_INSTANCE_DIR": str(tmp_path)}
    assert load_settings(environ=env).work_hours == ((510, 720), (870, 1080))
    assert load_settings({"GRIDMAP_WORK_HOURS": "09:00-17:00"}, environ=env).work_hours == ((540, 1020),)
    for bad in ("9-17", "14:00-12:00", "08:00-12:00,11:00-13:00", ","):
        with pytest.raises(ConfigError, match="GRIDMAP_WORK_HOURS"):
            load_settings({"GRIDMAP_WORK_HOURS": bad}, environ=env)


def test_notification_addresses_must_be_smtp_and_http_urls(tmp_path):
    env = {"GRIDMAP_INSTANCE_DIR": str(tmp_path)}
    settings = load_settings(
        {"GRIDMAP_SMTP_URL": "smtp://127.0.0.1:2525", "GRIDMAP_WEBHOOK_URL": "http://127.0.0.1:9/hook"},
        environ=env,
    )
    assert (settings.smtp_url, settings.webhook_url) == ("smtp://127.0.0.1:2525", "http://127.0.0.1:9/hook")
    assert load_settings(environ=env).smtp_url is None
    with pytest.raises(ConfigError, match="GRIDMAP_SMTP_URL"):
        load_settings({"GRIDMAP_SMTP_URL": "http://mail"}, environ=env)
    with pytest.raises(ConfigError, match="GRIDMAP_WEBHOOK_URL"):
        load_settings({"GRIDMAP_WEBHOOK_URL": "ftp://x"}, environ=env)
    with pytest.raises(ConfigError, match="GRIDMAP_DIGEST_AT"):
        load_settings({"GRIDMAP_DIGEST_AT": "25:00"}, environ=env)
    assert load_settings({"GRIDMAP_DIGEST_AT": "7:5"}, environ=env).digest_at == "07:05"


def test_digest_at_left_empty_turns_the_digest_off(tmp_path):
    """As documented (留空不发): an empty GRIDMAP_DIGEST_AT in the environment means no digest, not 08:00."""
    env = {"GRIDMAP_INSTANCE_DIR": str(tmp_path)}
    assert load_settings(environ=env).digest_at == "08:00"
    assert load_settings(environ={**env, "GRIDMAP_DIGEST_AT": ""}).digest_at == ""
    assert load_settings(environ={**env, "PORT": ""}).port == 5000  # other settings: empty is the default
