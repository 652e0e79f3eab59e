"""Vector layers through GDAL (pyogrio): batched reads with progress, layer choice, GeoPackage."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gridmap.errors import DataError, Finding, InvalidInput
from gridmap.io.columns import kind_label, normalize_header
from gridmap.io.source import Progress, Source

__all__ = ["fid_labels", "gdal_message", "gdal_read", "pick_layer", "read_geopackage"]

_CHUNK = 25_000  # features read per batch when a progress callback is given


def _silent(_stage: str, _done: int, _total: int | None) -> None:
    """A progress callback that shows nothing."""


def gdal_read(
    target, *, layer=None, encoding=None, progress: Progress | None = None, name: str
) -> gpd.GeoDataFrame:
    """pyogrio.read_dataframe with FIDs as index, in batches when a progress bar is shown."""
    kwargs = {"layer": layer, "fid_as_index": True}
    if encoding:
        kwargs["encoding"] = encoding
    try:
        total = None
        if progress is not None and not isinstance(target, (bytes, io.BytesIO)):
            total = int(pyogrio.read_info(target, layer=layer, encoding=encoding)["features"])
        if total is None or total <= _CHUNK:
            frame = pyogrio.read_dataframe(target, **kwargs)
            if progress is not None:
                progress("读取", len(frame), len(frame))
            return frame
        parts = []
        report = progress if progress is not None else _silent
        for start in range(0, total, _CHUNK):
            parts.append(pyogrio.read_dataframe(target, skip_features=start, max_features=_CHUNK, **kwargs))
            report("读取", min(start + _CHUNK, total), total)
        return pd.concat(parts)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
        RuntimeError,
        UnicodeDecodeError,
    ) as exc:
        msg = f"无法读取 {name}：{gdal_message(exc)}"
        raise DataError(
            msg,
            findings=[
                Finding(
                    f"文件无法读取：{gdal_message(exc)}",
                    file=name,
                    hint="文件可能损坏或不完整；请重新导出或重新复制后再试",
                )
            ],
        ) from exc


def gdal_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def fid_labels(frame: pd.DataFrame) -> pd.Index:
    return pd.Index([f"FID {fid}" for fid in frame.index])


def pick_layer(names: list[str], wanted: str | None, *, what: str, file: str) -> str:
    if wanted is not None:
        for candidate in names:
            if candidate == wanted or Path(candidate).stem == wanted:
                return candidate
        msg = f"{file} 中没有名为“{wanted}”的{what}；现有：{'、'.join(names)}"
        raise InvalidInput(msg)
    if len(names) == 1:
        return names[0]
    msg = f"{file} 中有多个{what}：{'、'.join(names)}；请用 --layer 指定要导入的一个"
    raise InvalidInput(msg)


def read_geopackage(
    path: Path, *, kind: str, layer: str | None, name: str, progress: Progress | None
) -> Source:
    try:
        listed = pyogrio.list_layers(path)
    except Exception as exc:  # GDAL raises several types for unreadable files
        msg = f"无法打开 GeoPackage {name}：{gdal_message(exc)}"
        raise DataError(
            msg,
            findings=[
                Finding(f"文件无法打开：{gdal_message(exc)}", file=name, hint="文件可能损坏；请重新导出")
            ],
        ) from exc
    names = [str(n) for n, _ in listed]
    if not names:
        msg = f"GeoPackage {name} 中没有图层"
        raise DataError(msg, findings=[Finding("没有图层", file=name)])
    chosen = layer
    if chosen is None:
        by_kind = [
            n
            for n in names
            if normalize_header(n) in {normalize_header(kind), normalize_header(kind_label(kind))}
        ]
        chosen = by_kind[0] if len(by_kind) == 1 else None
    chosen = pick_layer(names, chosen, what="图层", file=name)
    frame = gdal_read(path, layer=chosen, progress=progress, name=name)
    declared = frame.crs if isinstance(frame, gpd.GeoDataFrame) else None
    note = "GeoPackage 图层的空间参考" if declared is not None else "GeoPackage 图层未定义空间参考"
    if declared is not None and "undefined" in declared.name.lower():
        declared, note = None, "GeoPackage 图层的空间参考为“未定义”"
    return Source(
        frame=frame,
        format="gpkg",
        file=name,
        layer=chosen,
        labels=fid_labels(frame),
        encoding="utf-8",
        encoding_reason="GeoPackage 规定为 UTF-8",
        declared_crs=declared,
        crs_note=note,
    )
