"""Read one import file of any common format (SHP/ZIP, GPKG, GeoJSON, KML/KMZ, CSV, XLSX)."""

from __future__ import annotations

from pathlib import Path

from gridmap.io.archive import ArchiveLimits
from gridmap.io.columns import columns_of
from gridmap.io.coordinates import finish_geometry
from gridmap.io.encoding import normalize_codec
from gridmap.io.geojson import read_geojson
from gridmap.io.kml import read_kml
from gridmap.io.offline import no_network
from gridmap.io.shapefile import read_shapefile, read_zip_shapefile
from gridmap.io.sniff import sniff_format
from gridmap.io.source import Progress, Source
from gridmap.io.tables import read_csv, read_xlsx
from gridmap.io.vector import read_geopackage

__all__ = ["read_source"]


def read_source(
    path: str | Path,
    *,
    kind: str,
    layer: str | None = None,
    encoding: str | None = None,
    xy: tuple[str, str] | None = None,
    display_name: str | None = None,
    progress: Progress | None = None,
    limits: ArchiveLimits | None = None,
) -> Source:
    """Read one file for import as `kind`; geometry stays in the file's own coordinates.

    Nothing is fetched over the network (see `gridmap.io.offline`): a GeoJSON ``crs`` that
    is a link is dropped with a warning, and so is a .prj that holds a URL. ZIP-based files
    (KMZ, zipped Shapefile, XLSX) are read within ``limits`` (see `gridmap.io.archive`).

    Parameters
    ----------
    path : str or Path
        The file: .shp (with its .dbf/.shx/.prj/.cpg), a .zip of a Shapefile, .gpkg,
        .geojson/.json (a FeatureCollection or a bare array of Features), .kml, .kmz,
        .csv or .xlsx.
    kind : str
        What the file holds (a layer such as "grids" or a table such as "units").
    layer : str, optional
        Layer (GeoPackage, KML, ZIP with several Shapefiles) or sheet (XLSX) to read.
    encoding : str, optional
        Text encoding to use instead of detecting it (Shapefile, CSV, GeoJSON, KML).
    xy : (str, str), optional
        Longitude/X and latitude/Y column names to take point positions from.
    display_name : str, optional
        The name to show in messages (an upload's original file name).
    progress : callable, optional
        ``progress(stage, done, total)`` while reading large files.
    limits : ArchiveLimits, optional
        How much a ZIP-based file may unpack to; default from the settings
        (GRIDMAP_IMPORT_MAX_UNPACKED_MB, GRIDMAP_IMPORT_MAX_RATIO).

    Returns
    -------
    Source
    """
    no_network()
    path = Path(path)
    columns_of(kind)  # InvalidInput for unknown kinds
    name = display_name or path.name
    fmt = sniff_format(path, display_name=name)
    codec = normalize_codec(encoding) if encoding else None
    if fmt in ("shapezip", "kmz", "xlsx") and limits is None:
        limits = ArchiveLimits.from_settings()
    if fmt == "shapefile":
        source = read_shapefile(path, codec=codec, name=name, progress=progress)
    elif fmt == "shapezip":
        source = read_zip_shapefile(
            path,
            layer=layer,
            codec=codec,
            name=name,
            progress=progress,
            limits=limits or ArchiveLimits.from_settings(),
        )
    elif fmt == "gpkg":
        source = read_geopackage(path, kind=kind, layer=layer, name=name, progress=progress)
    elif fmt == "geojson":
        source = read_geojson(path.read_bytes(), codec=codec, name=name)
    elif fmt in ("kml", "kmz"):
        source = read_kml(path, fmt=fmt, kind=kind, layer=layer, codec=codec, name=name, limits=limits)
    elif fmt == "csv":
        source = read_csv(path, kind=kind, codec=codec, name=name)
    else:
        source = read_xlsx(path, kind=kind, sheet=layer, name=name, limits=limits)
    source.file = name
    finish_geometry(source, kind=kind, xy=xy)
    return source
