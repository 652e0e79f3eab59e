"""Shapefiles, loose or zipped: encoding of the .dbf, missing .shx, .prj that is a link, ZIP names."""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path

import pyogrio

from gridmap.errors import DataError, Finding
from gridmap.io.archive import ArchiveLimits, check_members, copy_member, open_archive
from gridmap.io.encoding import detect_dbf_encoding
from gridmap.io.offline import contains_url
from gridmap.io.source import Progress, Source
from gridmap.io.vector import fid_labels, gdal_read, pick_layer

__all__ = ["read_shapefile", "read_zip_shapefile"]

# Members of a zipped Shapefile that are extracted (the rest is skipped, never decompressed).
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _sibling(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def read_shapefile(path: Path, *, codec: str | None, name: str, progress: Progress | None) -> Source:
    shp = path if path.suffix.lower() == ".shp" else (_sibling(path, ".shp") or path.with_suffix(".shp"))
    shown = Path(name).with_suffix(".shp").name if Path(name).suffix.lower() != ".zip" else name
    if not shp.is_file():
        msg = f"找不到 {shp.name}：Shapefile 需要同名的 .shp、.shx、.dbf 文件放在一起"
        raise DataError(
            msg,
            findings=[
                Finding(
                    "缺少 .shp 文件",
                    file=shown,
                    hint="请把 .shp、.shx、.dbf、.prj、.cpg 一起提供，或打包成 ZIP",
                )
            ],
        )
    findings: list[Finding] = []
    if _sibling(shp, ".dbf") is None:
        msg = f"{shp.name} 缺少同名的 .dbf 属性表文件，无法读取名称等属性"
        raise DataError(
            msg, findings=[Finding("缺少 .dbf 文件", file=shown, hint="请把同名的 .dbf 文件和 .shp 放在一起")]
        )
    if codec:
        reason = "按 --encoding 指定"
    else:
        codec, reason = detect_dbf_encoding(shp)
    if _sibling(shp, ".shx") is None:
        pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": "YES"})
        findings.append(Finding("缺少 .shx 索引文件，已根据 .shp 重建", file=shown, severity="warning"))
    try:
        frame = gdal_read(shp, encoding=codec, progress=progress, name=shown)
    finally:
        pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": None})
    prj = _sibling(shp, ".prj")
    link = _linked_prj(prj) if prj is not None else None
    if prj is None:
        declared, note = None, "没有 .prj 文件"
    elif link is not None:
        declared, note = None, f".prj 文件不是坐标系定义，而是链接“{link}”（不会联网获取，已忽略）"
        findings.append(
            Finding(
                f"{prj.name} 中是一个链接（{link}），不是坐标系定义；为安全起见不会联网获取，已忽略",
                file=shown,
                severity="warning",
                hint="请用 --crs 指定坐标系（网页导入填写“坐标系”一栏），或换用含坐标系定义（WKT）的 .prj 文件",
            )
        )
    elif frame.crs is None:
        declared, note = None, ".prj 文件无法解析"
    else:
        declared, note = frame.crs, ".prj 文件"
    return Source(
        frame=frame,
        format="shapefile",
        file=shown,
        layer=shp.stem,
        labels=fid_labels(frame),
        encoding=codec,
        encoding_reason=reason,
        declared_crs=declared,
        crs_note=note,
        findings=findings,
    )


_WKT_START = re.compile(r"^\s*(\{|[A-Z_]*(CS|CRS)\s*\[)", re.I)


def _linked_prj(prj: Path) -> str | None:
    """The URL or /vsi path a .prj holds instead of a coordinate system definition, if any."""
    try:
        with prj.open("rb") as fh:
            text = fh.read(65536).decode("utf-8", errors="replace").lstrip("\ufeff")
    except OSError:
        return None
    if not contains_url(text) or _WKT_START.match(text):
        return None
    return text.strip().splitlines()[0][:200] if text.strip() else None


def _safe_extract(archive: zipfile.ZipFile, target: Path, *, name: str, limits: ArchiveLimits) -> list[Path]:
    """Extract the Shapefile parts of a ZIP (names made safe, GBK names decoded) within limits."""
    chosen: list[tuple[zipfile.ZipInfo, list[str]]] = []
    for info in archive.infolist():
        if info.is_dir():
            continue
        raw = info.filename
        if not info.flag_bits & 0x800:  # not marked UTF-8: Chinese Windows zips use GBK names
            try:
                raw = info.filename.encode("cp437").decode("gbk")
            except (UnicodeEncodeError, UnicodeDecodeError):
                raw = info.filename
        parts = [p for p in re.split(r"[\\/]+", raw) if p not in ("", ".", "..")]
        if not parts or parts[0].startswith("__MACOSX") or not parts[-1].lower().endswith(_SHAPEFILE_PARTS):
            continue
        chosen.append((info, parts))
    budget = [check_members(archive, [info for info, _ in chosen], name=name, limits=limits)]
    out = []
    for info, parts in chosen:
        dest = target.joinpath(*parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        copy_member(archive, info, dest, name=name, budget=budget)
        out.append(dest)
    return out


def read_zip_shapefile(
    path: Path,
    *,
    layer: str | None,
    codec: str | None,
    name: str,
    progress: Progress | None,
    limits: ArchiveLimits,
) -> Source:
    with tempfile.TemporaryDirectory(prefix="gridmap-zip-") as tmp:
        with open_archive(path, name=name) as archive:
            files = _safe_extract(archive, Path(tmp), name=name, limits=limits)
        shps = sorted(str(p.relative_to(tmp)) for p in files if p.suffix.lower() == ".shp")
        chosen = pick_layer(shps, layer, what="Shapefile", file=name)
        source = read_shapefile(Path(tmp) / chosen, codec=codec, name=f"{name}/{chosen}", progress=progress)
    source.format = "shapezip"
    return source
