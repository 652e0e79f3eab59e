"""What reading one import file gives: the Source (frame, format, encoding, declared CRS, findings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from gridmap.errors import Finding

__all__ = ["FORMAT_LABELS", "Progress", "Source"]

FORMAT_LABELS: dict[str, str] = {
    "shapefile": "Shapefile",
    "shapezip": "Shapefile（ZIP 压缩包）",
    "gpkg": "GeoPackage",
    "geojson": "GeoJSON",
    "kml": "KML",
    "kmz": "KMZ",
    "csv": "CSV 表格",
    "xlsx": "Excel 表格（XLSX）",
}

# progress(stage, done, total): called while reading large files.
Progress = Callable[[str, int, int | None], None]


@dataclass
class Source:
    """What was read from a file: attributes, geometry in the file's coordinates, and how."""

    frame: pd.DataFrame  # a GeoDataFrame (crs = declared or None) for spatial sources
    format: str
    file: str
    layer: str | None = None
    labels: pd.Index = field(default_factory=lambda: pd.Index([]))
    encoding: str | None = None
    encoding_reason: str = ""
    declared_crs: CRS | None = None
    crs_note: str = ""  # where the declared CRS came from, or why there is none
    geometry_from: str = ""  # "几何字段", "WKT 列 …", "经纬度列 …, …"
    reserved: tuple[str, ...] = ()  # headers used for coordinates, not attributes
    column_datum: str | None = None  # datum named by the coordinate headers
    column_datum_note: str = ""
    coordinate_pairs: list[tuple[str, str, str | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def format_label(self) -> str:
        return FORMAT_LABELS.get(self.format, self.format)

    @property
    def is_spatial(self) -> bool:
        return isinstance(self.frame, gpd.GeoDataFrame)

    def where(self, **extra) -> dict:
        return {"file": self.file, "layer": self.layer, **extra}
