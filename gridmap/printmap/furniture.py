"""Map furniture: a round map scale, a scale bar in metres and a north arrow pointing to true
north (the meridian convergence of the Gauss-Krüger zone taken into account)."""

from __future__ import annotations

import math

import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.patches import Polygon as MplPolygon
from matplotlib.patches import Rectangle
from pyproj import CRS, Proj, Transformer

_NICE = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5, 8.0)
_BAR_STEPS = (1, 2, 2.5, 5)


def nice_scale(denominator: float) -> int:
    """The smallest tidy map scale denominator at least as large (1:4 000, 1:5 000, 1:7 500 …)."""
    if denominator <= 0 or not math.isfinite(denominator):
        return 1000
    exp = 10 ** math.floor(math.log10(denominator))
    for n in (*_NICE, 10.0):
        if n * exp >= denominator * 0.999:
            return round(n * exp)
    return round(10 * exp)


def format_scale(denominator: int) -> str:
    """1:7500 as “1:7500” (the way Chinese maps print numeric scales)."""
    return f"1:{denominator}"


def _bar_length(max_m: float) -> tuple[float, int]:
    """A round total length in metres not above max_m, and how many parts to split it into."""
    exp = 10 ** math.floor(math.log10(max_m))
    best = exp
    for step in _BAR_STEPS:
        if step * exp <= max_m:
            best = step * exp
    parts = {1.0: 5, 2.0: 4, 2.5: 5, 5.0: 5}[round(best / exp, 2)]
    return best, parts


def draw_scale_bar(
    ax: Axes, *, x: float, y: float, max_length_m: float, metres_per_point: float, size: float
) -> shapely.Geometry:
    """Draw an alternating black-and-white bar at (x, y) (map metres, lower left); return its box."""
    length, parts = _bar_length(max_length_m)
    h = 3.2 * metres_per_point
    step = length / parts
    for i in range(parts):
        ax.add_patch(
            Rectangle(
                (x + i * step, y),
                step,
                h,
                facecolor="#222" if i % 2 == 0 else "white",
                edgecolor="#222",
                linewidth=0.6,
                zorder=30,
            )
        )
    unit = "米"
    label_y = y + h + 1.2 * metres_per_point
    for i in range(parts + 1):
        value = i * step
        text = f"{value:.0f}" if value == int(value) else f"{value:g}"
        if i == parts:
            text += f" {unit}"
        ax.text(
            x + i * step,
            label_y,
            text,
            ha="center",
            va="bottom",
            fontsize=size,
            color="#222",
            zorder=31,
            parse_math=False,
        )
    pad = 2.0 * metres_per_point
    extra = 8 * size * 0.6 * metres_per_point
    return shapely.box(x - pad, y - pad, x + length + extra, label_y + size * 1.3 * metres_per_point + pad)


def convergence_deg(local_crs: str, x: float, y: float) -> float:
    """Meridian convergence at (x, y) in the projected CRS: the angle from grid north to true north
    (positive when true north lies west of grid north, i.e. east of the central meridian)."""
    crs = CRS.from_user_input(local_crs)
    to_geo = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    lon, lat = to_geo.transform(x, y)
    factors = Proj(crs).get_factors(lon, lat)
    return float(factors.meridian_convergence)


def draw_north_arrow(
    ax: Axes, *, x: float, y: float, height_m: float, angle_deg: float, size: float
) -> shapely.Geometry:
    """Draw a north arrow whose tip is at (x, y) + height above its base centre, turned by
    angle_deg (counter-clockwise positive); return its bounding box."""
    w = height_m * 0.42
    pts_left = np.array([[0, height_m], [-w / 2, 0], [0, height_m * 0.28]])
    pts_right = np.array([[0, height_m], [w / 2, 0], [0, height_m * 0.28]])
    theta = math.radians(angle_deg)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    left = pts_left @ rot.T + [x, y]
    right = pts_right @ rot.T + [x, y]
    ax.add_patch(MplPolygon(left, closed=True, facecolor="#222", edgecolor="#222", linewidth=0.6, zorder=30))
    ax.add_patch(
        MplPolygon(right, closed=True, facecolor="white", edgecolor="#222", linewidth=0.6, zorder=30)
    )
    tip = np.array([0, height_m * 1.08]) @ rot.T + [x, y]
    ax.text(
        tip[0],
        tip[1],
        "北",
        ha="center",
        va="bottom",
        fontsize=size,
        color="#222",
        zorder=31,
        rotation=angle_deg,
        rotation_mode="anchor",
    )
    everything = np.vstack([left, right, [tip + np.array([0, size * 1.4 * height_m / 30])]])
    minx, miny = everything.min(axis=0)
    maxx, maxy = everything.max(axis=0)
    pad = height_m * 0.25
    return shapely.box(minx - pad, miny - pad, maxx + pad, maxy + height_m * 0.45)
