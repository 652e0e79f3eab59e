"""House style of printed maps: colours of units, grids and point categories, and point symbols."""

from __future__ import annotations

from gridmap.maps import CATEGORY_ICONS, GRID_COLORS

# Distinct print-friendly colours for the units of one page, handed out in the order of the
# page's responsibility table, so that the legend, the table swatches and the map agree.
# (The web map hashes a unit's code to a hue — gridmap.maps.unit_color — which is stable across
# pages but lets two neighbouring units get near-identical hues; on paper legibility wins.)
UNIT_PALETTE: tuple[str, ...] = (  # no pure reds: red is the subject grid's boundary
    "#1f77b4",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#7b4173",
    "#e6a800",
    "#3182bd",
    "#31a354",
    "#6b6ecf",
    "#8c6d31",
    "#de9ed6",
    "#636363",
    "#9c9ede",
    "#b5cf6b",
    "#a55194",
    "#00796b",
    "#fd8d3c",
    "#5254a3",
)
GRID_PALETTE: tuple[str, ...] = GRID_COLORS

# awesome-markers colour names of the web map's category icons, as print colours.
_ICON_COLOURS = {
    "orange": "#f0932f",
    "blue": "#2f8ccf",
    "red": "#d63e2a",
    "green": "#5e9e1f",
    "cadetblue": "#436978",
    "gray": "#6b6b6b",
    "darkblue": "#0067a3",
    "purple": "#b03ea0",
    "darkgreen": "#5a6a1a",
    "darkpurple": "#5b396b",
    "darkred": "#a23336",
    "lightblue": "#3fb7e0",
    "lightred": "#ff6f5e",
    "pink": "#e85fcf",
    "black": "#303030",
    "beige": "#c8a165",
    "lightgreen": "#8bc34a",
    "lightgray": "#9e9e9e",
    "white": "#bbbbbb",
}
_MARKERS = ("o", "s", "^", "D", "v", "p", "h", "P", "*", "X", "<", ">")
_CATEGORY_ORDER = {name: i for i, name in enumerate(CATEGORY_ICONS)}

# Layer colours.
SUBJECT_EDGE = "#c51b1b"
SUBJECT_FILL = "#fffaf0"
GRID_FILL = "#eeeeea"
GRID_EDGE = "#a5a5a5"
CONTEXT_ROAD = "#c4c4c4"
TOWN_EDGE = "#6a6a6a"
RIVER_FILL = "#cfe3f3"
RIVER_EDGE = "#8fb8de"
COMMUNITY_FILL = "#d5ead0"
COMMUNITY_EDGE = "#5b9a5b"
COMMUNITY_TEXT = "#2f6b2f"
MAP_BACKGROUND = "#fbfbf8"


def category_symbol(category: object) -> tuple[str, str]:
    """(matplotlib marker, colour) of an inspection point category; stable across pages."""
    name = "" if category is None else str(category)
    icon_colour = CATEGORY_ICONS.get(name, ("", "gray"))[1]
    index = _CATEGORY_ORDER.get(name)
    if index is None:
        index = sum(name.encode("utf-8")) % len(_MARKERS)
    return _MARKERS[index % len(_MARKERS)], _ICON_COLOURS.get(icon_colour, "#6b6b6b")


def palette_for(codes: list[str], *, by: str) -> dict[str, str]:
    """Colour per unit or grid code, in the given order."""
    colours = UNIT_PALETTE if by == "unit" else GRID_PALETTE
    return {code: colours[i % len(colours)] for i, code in enumerate(codes)}
