"""Tell an import file's format from its content: SHP/ZIP, GPKG, GeoJSON, KML/KMZ, CSV, XLSX."""

from __future__ import annotations

from pathlib import Path

from gridmap.errors import InvalidInput
from gridmap.io.archive import open_archive
from gridmap.io.encoding import decode_text

__all__ = ["sniff_format"]


def sniff_format(path: str | Path, *, display_name: str | None = None) -> str:
    """Tell a file's format from its content (extension only breaks ties); see FORMAT_LABELS.

    ZIP-based files are told apart by their member names; a ZIP that states more than
    `gridmap.io.archive.MAX_MEMBERS` members is refused (DataError) before it is listed.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"找不到文件 {path}"
        raise InvalidInput(msg)
    shown = display_name or path.name
    with path.open("rb") as fh:
        head = fh.read(8192)
    suffix = path.suffix.lower()
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(path, name=shown)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        msg = f"{shown} 是旧版 Excel（.xls）文件，请在 Excel/WPS 中另存为 .xlsx 后再导入"
        raise InvalidInput(msg)
    if head[:4] == b"\x00\x00\x27\x0a" or suffix in {".shp", ".dbf", ".shx"}:
        return "shapefile"
    text = decode_text(head, lenient=True).text
    stripped = text.lstrip()
    if stripped.startswith("<"):
        if "<kml" in text[:4096].lower():
            return "kml"
        msg = f"{shown} 是 XML 文件，但不是 KML（没有 <kml> 根元素）"
        raise InvalidInput(msg)
    if stripped.startswith(("{", "[")):
        return "geojson"
    if b"\x00" in head:
        msg = f"无法识别 {shown} 的格式；支持 Shapefile（或其 ZIP）、GeoPackage、GeoJSON、KML/KMZ、CSV、XLSX"
        raise InvalidInput(msg)
    return "csv"


def _sniff_zip(path: Path, *, name: str) -> str:
    with open_archive(path, name=name) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
    lower = [n.lower() for n in names]
    if "[content_types].xml" in lower and any(n.startswith("xl/") for n in lower):
        return "xlsx"
    if any(n.endswith(".kml") for n in lower) and not any(n.endswith(".shp") for n in lower):
        return "kmz"
    if any(n.endswith(".shp") for n in lower):
        return "shapezip"
    msg = f"ZIP 文件 {name} 中没有 Shapefile（.shp）或 KML；其中的文件：{'、'.join(names[:10])}"
    raise InvalidInput(msg)
