"""GeoJSON: decode, accept a bare array of Features, and drop crs members that are links."""

from __future__ import annotations

import io
import json
import re

from gridmap.errors import Finding
from gridmap.io.encoding import decode_text
from gridmap.io.offline import contains_url
from gridmap.io.source import Source
from gridmap.io.vector import fid_labels, gdal_read

__all__ = ["read_geojson", "strip_linked_crs"]


_CRS_KEY = re.compile(r'"(?:c|\\u00[46]3)(?:r|\\u00[57]2)(?:s|\\u00[57]3)"\s*:\s*', re.I)
_OGC_CRS = re.compile(
    r"^\s*(?:urn:ogc:def:crs:[\w.:-]+|https?://www\.opengis\.net/def/crs/[\w.-]+/[\w.-]*/[\w.-]+)\s*$", re.I
)


def _crs_is_local(value: object) -> bool:
    """Whether a GeoJSON crs member names a system GDAL resolves locally (never a link or a file)."""
    if value is None:
        return True
    if not isinstance(value, dict):
        return False
    members = {str(k).lower(): v for k, v in value.items()}
    kind = str(members.get("type", "")).lower()
    props = members.get("properties")
    if not isinstance(props, dict):
        return False
    props = {str(k).lower(): v for k, v in props.items()}
    if kind == "epsg":
        return str(props.get("code", "")).strip().isdigit()
    if kind == "name":
        name = props.get("name")
        if not isinstance(name, str) or len(name) > 200:
            return False
        return bool(_OGC_CRS.match(name)) or not (contains_url(name) or "/" in name or "\\" in name)
    return False  # "link", "url" and anything else: GDAL would fetch or open it


def strip_linked_crs(text: str) -> tuple[str, list[str], int]:
    """Replace every GeoJSON crs member that is a link (or not a plain name) by null.

    GDAL fetches a crs of type "link"/"url" over HTTP, on the collection and on single
    geometries. Returns (text, descriptions of what was removed, crs members kept).
    """
    out: list[str] = []
    removed: list[str] = []
    kept = 0
    pos = 0
    decoder = json.JSONDecoder()
    for match in _CRS_KEY.finditer(text):
        start = match.start()
        if start < pos:
            continue  # inside a value already replaced
        before = start - 1
        while before >= 0 and text[before] == "\\":
            before -= 1
        if (start - 1 - before) % 2:
            continue  # an escaped quote inside a string, not a member name
        try:
            value, end = decoder.raw_decode(text, match.end())
        except json.JSONDecodeError:
            continue  # broken JSON: GDAL reports it
        if _crs_is_local(value):
            kept += value is not None
            continue
        out.append(text[pos : match.end()])
        out.append("null")
        pos = end
        removed.append(json.dumps(value, ensure_ascii=False)[:200])
    if not removed:
        return text, [], kept
    out.append(text[pos:])
    return "".join(out), removed, kept


def read_geojson(raw: bytes, *, codec: str | None, name: str) -> Source:
    decoded = decode_text(raw, codec=codec, name=name)
    text = decoded.text
    del raw
    stripped = text.lstrip()
    notes = []
    findings = []
    if stripped.startswith("["):
        text = '{"type": "FeatureCollection", "features": ' + stripped + "}"
        notes.append("文件是要素数组（不是 FeatureCollection），已按要素集合读取")
    text, removed, kept = strip_linked_crs(text)
    if removed:
        shown = "；".join(removed[:3]) + (f" 等 {len(removed)} 处" if len(removed) > 3 else "")
        findings.append(
            Finding(
                f"GeoJSON 的坐标系声明（crs）是链接或外部引用：{shown}；为安全起见不会联网获取，已忽略",
                file=name,
                severity="warning",
                hint="如坐标不是 WGS84 经纬度，请用 --crs 指定坐标系（网页导入时填写“坐标系”一栏），"
                "如 --crs EPSG:4545",
            )
        )
    frame = gdal_read(io.BytesIO(text.encode("utf-8")), name=name)
    if kept and frame.crs is not None:
        declared, note = frame.crs, "GeoJSON 的 crs 声明"
    elif removed:
        declared, note = None, "GeoJSON 的 crs 是链接（已忽略）"
    else:
        declared, note = None, "GeoJSON 未声明 crs（RFC 7946 规定为 WGS84 经纬度，但国内数据常为 GCJ-02）"
    return Source(
        frame=frame,
        format="geojson",
        file=name,
        labels=fid_labels(frame),
        encoding=decoded.codec,
        encoding_reason=decoded.reason,
        declared_crs=declared,
        crs_note=note,
        notes=notes,
        findings=findings,
    )
