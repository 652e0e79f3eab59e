"""The office's import page: upload a file, choose what it is, preview map and report, then commit."""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

from flask import Blueprint, current_app, render_template, request, session, url_for

from gridmap.assets import localize
from gridmap.errors import InvalidInput
from gridmap.importer import KINDS, preview_map, run_import
from gridmap.io.columns import kind_label
from gridmap.io.formats import sniff_format
from gridmap.maps import map_parts
from web.auth import login_required
from web.context import store

bp = Blueprint("imports", __name__)

# Stored name of an upload, by the format sniffed from its content (GDAL picks drivers by it).
_SUFFIX = {"shapezip": ".zip", "gpkg": ".gpkg", "geojson": ".geojson", "kml": ".kml",
           "kmz": ".kmz", "csv": ".csv", "xlsx": ".xlsx"}
_KEEP_SECONDS = 24 * 3600
_OFFICE = ("office",)


def _upload_dir() -> Path:
    return Path(current_app.config["GRIDMAP_INSTANCE_DIR"]) / "uploads" / "imports"


def _clean_old(folder: Path) -> None:
    if not folder.is_dir():
        return
    cutoff = time.time() - _KEEP_SECONDS
    for child in folder.iterdir():
        if child.is_dir() and child.stat().st_mtime < cutoff:
            shutil.rmtree(child, ignore_errors=True)


def _options(form) -> dict:
    kind = form.get("kind", "")
    if kind not in KINDS:
        msg = "请选择文件内容（网格、镇/街道、路段、点位……）"
        raise InvalidInput(msg)
    mode = form.get("mode", "replace")
    if mode not in ("replace", "merge"):
        msg = "导入方式只能是替换或合并"
        raise InvalidInput(msg)
    try:
        tolerance = float(form.get("tolerance") or 1.0)
    except ValueError:
        msg = "面积容差应为数字（平方米）"
        raise InvalidInput(msg) from None
    return {
        "kind": kind,
        "mode": mode,
        "layer": (form.get("layer") or "").strip() or None,
        "crs": (form.get("crs") or "").strip() or None,
        "encoding": (form.get("encoding") or "").strip() or None,
        "tolerance_m2": tolerance,
    }


def _save_upload() -> tuple[str, Path, str]:
    """Keep the upload under instance/uploads/imports/<token>/ with a suffix from its content."""
    limit = int(current_app.config["GRIDMAP_IMPORT_MAX_MB"] * 1_000_000)
    request.max_content_length = limit + 1_000_000
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        msg = "请选择要导入的文件"
        raise InvalidInput(msg)
    name = Path(upload.filename.replace("\\", "/")).name[:120] or "upload"
    base = _upload_dir()
    _clean_old(base)
    token = secrets.token_urlsafe(16)
    folder = base / token
    folder.mkdir(parents=True)
    raw = folder / "upload.bin"
    upload.save(raw)
    if raw.stat().st_size > limit:
        shutil.rmtree(folder, ignore_errors=True)
        msg = f"文件过大（上限 {limit // 1_000_000} MB）"
        raise InvalidInput(msg)
    try:
        fmt = sniff_format(raw)
    except InvalidInput:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if fmt == "shapefile":
        shutil.rmtree(folder, ignore_errors=True)
        msg = "Shapefile 由多个文件组成：请把 .shp、.shx、.dbf、.prj、.cpg 打包成一个 ZIP 文件再上传"
        raise InvalidInput(msg)
    path = raw.rename(folder / f"data{_SUFFIX[fmt]}")
    return token, path, name


def _pending(token: str) -> tuple[Path, dict]:
    entry = session.get("imports", {}).get(token)
    folder = _upload_dir() / token
    files = list(folder.glob("data.*")) if folder.is_dir() and entry else []
    if not entry or not files:
        msg = "上传的文件已过期或不属于当前用户，请重新上传"
        raise InvalidInput(msg)
    return files[0], entry


def _page(report=None, *, token=None, options=None, error=None, status=200):
    parts = None
    if report is not None and report.data is not None:
        m = preview_map(report)
        localize(m, base_url=url_for("static", filename="vendor").rstrip("/"))
        parts = map_parts(m)
    kinds = [(k, kind_label(k)) for k in KINDS]
    return render_template("import.html", report=report, map=parts, token=token,
                           options=options or {}, kinds=kinds, error=error), status


@bp.get("/import")
@login_required(_OFFICE)
def import_form():
    return _page()


@bp.post("/import/preview")
@login_required(_OFFICE)
def import_preview():
    options = _options(request.form)
    token, path, name = _save_upload()
    report = run_import(store(), path, dry_run=True, display_name=name, **options)
    pending = dict(session.get("imports", {}))
    pending = dict(list(pending.items())[-4:])  # a few at a time per session
    pending[token] = {"name": name, **options}
    session["imports"] = pending
    return _page(report, token=token if report.ok else None, options=options)


@bp.post("/import/commit")
@login_required(_OFFICE)
def import_commit():
    token = request.form.get("token", "")
    path, entry = _pending(token)
    options = {k: v for k, v in entry.items() if k != "name"}
    report = run_import(store(), path, display_name=entry["name"], **options)
    if report.committed:
        shutil.rmtree(path.parent, ignore_errors=True)
        pending = dict(session.get("imports", {}))
        pending.pop(token, None)
        session["imports"] = pending
    return _page(report, options=options, status=200 if report.ok else 422)
