"""Settings: each declared once, documented in the README, and parsed as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridmap.errors import ConfigError
from gridmap.settings import SETTINGS, config_file, load_settings, secret_key

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
    config_file(tmp_path).write_text('PROT = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="PROT"):
        load_settings(environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path)})


def test_generated_secret_is_kept_private_and_stable(tmp_path):
    settings = load_settings(environ={"GRIDMAP_INSTANCE_DIR": str(tmp_path)})
    first = secret_key(settings)
    assert len(first) == 64 and secret_key(settings) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
