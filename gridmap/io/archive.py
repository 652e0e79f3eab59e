"""Open ZIP-based files (KMZ, zipped Shapefiles, XLSX) within a budget, so a decompression bomb is refused fast.

Three checks, before anything is decompressed, from the archive's own directory:
the number of members (read from the end-of-central-directory record, before Python builds
a ZipInfo for each), the total uncompressed size of the members that will be read, and the
compression ratio (total uncompressed size / size of the archive on disk, for archives that
unpack to more than `RATIO_FLOOR` bytes). Then, while members are copied out, the bytes that
really come out are counted and the copy stops at the budget: a directory that understates a
member's size cannot push more through (Python's zipfile also stops at the stated size and
fails the CRC check, which is reported as a damaged file).
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridmap.errors import DataError, Finding

__all__ = [
    "MAX_MEMBERS",
    "RATIO_FLOOR",
    "ArchiveLimits",
    "check_members",
    "check_workbook",
    "copy_member",
    "open_archive",
]

MAX_MEMBERS = 10_000  # a Shapefile ZIP holds a handful, an XLSX a few dozen
RATIO_FLOOR = 16_000_000  # archives that unpack to less than this are not ratio-checked
_CHUNK = 1 << 20
_MB = 1_000_000


@dataclass(frozen=True)
class ArchiveLimits:
    """How much one archive may unpack to (bytes), and at what compression ratio."""

    max_unpacked: int
    max_ratio: float

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None = None) -> ArchiveLimits:
        """Limits from the settings (GRIDMAP_IMPORT_MAX_UNPACKED_MB, GRIDMAP_IMPORT_MAX_RATIO); none: load them."""
        if settings is None:
            from gridmap.settings import load_settings

            settings = load_settings()
        return cls(
            max_unpacked=int(float(settings["GRIDMAP_IMPORT_MAX_UNPACKED_MB"]) * _MB),
            max_ratio=float(settings["GRIDMAP_IMPORT_MAX_RATIO"]),
        )


def _refuse(message: str, *, name: str, member: str | None, hint: str) -> DataError:
    return DataError(message, findings=[Finding(message, file=name, layer=member, hint=hint)])


def _mb(size: float) -> str:
    return f"{size / _MB:,.0f} MB" if size >= 10 * _MB else f"{size / _MB:.1f} MB"


_HINT = (
    "这可能是“压缩炸弹”或打包有误。如确为正常数据，请在本机解压后直接导入其中的文件"
    "（命令行 gridmap import），或请管理员调大 GRIDMAP_IMPORT_MAX_UNPACKED_MB / "
    "GRIDMAP_IMPORT_MAX_RATIO"
)


def _declared_entries(path: Path) -> int | None:
    """Members stated by the end-of-central-directory record (ZIP64 aware), or None if not found."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        tail_size = min(size, 65_557)
        fh.seek(size - tail_size)
        tail = fh.read(tail_size)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + 22 > len(tail):
            return None
        entries = struct.unpack("<H", tail[at + 10 : at + 12])[0]
        if entries != 0xFFFF or at < 20 or tail[at - 20 : at - 16] != b"PK\x06\x07":
            return entries
        offset = struct.unpack("<Q", tail[at - 12 : at - 4])[0]  # of the ZIP64 end record
        if offset + 56 > size:
            return None
        fh.seek(offset)
        record = fh.read(56)
        if record[:4] != b"PK\x06\x06":
            return None
        return struct.unpack("<Q", record[32:40])[0]


def open_archive(path: str | Path, *, name: str, what: str = "ZIP 文件") -> zipfile.ZipFile:
    """Open a ZIP after checking how many members it states (a huge directory is itself a bomb).

    Raises
    ------
    DataError
        Too many members, or not a complete ZIP file.
    """
    path = Path(path)
    entries = _declared_entries(path)
    if entries is not None and entries > MAX_MEMBERS:
        msg = f"{what} {name} 含 {entries:,} 个文件，超过上限 {MAX_MEMBERS:,} 个，已拒绝处理"
        raise _refuse(
            msg,
            name=name,
            member=None,
            hint="请只打包需要导入的文件（如一个 Shapefile 的 .shp、.shx、.dbf、.prj、.cpg）",
        )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        msg = f"{name} 不是完整的 ZIP 文件（{exc}），可能上传或复制时损坏"
        raise _refuse(msg, name=name, member=None, hint="请重新打包或重新复制后再试") from exc
    if len(archive.infolist()) > MAX_MEMBERS:
        archive.close()
        msg = f"{what} {name} 含 {len(archive.infolist()):,} 个文件，超过上限 {MAX_MEMBERS:,} 个，已拒绝处理"
        raise _refuse(msg, name=name, member=None, hint="请只打包需要导入的文件")
    return archive


def check_members(
    archive: zipfile.ZipFile,
    members: Iterable[zipfile.ZipInfo],
    *,
    name: str,
    limits: ArchiveLimits,
    what: str = "ZIP 文件",
) -> int:
    """Refuse, before decompressing, members whose stated sizes break the limits; return their total.

    The total uncompressed size of the members must stay within ``limits.max_unpacked``;
    archives unpacking to more than `RATIO_FLOOR` must not exceed ``limits.max_ratio`` times
    the archive's size on disk (and no member its own ratio).
    """
    members = [m for m in members if not m.is_dir()]
    total = 0
    for info in members:
        total += info.file_size
        if info.file_size > limits.max_unpacked or total > limits.max_unpacked:
            msg = (
                f"{what} {name} 中的 {info.filename} 解压后"
                f"{'为 ' + _mb(info.file_size) if info.file_size > limits.max_unpacked else '累计超过 ' + _mb(total)}，"
                f"超过每个压缩包 {_mb(limits.max_unpacked)} 的上限，已拒绝处理（未解压）"
            )
            raise _refuse(msg, name=name, member=info.filename, hint=_HINT)
        if info.file_size > RATIO_FLOOR and info.compress_size > 0:
            ratio = info.file_size / info.compress_size
            if ratio > limits.max_ratio:
                msg = (
                    f"{what} {name} 中的 {info.filename} 压缩比异常：{_mb(info.compress_size)} 解压后为 "
                    f"{_mb(info.file_size)}（{ratio:,.0f} 倍，上限 {limits.max_ratio:,.0f} 倍），已拒绝处理（未解压）"
                )
                raise _refuse(msg, name=name, member=info.filename, hint=_HINT)
    on_disk = _archive_size(archive)
    if total > RATIO_FLOOR and on_disk and total / on_disk > limits.max_ratio:
        biggest = max(members, key=lambda m: m.file_size)
        msg = (
            f"{what} {name}（{_mb(on_disk)}）解压后为 {_mb(total)}（{total / on_disk:,.0f} 倍，"
            f"上限 {limits.max_ratio:,.0f} 倍；最大的是 {biggest.filename}），已拒绝处理（未解压）"
        )
        raise _refuse(msg, name=name, member=biggest.filename, hint=_HINT)
    return total


def _archive_size(archive: zipfile.ZipFile) -> int:
    fp = archive.fp
    try:
        if archive.filename and os.path.exists(archive.filename):
            return os.path.getsize(archive.filename)
        if fp is not None:
            here = fp.tell()
            fp.seek(0, os.SEEK_END)
            size = fp.tell()
            fp.seek(here)
            return size
    except (OSError, ValueError):
        pass
    return 0


def copy_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    dest: Path,
    *,
    name: str,
    budget: list[int],
    what: str = "ZIP 文件",
) -> None:
    """Stream one member to dest, counting the bytes that come out against ``budget[0]`` (decremented).

    Raises
    ------
    DataError
        More bytes than the budget (the copy stops there), or a damaged member.
    """
    try:
        with archive.open(info) as src, dest.open("wb") as dst:
            while chunk := src.read(_CHUNK):
                budget[0] -= len(chunk)
                if budget[0] < 0:
                    msg = (
                        f"{what} {name} 中的 {info.filename} 解压出的数据超过了上限"
                        "（文件目录中声明的大小与实际不符），已停止并拒绝处理"
                    )
                    raise _refuse(msg, name=name, member=info.filename, hint=_HINT)
                dst.write(chunk)
    except DataError:
        dest.unlink(missing_ok=True)
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        dest.unlink(missing_ok=True)
        msg = f"{what} {name} 中的 {info.filename} 无法解压：{exc}"
        raise _refuse(
            msg,
            name=name,
            member=info.filename,
            hint="文件可能损坏、被篡改或加了密码；请重新打包（不加密）后再试",
        ) from exc


def check_workbook(path: str | Path, *, name: str, limits: ArchiveLimits | None = None) -> list[str]:
    """Refuse an XLSX whose parts unpack beyond the limits (it is a ZIP); return its external links.

    openpyxl reads the parts through Python's zipfile, which never yields more than the
    sizes checked here (a part whose stated size is too small fails its CRC check).
    """
    limits = limits or ArchiveLimits.from_settings()
    with open_archive(path, name=name, what="Excel 文件") as archive:
        check_members(archive, archive.infolist(), name=name, limits=limits, what="Excel 文件")
        return [
            i.filename
            for i in archive.infolist()
            if i.filename.lower().startswith("xl/externallinks/") and i.filename.lower().endswith(".xml")
        ]
