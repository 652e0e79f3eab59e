"""GRIDMAP_REWARD_POINTS: the points of a valid report, a positive whole number, 10 by default."""

from __future__ import annotations

import pytest

from gridmap.errors import ConfigError
from gridmap.settings import load_settings


def test_reward_points_default_and_override(tmp_path):
    base = {"GRIDMAP_INSTANCE_DIR": str(tmp_path)}
    assert load_settings(environ=base).reward_points == 10
    assert load_settings(environ={**base, "GRIDMAP_REWARD_POINTS": "25"}).reward_points == 25
    for bad in ("0", "-5", "ten"):
        with pytest.raises(ConfigError, match="GRIDMAP_REWARD_POINTS"):
            load_settings(environ={**base, "GRIDMAP_REWARD_POINTS": bad})
