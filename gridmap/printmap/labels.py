"""Map labels placed without overlaps: a greedy pass over candidate positions in priority order,
checking each label's (possibly rotated) box against placed labels and obstacles."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import affinity

from gridmap.printmap import text as textmetrics

# Candidate offsets of a point label, in points from the anchor: (dx, dy, ha, va).
POINT_OFFSETS: tuple[tuple[float, float, str, str], ...] = (
    (4.0, 0.0, "left", "center"),
    (-4.0, 0.0, "right", "center"),
    (0.0, 4.0, "center", "bottom"),
    (0.0, -4.0, "center", "top"),
    (3.5, 3.0, "left", "bottom"),
    (-3.5, 3.0, "right", "bottom"),
    (3.5, -3.0, "left", "top"),
    (-3.5, -3.0, "right", "top"),
)
CENTRE: tuple[tuple[float, float, str, str], ...] = ((0.0, 0.0, "center", "center"),)


@dataclass
class Label:
    """A label to place: text, style, priority, and where it may go (anchors in map metres)."""

    text: str
    anchors: list[tuple[float, float, float]]  # (x, y, angle in degrees), tried in order
    size: float  # points
    priority: int  # lower is placed first
    color: str = "#222222"
    offsets: tuple[tuple[float, float, str, str], ...] = CENTRE
    halo: bool = True
    required: bool = False  # placed at its first candidate even if it collides
    kind: str = ""


@dataclass
class Placed:
    """A label where it will be drawn."""

    label: Label
    x: float
    y: float
    ha: str
    va: str
    angle: float
    box: shapely.Geometry = field(repr=False)


def _box(label: Label, x: float, y: float, ha: str, va: str, angle: float, mpp: float):
    w = textmetrics.width(label.text, label.size) * mpp
    h = label.size * 1.18 * mpp
    pad = 0.8 * mpp
    x0 = {"left": x, "center": x - w / 2, "right": x - w}[ha]
    y0 = {"bottom": y, "center": y - h / 2, "top": y - h, "baseline": y - 0.2 * h}[va]
    box = shapely.box(x0 - pad, y0 - pad, x0 + w + pad, y0 + h + pad)
    return affinity.rotate(box, angle, origin=(x, y)) if angle else box


def place_labels(
    labels: list[Label],
    *,
    frame: tuple[float, float, float, float],
    metres_per_point: float,
    obstacles: list[shapely.Geometry] | None = None,
) -> list[Placed]:
    """Place labels greedily: by priority, each at its first candidate that stays inside the
    frame and overlaps no placed label or obstacle; labels with no free candidate are left out.

    Parameters
    ----------
    labels : list of Label
    frame : (xmin, ymin, xmax, ymax)
        The map frame in map metres.
    metres_per_point : float
        Map metres per typographic point at print size.
    obstacles : list of shapely geometries
        Areas labels must not cover (point symbols, scale bar, north arrow).

    Returns
    -------
    list of Placed
    """
    inner = shapely.box(*frame)
    taken: list[shapely.Geometry] = list(obstacles or [])
    placed: list[Placed] = []
    order = sorted(range(len(labels)), key=lambda i: (labels[i].priority, i))
    for i in order:
        label = labels[i]
        if not label.text:
            continue
        candidates = []
        for ax, ay, angle in label.anchors:
            for dx, dy, ha, va in label.offsets:
                x, y = ax + dx * metres_per_point, ay + dy * metres_per_point
                candidates.append((x, y, ha, va, angle))
        chosen = None
        arr = np.array(taken, dtype=object) if taken else None
        for x, y, ha, va, angle in candidates:
            box = _box(label, x, y, ha, va, angle, metres_per_point)
            if not inner.contains(box):
                continue
            if arr is not None and shapely.intersects(box, arr).any():
                continue
            chosen = (x, y, ha, va, angle, box)
            break
        if chosen is None and label.required and candidates:
            x, y, ha, va, angle = candidates[0]
            chosen = (x, y, ha, va, angle, _box(label, x, y, ha, va, angle, metres_per_point))
        if chosen is None:
            continue
        x, y, ha, va, angle, box = chosen
        taken.append(box)
        placed.append(Placed(label, x, y, ha, va, angle, box))
    return placed


def line_anchors(
    line: shapely.Geometry, fractions=(0.5, 0.35, 0.65, 0.2, 0.8)
) -> list[tuple[float, float, float]]:
    """Anchors along a line with the text angle of the line there, kept upright."""
    anchors: list[tuple[float, float, float]] = []
    length = line.length
    if length == 0:
        return anchors
    for f in fractions:
        d = f * length
        a = line.interpolate(max(d - length * 0.05, 0))
        b = line.interpolate(min(d + length * 0.05, length))
        p = line.interpolate(d)
        angle = float(np.degrees(np.arctan2(b.y - a.y, b.x - a.x)))
        if angle > 90:
            angle -= 180
        elif angle <= -90:
            angle += 180
        anchors.append((p.x, p.y, angle))
    return anchors
