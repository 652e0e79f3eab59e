"""How a patrol day is planned, from the settings: the GRIDMAP_PATROL_* settings, overridden per request."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from gridmap.errors import InvalidInput
from gridmap.routing.day import MODES, DayOptions


def options_from_settings(settings: Mapping[str, Any], **overrides: Any) -> DayOptions:
    """DayOptions from the settings registry; keyword overrides (None = keep the setting) win.

    `settings` is the resolved settings (``load_settings()`` or the app's config): every
    GRIDMAP_PATROL_* setting is read from it; the defaults live in gridmap/settings.py only.
    """
    over = {k: v for k, v in overrides.items() if v is not None}
    mode = str(over.pop("mode", settings["GRIDMAP_PATROL_MODE"])).strip().lower()
    if mode not in MODES:
        msg = f"巡查方式应为 walk（步行）或 bike（骑行），实际为“{mode}”"
        raise InvalidInput(msg)
    speed = settings["GRIDMAP_PATROL_BIKE_KMH"] if mode == "bike" else settings["GRIDMAP_PATROL_WALK_KMH"]
    # setting values, then the caller's overrides (any type; checked below and by DayOptions)
    values: dict[str, Any] = {
        "mode": mode,
        "hours": float(settings["GRIDMAP_PATROL_HOURS"]),
        "speed_kmh": float(speed),
        "stop_minutes": float(settings["GRIDMAP_PATROL_STOP_MINUTES"]),
        "own_grids": bool(settings["GRIDMAP_PATROL_OWN_GRIDS"]),
        "point_value_m": float(settings["GRIDMAP_PATROL_POINT_VALUE_M"]),
        "max_snap_m": float(settings["GRIDMAP_PATROL_MAX_SNAP_M"]),
        "time_limit": float(settings["GRIDMAP_PATROL_TIME_LIMIT"]),
    }
    values.update(over)
    positive = (
        ("hours", "工作时长 hours"),
        ("speed_kmh", "速度 speed_kmh"),
        ("time_limit", "时间上限 time_limit"),
    )
    for name, label in positive:
        if not (isinstance(values[name], (int, float)) and math.isfinite(values[name]) and values[name] > 0):
            msg = f"{label} 应为正数，实际为 {values[name]}"
            raise InvalidInput(msg)
    if not (math.isfinite(values["stop_minutes"]) and values["stop_minutes"] >= 0):
        msg = f"每站停留分钟数应不小于 0，实际为 {values['stop_minutes']}"
        raise InvalidInput(msg)
    return DayOptions(**values)
