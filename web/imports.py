"""The office's import page: upload a file, choose what it is, preview map and report, then commit.

Uploads up to GRIDMAP_IMPORT_MAX_MB are accepted; a bigger body is refused with 413 before it
is read (the limit is raised for the preview route before any hook touches the form). An
upload whose preview fails is deleted at once; one that passes waits for "confirm" for
GRIDMAP_IMPORT_KEEP_MINUTES, and expired ones are removed whenever the page is used.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path

from flask import Blueprint, current_app, render_template, request, session, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from gridmap.assets import localize
from gridmap.errors import InvalidInput
from gridmap.importer import KINDS, preview_map, run_import
from gridmap.io.archive import ArchiveLimits
from gridmap.io.columns import kind_label
from gridmap.io.sniff import sniff_format
from gridmap.maps import map_parts
from gridmap.parsing import parse_number
from web.auth import current_user, login_required
from web.context import store

bp = Blueprint("imports", __name__)

# Stored name of an upload, by the format sniffed from its content (GDAL picks drivers by it).
_SUFFIX = {"shapezip": ".zip", "gpkg": ".gpkg", "geojson": ".geojson", "kml": ".kml",
           "kmz": ".kmz", "csv": ".csv", "xlsx": ".xlsx"}
_FORM_ALLOWANCE = 1_000_000  # the other form fields and the multipart framing around the file
_PENDING_PER_SESSION = 4
_OFFICE = ("office",)


def _upload_dir() -> Path:
    return Path(current_app.config["GRIDMAP_INSTANCE_DIR"]) / "uploads" / "imports"


def _max_bytes() -> int:
    return int(current_app.config["GRIDMAP_IMPORT_MAX_MB"] * 1_000_000)


def _keep_seconds() -> float:
    return float(current_app.config["GRIDMAP_IMPORT_KEEP_MINUTES"]) * 60


@bp.url_value_preprocessor
def _import_body_limit(endpoint, values) -> None:
    """Let the preview route take an import-sized body, decided before the body is touched.

    Flask runs URL value preprocessors before every before_request hook, and one of those
    (the CSRF check) reads the form; the app-wide limit is sized for photos.
    """
    if endpoint == "imports.import_preview":
        request.max_content_length = _max_bytes() + _FORM_ALLOWANCE


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    limit = current_app.config["GRIDMAP_IMPORT_MAX_MB"]
    msg = (
        f"文件过大：数据导入页面接受的文件最大为 {limit:g} MB（设置 GRIDMAP_IMPORT_MAX_MB），"
        "上传的内容超过了这个大小，未接收。请压缩为 ZIP（Shapefile、KML 可大幅变小）后再上传，"
        "或由管理员在服务器上用命令行 gridmap import 导入（命令行不限大小）"
    )
    if current_user() is None or current_user().role not in _OFFICE:
        return render_template("error.html", status=413, message=msg,
                               body={"error": "too_large", "message": msg}), 413
    return _page(error=msg, status=413)


def _remove(token: str) -> None:
    if token and "/" not in token and token not in (".", ".."):
        shutil.rmtree(_upload_dir() / token, ignore_errors=True)


def _clean_old(folder: Path) -> None:
    """Remove uploads older than GRIDMAP_IMPORT_KEEP_MINUTES (and leftovers of broken ones)."""
    if not folder.is_dir():
        return
    cutoff = time.time() - _keep_seconds()
    for child in folder.iterdir():
        try:
            if child.is_dir() and child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)
        except FileNotFoundError:
            continue  # removed by another worker meanwhile


def _options(form) -> dict:
    kind = form.get("kind", "")
    if kind not in KINDS:
        msg = "请选择文件内容（网格、镇/街道、路段、点位……）"
        raise InvalidInput(msg)
    mode = form.get("mode", "replace")
    if mode not in ("replace", "merge"):
        msg = "导入方式只能是替换或合并"
        raise InvalidInput(msg)
    tolerance = parse_number(form.get("tolerance"), name="tolerance", label="面积容差", default=1.0,
                             minimum=0, maximum=1_000_000, unit="（平方米）")
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
    limit = _max_bytes()
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
    try:
        upload.save(raw)
        if raw.stat().st_size > limit:
            raise RequestEntityTooLarge()
        fmt = sniff_format(raw, display_name=name)
    except BaseException:
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
    _clean_old(_upload_dir())
    folder = _upload_dir() / token
    files = list(folder.glob("data.*")) if entry and token and folder.is_dir() else []
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


def _limits() -> ArchiveLimits:
    return ArchiveLimits.from_settings(current_app.config)


@bp.get("/import")
@login_required(_OFFICE)
def import_form():
    _clean_old(_upload_dir())
    return _page()


@bp.post("/import/preview")
@login_required(_OFFICE)
def import_preview():
    options = _options(request.form)
    token, path, name = _save_upload()
    try:
        report = run_import(store(), path, dry_run=True, display_name=name, limits=_limits(),
                            **options)
    except BaseException:
        _remove(token)  # nothing of a failed preview stays on disk
        raise
    if not report.ok:
        _remove(token)
        return _page(report, options=options)
    os.utime(path.parent)  # kept from now on, for GRIDMAP_IMPORT_KEEP_MINUTES
    pending = dict(session.get("imports", {}))
    while len(pending) >= _PENDING_PER_SESSION:  # a few at a time per session; drop the oldest
        oldest = next(iter(pending))
        del pending[oldest]
        _remove(oldest)
    pending[token] = {"name": name, **options}
    session["imports"] = pending
    return _page(report, token=token, options=options)


@bp.post("/import/commit")
@login_required(_OFFICE)
def import_commit():
    token = request.form.get("token", "")
    path, entry = _pending(token)
    options = {k: v for k, v in entry.items() if k != "name"}
    report = run_import(store(), path, display_name=entry["name"], limits=_limits(), **options)
    if report.committed:
        shutil.rmtree(path.parent, ignore_errors=True)
        pending = dict(session.get("imports", {}))
        pending.pop(token, None)
        session["imports"] = pending
    return _page(report, options=options, status=200 if report.ok else 422)
