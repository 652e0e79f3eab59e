"""The import preview: a folium map of what an import would write, problems in colour."""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.importer.report import ImportReport

if TYPE_CHECKING:
    import folium

__all__ = ["PREVIEW_LIMIT", "preview_map"]

PREVIEW_LIMIT = 5000  # features drawn on the preview map
# Where a preview with nothing to show looks: all of China (lat, lon) at a zoom that shows it.
_COUNTRY_CENTRE = (35.0, 105.0)
_COUNTRY_ZOOM = 4


def preview_map(report: ImportReport) -> folium.Map:
    """A folium map of what an import would write (first PREVIEW_LIMIT features), problems in colour.

    No basemap (works offline); the caller passes it through `gridmap.assets.localize`.
    Tooltips are plain text shown with ``textContent`` (gridmap.maps.FeatureText), never HTML.
    """
    import folium

    from gridmap import safe
    from gridmap.maps import FeatureText

    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True)
    data = report.data
    if data is None or not isinstance(data, gpd.GeoDataFrame) or not len(data):
        _look_at(m, report.extent)
        return m
    labels = (
        pd.Index(report.feature_labels)
        if report.feature_labels is not None
        else pd.Index([f"第 {i + 1} 个" for i in range(len(data))])
    )[:PREVIEW_LIMIT]
    data = data.iloc[:PREVIEW_LIMIT]
    keep = ~(data.geometry.is_empty | data.geometry.isna()).to_numpy()
    data, labels = data[keep], labels[keep]
    severity: dict[str, str] = {}
    for f in report.findings:
        if isinstance(f.feature, str) and (f.severity == "error" or f.feature not in severity):
            severity[f.feature] = f.severity
    name_column = "road_name" if "road_name" in data.columns else "name"
    codes = data["code"].tolist() if "code" in data.columns else [None] * len(data)
    names = data[name_column].tolist() if name_column in data.columns else [None] * len(data)
    show = gpd.GeoDataFrame(
        {
            "label": [
                f"要素/行：{safe.text(label)}\n编码：{safe.text(code)}\n名称：{safe.text(name)}"
                for label, code, name in zip(labels, codes, names)
            ],
            "state": [severity.get(str(v), "ok") for v in labels],
        },
        geometry=data.geometry.values,
        crs="EPSG:4326",
    )
    colours = {"ok": "#2563eb", "warning": "#f59e0b", "error": "#dc2626"}

    def style(feature):
        colour = colours[feature["properties"]["state"]]
        return {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.25}

    layer = folium.GeoJson(
        show.to_json(),
        name=report.kind_label,
        style_function=style,
        marker=folium.CircleMarker(radius=5, fill=True),
    )
    layer.add_child(FeatureText(tooltip=True, popup=False))
    layer.add_to(m)
    bounds = show.total_bounds
    _look_at(m, tuple(bounds) if np.isfinite(bounds).all() else report.extent)
    return m


def _look_at(m, extent: tuple[float, float, float, float] | None) -> None:
    """Fit the map to lon/lat bounds; without any, show the whole country."""
    if extent is None:
        m.location = list(_COUNTRY_CENTRE)
        m.options["zoom"] = _COUNTRY_ZOOM
        return
    minx, miny, maxx, maxy = extent
    m.fit_bounds([[miny, minx], [maxy, maxx]])
