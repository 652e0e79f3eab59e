"""Photo uploads: limits, type sniffed from content, re-encoded without EXIF, kept in a storage."""

from __future__ import annotations

import io
import uuid
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

from gridmap.errors import InvalidInput
from gridmap.serving import run_heavy
from gridmap.storage import FolderStorage, Storage

__all__ = ["FolderStorage", "PhotoStorage", "PhotoWriter", "PreparedPhoto", "prepare_photos"]

ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF", "BMP": "BMP", "MPO": "JPEG"}
JPEG_FORMATS = {"JPEG", "MPO"}
# Read from the header, before anything is decoded. Phone cameras write 12 MP, 48–50 MP in
# their high-resolution modes; JPEGs are decoded at a reduced scale (draft) near the stored size.
MAX_PIXELS = 64_000_000  # JPEG
MAX_PIXELS_OTHER = 12_500_000  # PNG, WebP, GIF, BMP: decoded in full, so a lower cap
# What one decoding may allocate: the decoded raster (4 bytes a pixel at most) plus, for a
# progressive JPEG, libjpeg's buffer of every DCT coefficient (2 bytes each) at full size.
MAX_DECODE_BYTES = 160_000_000
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


# Photos live in the deployment's storage (gridmap/storage.py): a folder, shared or not, or a bucket.
PhotoStorage = Storage


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


def prepare_photos(files: list[tuple[str, bytes]], *, max_bytes: int, max_count: int) -> list[PreparedPhoto]:
    """Check count, size and content of uploads; re-encode each as a clean JPEG.

    ``files`` are (file name, bytes). Every photo's header is checked before any is decoded;
    decoding runs in one of the worker's heavy-work slots (ServiceBusy when none frees in time).
    Raises InvalidInput naming the file and what is wrong.
    """
    files = [(name, data) for name, data in files if data]
    if len(files) > max_count:
        msg = f"最多上传 {max_count} 张照片，实际 {len(files)} 张"
        raise InvalidInput(msg)
    named = [(name or f"第 {i} 张", data) for i, (name, data) in enumerate(files, start=1)]
    for name, data in named:
        _check_header(name, data, max_bytes=max_bytes)
    return [run_heavy("照片处理", _prepare_one, name, data) for name, data in named]


def _not_image(name: str) -> InvalidInput:
    return InvalidInput(f"文件“{name}”不是可识别的图片（支持 JPEG、PNG、WebP、GIF、BMP）")


def _wan(pixels: float) -> str:
    """A pixel count in 万 (10,000), as Chinese cameras are labelled: 4900 万像素."""
    return f"{pixels / 1e4:.0f} 万像素"


def _open(name: str, data: bytes) -> Image.Image:
    """The image with its header read and nothing decoded; InvalidInput if it is not one we take."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise _not_image(name) from None
    if image.format not in ACCEPTED_FORMATS:
        raise _not_image(name)
    return image


def _decode_bytes(image: Image.Image, size: tuple[int, int]) -> int:
    """Bytes one decoding of ``image`` at ``size`` (after draft) may allocate; see MAX_DECODE_BYTES."""
    need = size[0] * size[1] * 4
    if image.format in JPEG_FORMATS and image.info.get("progressive"):
        layers = getattr(image, "layer", None) or [(0, 1, 1, 0)] * 3
        hmax = max(h for _, h, _v, _t in layers) or 1
        vmax = max(v for _, _h, v, _t in layers) or 1
        need += sum(2 * -(-image.width * h // hmax) * -(-image.height * v // vmax) for _, h, v, _t in layers)
    return need


def _check_header(name: str, data: bytes, *, max_bytes: int) -> None:
    """Refuse a photo by its byte size and the dimensions in its header, before decoding it."""
    if len(data) > max_bytes:
        msg = (
            f"照片“{name}”太大（{len(data) / 1e6:.1f} MB），单张不超过 "
            f"{max_bytes / 1e6:.0f} MB；请压缩后再上传"
        )
        raise InvalidInput(msg)
    image = _open(name, data)
    w, h = image.size
    jpeg = image.format in JPEG_FORMATS
    cap = MAX_PIXELS if jpeg else MAX_PIXELS_OTHER
    if w <= 0 or h <= 0:
        raise _not_image(name)
    if w * h > cap:
        if jpeg:
            rule = f"JPEG 照片不超过 {_wan(MAX_PIXELS)}"
            hint = "请用手机的标准画质拍摄，或缩小后再上传"
        else:
            rule = (
                f"PNG、WebP、GIF、BMP 图片不超过 {_wan(MAX_PIXELS_OTHER)}"
                f"（JPEG 照片不超过 {_wan(MAX_PIXELS)}）"
            )
            hint = "请缩小后再上传，或改传手机拍摄的 JPEG 照片"
        msg = f"照片“{name}”尺寸过大（{w}×{h}，约 {_wan(w * h)}）：{rule}；{hint}"
        raise InvalidInput(msg)
    scaled = _draft_size(image.size) if jpeg else (w, h)
    need = _decode_bytes(image, scaled)
    if need > MAX_DECODE_BYTES:
        progressive = "，渐进式 JPEG" if jpeg and image.info.get("progressive") else ""
        msg = (
            f"照片“{name}”（{w}×{h}{progressive}）解码需要约 {need / 1e6:.0f} MB 内存，"
            f"超过单张 {MAX_DECODE_BYTES / 1e6:.0f} MB 的上限；请另存为普通 JPEG 或缩小后再上传"
        )
        raise InvalidInput(msg)


def _draft_scale(size: tuple[int, int]) -> int:
    """1, 2, 4 or 8: the largest reduction at which a JPEG's longer side still reaches STORED_MAX_SIDE
    (libjpeg reduces while decoding, so the full-size raster is never made)."""
    return next((s for s in (8, 4, 2) if max(size) // s >= STORED_MAX_SIDE), 1)


def _draft_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size a JPEG of ``size`` is decoded at."""
    s = _draft_scale(size)
    return -(-size[0] // s), -(-size[1] // s)


def _prepare_one(name: str, data: bytes) -> PreparedPhoto:
    """Decode (JPEG at reduced scale), orient, flatten and re-encode one photo checked by _check_header."""
    image = _open(name, data)
    try:
        if image.format in JPEG_FORMATS:
            s = _draft_scale(image.size)
            image.draft(None, (max(1, image.width // s), max(1, image.height // s)))
        lonlat = exif_lonlat(image)
        image.load()
        image = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise _not_image(name) from None
    image.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE))  # in the decoded mode: convert a small image
    if image.mode not in ("RGB", "L"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.split()[3])
        image = background
    elif image.mode == "L":
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True)  # a fresh file: no EXIF, no GPS
    thumb_image = image.copy()
    thumb_image.thumbnail((THUMB_SIDE, THUMB_SIDE))
    thumb = io.BytesIO()
    thumb_image.save(thumb, "JPEG", quality=75)
    return PreparedPhoto(
        data=out.getvalue(), thumb=thumb.getvalue(), width=image.width, height=image.height, lonlat=lonlat
    )


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
