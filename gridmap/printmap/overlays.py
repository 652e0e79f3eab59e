"""Optional layers on a printed map (problems by status, a patrol route with numbered stops, or any
GeoDataFrame with a style), passed in by the caller."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd

from gridmap.errors import InvalidInput

if TYPE_CHECKING:
    from matplotlib.typing import LineStyleType

# Problem workflow statuses (see DESIGN.md): the fallback when gridmap.problems is absent.
PROBLEM_STATUS_STYLE: dict[str, tuple[str, str]] = {
    "reported": ("#e41a1c", "已上报"),
    "accepted": ("#ff7f00", "已立案"),
    "dispatched": ("#ffb000", "已派遣"),
    "rework": ("#a50f15", "返工"),
    "extended": ("#984ea3", "已延期"),
    "rectified": ("#377eb8", "已整改"),
    "verified": ("#1b9e77", "已核查"),
    "closed": ("#4daf4a", "已结案"),
    "rejected": ("#999999", "不予立案"),
    "overdue": ("#67000d", "已超期"),
}


@dataclass
class Overlay:
    """A caller's layer drawn over the map, with its legend entries.

    Parameters
    ----------
    data : GeoDataFrame
        Features with a CRS (any; drawn in the model's local CRS). Points, lines or polygons.
    label : str
        Legend text (Chinese), or the legend heading when `column` splits the layer.
    color : str
        Colour of every feature, unless `column` and `colors` say otherwise.
    column : str, optional
        A column whose values get their own colour and legend entry (e.g. a problem's status).
    colors, names : mapping
        Value of `column` → colour, and → legend text.
    marker : str
        Matplotlib marker of point features.
    size : float
        Marker size in points (diameter) or line width in points.
    linestyle : str or (offset, dashes)
        Line style of line features (a Matplotlib line style, e.g. ``"-"`` or ``(0, (5, 2))``).
    numbered : bool
        Number point features 1, 2, 3 … in row order (patrol stops).
    label_column : str, optional
        A column with a short text drawn beside each point (placed without overlaps).
    """

    data: gpd.GeoDataFrame
    label: str
    color: str = "#e41a1c"
    column: str | None = None
    colors: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    marker: str = "o"
    size: float = 6.0
    linestyle: LineStyleType = "-"
    numbered: bool = False
    label_column: str | None = None

    def validate(self) -> None:
        if not isinstance(self.data, gpd.GeoDataFrame):
            msg = f"叠加图层“{self.label}”应为 GeoDataFrame"
            raise InvalidInput(msg)
        if len(self.data) and self.data.crs is None:
            msg = f"叠加图层“{self.label}”没有坐标系（CRS），无法与地图对齐"
            raise InvalidInput(msg)
        for name in (self.column, self.label_column):
            if name is not None and name not in self.data.columns:
                msg = f"叠加图层“{self.label}”没有字段“{name}”"
                raise InvalidInput(msg)

    def groups(self) -> list[tuple[str, str, gpd.GeoDataFrame]]:
        """(legend text, colour, features) for each colour class, in a stable order."""
        if self.column is None:
            return [(self.label, self.color, self.data)]
        out = []
        values = list(dict.fromkeys([*self.colors, *self.data[self.column].dropna().astype(str)]))
        for value in values:
            part = self.data[self.data[self.column].astype(str) == value]
            if len(part):
                out.append((self.names.get(value, value), self.colors.get(value, self.color), part))
        return out


def _status_style() -> tuple[dict[str, str], dict[str, str]]:
    """Status colours and names: the problem workflow's own where it is installed, ours else."""
    colors = {k: v[0] for k, v in PROBLEM_STATUS_STYLE.items()}
    names = {k: v[1] for k, v in PROBLEM_STATUS_STYLE.items()}
    try:
        from gridmap.problems.states import STATUS_COLORS, STATUS_LABELS
    except ImportError:
        return colors, names
    return {**colors, **STATUS_COLORS}, {**names, **STATUS_LABELS}


def problem_overlay(
    problems: gpd.GeoDataFrame, *, status_column: str = "status", label: str = "问题（按状态）"
) -> Overlay:
    """Problems as dots coloured by workflow status, with Chinese status names in the legend
    (the same colours and names as the web map's problem layer)."""
    colors, names = _status_style()
    return Overlay(
        data=problems, label=label, column=status_column, colors=colors, names=names, marker="X", size=6.5
    )


def route_overlays(
    route: gpd.GeoDataFrame,
    stops: gpd.GeoDataFrame | None = None,
    *,
    label: str = "巡查路线",
    stop_label: str = "巡查点（按顺序编号）",
    name_column: str | None = None,
) -> list[Overlay]:
    """A patrol route line and, if given, its stops numbered in row order."""
    layers = [Overlay(data=route, label=label, color="#0050b4", size=2.2, linestyle=(0, (5, 2)))]
    if stops is not None:
        layers.append(
            Overlay(
                data=stops,
                label=stop_label,
                color="#0050b4",
                numbered=True,
                size=9.0,
                label_column=name_column,
            )
        )
    return layers
