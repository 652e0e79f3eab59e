"""KML and KMZ: encoding (declaration, BOM, content), a UTF-8 copy for GDAL, network links noted."""

from __future__ import annotations

import codecs
import re
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from gridmap.errors import DataError, Finding, InvalidInput
from gridmap.io.archive import ArchiveLimits, check_members, copy_member, open_archive
from gridmap.io.encoding import detect_file_codec, normalize_codec
from gridmap.io.source import Source
from gridmap.io.vector import gdal_message, gdal_read, pick_layer

__all__ = ["read_kml"]


_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)[\"']", re.I)


_KML_CHUNK = 1 << 20
_NETWORK_LINK = re.compile(
    r"<(?:\w+:)?NetworkLink\b(?:(?:[^<]|<(?!/?(?:\w+:)?NetworkLink\b)){0,3000}?"
    r"<(?:\w+:)?href>\s*([^<\s]{1,300}))?",
    re.I,
)
_REMOTE_SCHEMA = re.compile(r"schemaUrl\s*=\s*[\"']\s*((?:https?|ftps?|file)://[^\"'\s]{1,300})", re.I)


def _kml_codec(raw: Path, *, codec: str | None, name: str) -> tuple[str, str]:
    """The KML's text encoding and why: --encoding, the XML declaration, BOM, UTF-8, GB18030."""
    if codec:
        return detect_file_codec(raw, codec=codec, name=name)
    with raw.open("rb") as fh:
        head = fh.read(4096)
    declared = _XML_ENCODING.match(head.removeprefix(codecs.BOM_UTF8))
    if not declared:
        return detect_file_codec(raw, name=name)
    label = declared.group(1).decode("ascii", errors="replace")
    try:
        named: str | None = normalize_codec(label)
    except InvalidInput:
        named = None
    return detect_file_codec(raw, name=name, declared=named, declared_as=f'XML 声明（encoding="{label}"）')


def _kml_to_utf8(raw: Path, doc: Path, *, codec: str) -> tuple[int, list[str]]:
    """Copy a KML as UTF-8 (declaration rewritten), streaming; (network links, remote URLs seen)."""
    decoder = codecs.getincrementaldecoder(codec)("replace")
    links = 0
    urls: list[str] = []
    carry = ""
    first = True
    with raw.open("rb") as src, doc.open("w", encoding="utf-8", newline="") as dst:
        while True:
            chunk = src.read(_KML_CHUNK)
            text = decoder.decode(chunk, final=not chunk)
            if first and (text or not chunk):
                text = re.sub(
                    r"^\s*<\?xml[^>]*\?>",
                    '<?xml version="1.0" encoding="utf-8"?>',
                    text.lstrip("\ufeff"),
                    count=1,
                )
                first = False
            dst.write(text)
            window = carry + text
            limit = len(window) if not chunk else max(0, len(window) - 4000)
            for match in _NETWORK_LINK.finditer(window):
                if match.start() >= limit:
                    break
                links += 1
                if match.group(1) and len(urls) < 5:
                    urls.append(match.group(1))
            for match in _REMOTE_SCHEMA.finditer(window, 0, limit):
                if match.group(1) not in urls and len(urls) < 5:
                    urls.append(match.group(1))
            carry = window[limit:]
            if not chunk:
                break
    return links, urls


def read_kml(
    path: Path,
    *,
    fmt: str,
    kind: str,
    layer: str | None,
    codec: str | None,
    name: str,
    limits: ArchiveLimits | None,
) -> Source:
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="gridmap-kml-") as tmp:
        raw = path
        if fmt == "kmz":
            with open_archive(path, name=name, what="KMZ 文件") as archive:
                kmls = [i for i in archive.infolist() if i.filename.lower().endswith(".kml")]
                main = next((i for i in kmls if i.filename == "doc.kml"), kmls[0])
                budget = [
                    check_members(
                        archive,
                        [main],
                        name=name,
                        limits=limits or ArchiveLimits.from_settings(),
                        what="KMZ 文件",
                    )
                ]
                raw = Path(tmp) / "raw.kml"
                copy_member(archive, main, raw, name=name, budget=budget, what="KMZ 文件")
        codec, reason = _kml_codec(raw, codec=codec, name=name)
        doc = Path(tmp) / "doc.kml"
        links, urls = _kml_to_utf8(raw, doc, codec=codec)
        if raw != path:
            raw.unlink()
        if links or urls:
            shown = "、".join(urls) if urls else "网络链接"
            what = f"{links} 个网络链接（NetworkLink）" if links else "远程引用"
            findings.append(
                Finding(
                    f"KML 中有{what}，指向 {shown}；为安全起见不会联网获取，链接指向的内容未导入",
                    file=name,
                    severity="warning",
                    hint="如需导入链接中的数据，请先下载该文件，再单独导入",
                )
            )
        try:
            names = [str(n) for n, _ in pyogrio.list_layers(doc)]
        except Exception as exc:  # GDAL raises several types for broken XML
            msg = f"无法读取 KML {name}：{gdal_message(exc)}"
            raise DataError(
                msg,
                findings=[
                    Finding(f"KML 无法解析：{gdal_message(exc)}", file=name, hint="请检查文件是否完整")
                ],
            ) from exc
        frames = []
        chosen = (
            [pick_layer(names, layer, what="图层（文件夹）", file=name)]
            if layer or len(names) == 1
            else names
        )
        for layer_name in chosen:
            part = gdal_read(doc, layer=layer_name, name=name)
            if len(part):
                part["_kml_layer"] = layer_name
                frames.append(part)
    if frames:
        frame = pd.concat(frames) if len(frames) > 1 else frames[0]
        frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=frames[0].crs)
    else:
        frame = gpd.GeoDataFrame({"Name": []}, geometry=[], crs="EPSG:4326")
    notes = [f"合并了 {len(frames)} 个 KML 文件夹：{'、'.join(chosen)}"] if len(frames) > 1 else []
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    labels = pd.Index([f"第 {i} 个地标" for i in frame.index])
    frame = frame.drop(columns=[c for c in ("_kml_layer",) if c in frame.columns])
    return Source(
        frame=frame,
        format=fmt,
        file=name,
        layer=", ".join(chosen) if chosen else None,
        labels=labels,
        encoding=codec,
        encoding_reason=reason,
        declared_crs=CRS.from_epsg(4326),
        crs_note="KML 规定为 WGS84 经纬度",
        notes=notes,
        findings=findings,
    )
