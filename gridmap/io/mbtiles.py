"""MBTiles files (SQLite, TMS rows): check a file and read raster tiles by XYZ address."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from gridmap.errors import InvalidInput

__all__ = ["MBTilesInfo", "inspect", "media_type", "read_tile"]

_SQLITE_MAGIC = b"SQLite format 3\x00"
# Raster formats a browser draws as an <img>; vector tiles (pbf) would need a style renderer.
_MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
_WHAT_TO_DO = (
    "请提供栅格 MBTiles 文件（SQLite 数据库，含 tiles 与 metadata 表，PNG/JPG/WEBP 瓦片），"
    "可用 QGIS“生成 XYZ 瓦片（MBTiles）”或 gdal_translate -of MBTILES 制作"
)


@dataclass(frozen=True)
class MBTilesInfo:
    """What an MBTiles file holds: name, tile format, zoom range, bounds and number of tiles."""

    path: Path
    name: str
    format: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None
    tiles: int


@contextmanager
def _open(path: Path) -> Iterator[sqlite3.Connection]:
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    with closing(sqlite3.connect(uri, uri=True, check_same_thread=False)) as conn:
        yield conn


def media_type(data: bytes) -> str:
    """The image media type of tile bytes, from their magic number (PNG, JPEG, WEBP)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def read_tile(path: str | Path, *, z: int, x: int, y: int) -> bytes | None:
    """The tile at XYZ address (z, x, y) — row y counted from the north — or None if absent.

    MBTiles keeps rows in TMS order (counted from the south): row = 2**z - 1 - y.
    """
    if z < 0 or z > 30 or not (0 <= x < 2**z and 0 <= y < 2**z):
        return None
    source = Path(path)
    if not source.is_file():
        return None
    row = (1 << z) - 1 - y
    with _open(source) as conn:
        found = conn.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (z, x, row),
        ).fetchone()
    return bytes(found[0]) if found and found[0] is not None else None


def _bounds(text: str | None) -> tuple[float, float, float, float] | None:
    try:
        values = [float(v) for v in (text or "").split(",")]
    except ValueError:
        return None
    if len(values) != 4:
        return None
    return (values[0], values[1], values[2], values[3])


def inspect(path: str | Path) -> MBTilesInfo:
    """Check that ``path`` is a raster MBTiles file with tiles; raise InvalidInput saying why not."""
    source = Path(path)
    if not source.is_file():
        msg = f"找不到文件 {source}：请检查路径"
        raise InvalidInput(msg)
    with source.open("rb") as fh:
        head = fh.read(len(_SQLITE_MAGIC))
    if head != _SQLITE_MAGIC:
        msg = f"{source.name} 不是 MBTiles 文件（不是 SQLite 数据库）。{_WHAT_TO_DO}"
        raise InvalidInput(msg)
    try:
        with _open(source) as conn:
            names = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            }
            missing = sorted({"tiles", "metadata"} - names)
            if missing:
                msg = f"{source.name} 不是 MBTiles 文件：缺少 {'、'.join(missing)} 表。{_WHAT_TO_DO}"
                raise InvalidInput(msg)
            meta = {str(k): str(v) for k, v in conn.execute("SELECT name, value FROM metadata")}
            count, low, high = conn.execute(
                "SELECT count(*), min(zoom_level), max(zoom_level) FROM tiles"
            ).fetchone()
            sample = conn.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
    except sqlite3.DatabaseError as exc:
        msg = f"{source.name} 无法作为 MBTiles 读取（{exc}）。{_WHAT_TO_DO}"
        raise InvalidInput(msg) from exc
    if not count:
        msg = f"{source.name} 中没有任何瓦片（tiles 表为空）。{_WHAT_TO_DO}"
        raise InvalidInput(msg)
    fmt = meta.get("format", "").strip().lower()
    if fmt in ("pbf", "mvt") or (
        not fmt and sample and media_type(bytes(sample[0])).endswith("octet-stream")
    ):
        msg = f"{source.name} 是矢量瓦片（{fmt or '未知格式'}），暂不支持。{_WHAT_TO_DO}"
        raise InvalidInput(msg)
    if fmt and fmt not in _MEDIA_TYPES:
        msg = f"{source.name} 的瓦片格式 {fmt!r} 不受支持。{_WHAT_TO_DO}"
        raise InvalidInput(msg)
    if not fmt:
        fmt = media_type(bytes(sample[0])).split("/")[1]
    return MBTilesInfo(
        path=source,
        name=meta.get("name", source.stem),
        format=fmt,
        min_zoom=int(low),
        max_zoom=int(high),
        bounds=_bounds(meta.get("bounds")),
        tiles=int(count),
    )
