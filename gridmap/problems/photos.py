"""Photo uploads: limits, type sniffed from content, re-encoded without EXIF, kept in a storage."""

from __future__ import annotations

import io
import os
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from gridmap.errors import InvalidInput, NotFound

ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF", "BMP": "BMP",
                    "MPO": "JPEG"}
MAX_PIXELS = 50_000_000  # larger images are refused (decompression bombs)
STORED_MAX_SIDE = 2048
THUMB_SIDE = 240
GPS_IFD = 0x8825


@dataclass
class PreparedPhoto:
    """A validated photo, re-encoded as JPEG (no metadata), with a thumbnail and EXIF position."""

    data: bytes
    thumb: bytes
    width: int
    height: int
    lonlat: tuple[float, float] | None = None
    keys: tuple[str, str] = field(default=("", ""))


class PhotoStorage(Protocol):
    """Where photo bytes live: a folder by default; an object store in larger deployments."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class FolderStorage:
    """Photos as files under one folder, written atomically."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            msg = "照片路径无效"
            raise NotFound(msg)
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except OSError:
            msg = "照片不存在"
            raise NotFound(msg) from None

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except (OSError, NotFound):
            pass


def _ratio(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        num, den = value
        return float(num) / float(den)


def exif_lonlat(image: Image.Image) -> tuple[float, float] | None:
    """WGS84 lon/lat from a photo's EXIF GPS block, or None."""
    try:
        gps = image.getexif().get_ifd(GPS_IFD)
    except Exception:  # broken EXIF is common; it only means "no position"
        return None
    try:
        lat_ref, lat, lon_ref, lon = gps.get(1), gps.get(2), gps.get(3), gps.get(4)
        if not (lat and lon):
            return None

        def degrees(dms) -> float:
            d, m, s = (_ratio(v) for v in dms)
            return d + m / 60.0 + s / 3600.0

        lat_v, lon_v = degrees(lat), degrees(lon)
        if str(lat_ref).upper().startswith("S"):
            lat_v = -lat_v
        if str(lon_ref).upper().startswith("W"):
            lon_v = -lon_v
    except Exception:
        return None
    if not (-90 <= lat_v <= 90 and -180 <= lon_v <= 180) or (lat_v == 0 and lon_v == 0):
        return None
    return round(lon_v, 7), round(lat_v, 7)


def prepare_photos(
    files: list[tuple[str, bytes]], *, max_bytes: int, max_count: int
) -> list[PreparedPhoto]:
    """Check count, size and content of uploads; re-encode each as a clean JPEG.

    ``files`` are (file name, bytes). Raises InvalidInput naming the file and what is wrong.
    """
    files = [(name, data) for name, data in files if data]
    if len(files) > max_count:
        msg = f"最多上传 {max_count} 张照片，实际 {len(files)} 张"
        raise InvalidInput(msg)
    return [_prepare_one(name or f"第 {i} 张", data, max_bytes=max_bytes)
            for i, (name, data) in enumerate(files, start=1)]


def _prepare_one(name: str, data: bytes, *, max_bytes: int) -> PreparedPhoto:
    if len(data) > max_bytes:
        msg = (f"照片“{name}”太大（{len(data) / 1e6:.1f} MB），单张不超过 "
               f"{max_bytes / 1e6:.0f} MB；请压缩后再上传")
        raise InvalidInput(msg)
    not_image = f"文件“{name}”不是可识别的图片（支持 JPEG、PNG、WebP、GIF、BMP）"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = image.format
            if fmt not in ACCEPTED_FORMATS:
                raise InvalidInput(not_image)
            if image.width * image.height > MAX_PIXELS:
                msg = f"照片“{name}”像素过多（{image.width}×{image.height}），请缩小后再上传"
                raise InvalidInput(msg)
            lonlat = exif_lonlat(image)
            image.load()
            image = ImageOps.exif_transpose(image)
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInput(not_image) from None
    if image.mode not in ("RGB", "L"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.split()[3])
        image = background
    elif image.mode == "L":
        image = image.convert("RGB")
    image.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True)  # a fresh file: no EXIF, no GPS
    thumb_image = image.copy()
    thumb_image.thumbnail((THUMB_SIDE, THUMB_SIDE))
    thumb = io.BytesIO()
    thumb_image.save(thumb, "JPEG", quality=75)
    return PreparedPhoto(data=out.getvalue(), thumb=thumb.getvalue(), width=image.width,
                         height=image.height, lonlat=lonlat)


def new_keys(day: str) -> tuple[str, str]:
    """Storage keys (photo, thumbnail) for a new photo, grouped by day."""
    stem = uuid.uuid4().hex
    return f"{day}/{stem}.jpg", f"{day}/{stem}_t.jpg"


class PhotoWriter:
    """Writes prepared photos to storage and removes them again if the request fails."""

    def __init__(self, storage: PhotoStorage) -> None:
        self.storage = storage
        self.written: list[str] = []

    def put(self, photo: PreparedPhoto, *, day: str) -> tuple[str, str]:
        key, thumb_key = new_keys(day)
        self.storage.put(key, photo.data)
        self.written.append(key)
        self.storage.put(thumb_key, photo.thumb)
        self.written.append(thumb_key)
        return key, thumb_key

    def rollback(self) -> None:
        for key in self.written:
            self.storage.delete(key)
        self.written.clear()
