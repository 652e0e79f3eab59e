"""Uploads of the office's import page: stored by their content, size-limited, previewed, kept a while.

An upload is saved in a local working folder (GDAL reads files by path) under ``<token>/``, with a
suffix from the format sniffed from its content (never from its name), and previewed there. One
whose preview fails leaves nothing; one that passes is kept in the deployment's shared storage
(GRIDMAP_STORAGE: the instance folder, an NFS folder or an S3 bucket) under
``uploads/imports/<token>/``, so that "confirm" may reach any app server; it waits there for
GRIDMAP_IMPORT_KEEP_MINUTES, and expired ones are removed whenever the page is used. The caller
keeps each session's pending uploads (token -> options) and hands them in; at most
PENDING_PER_SESSION wait per session, the oldest go first.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gridmap.errors import InvalidInput, TooLarge
from gridmap.importer.pipeline import run_import
from gridmap.importer.report import ImportReport
from gridmap.io.archive import ArchiveLimits
from gridmap.io.columns import KINDS
from gridmap.io.sniff import sniff_format
from gridmap.parsing import parse_number
from gridmap.storage import Storage, storage_from_settings
from gridmap.store import Store

__all__ = ["FORM_ALLOWANCE", "PENDING_PER_SESSION", "Outcome", "UploadedFile", "Uploads"]

# Stored name of an upload, by the format sniffed from its content (GDAL picks drivers by it).
_SUFFIX = {
    "shapezip": ".zip",
    "gpkg": ".gpkg",
    "geojson": ".geojson",
    "kml": ".kml",
    "kmz": ".kmz",
    "csv": ".csv",
    "xlsx": ".xlsx",
}
IMPORTS_PREFIX = "uploads/imports"  # previewed uploads' keys in the shared storage
FORM_ALLOWANCE = 1_000_000  # the other form fields and the multipart framing around the file
PENDING_PER_SESSION = 4

Pending = Mapping[str, Mapping[str, Any]]  # token -> {"name": shown file name, **import options}


class UploadedFile(Protocol):
    """What a web framework hands over for a file field: its name and a way to save it."""

    filename: str | None

    def save(self, dst: Any) -> Any: ...


@dataclass(frozen=True)
class Outcome:
    """A preview or commit: the report, the options used, the token to confirm, the pending uploads."""

    report: ImportReport
    options: dict[str, Any]
    pending: dict[str, dict[str, Any]]
    token: str | None = None


@dataclass(frozen=True)
class Uploads:
    """The import page's upload store and its rules, from the settings."""

    storage: Storage  # previewed uploads, seen alike by every app server
    max_mb: float
    keep_seconds: float
    tolerance_m2: float
    settings: Mapping[str, Any]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Uploads:
        """GRIDMAP_STORAGE (or the instance folder), GRIDMAP_IMPORT_MAX_MB, GRIDMAP_IMPORT_KEEP_MINUTES, the tolerance."""
        return cls(
            storage=storage_from_settings(settings).within(IMPORTS_PREFIX),
            max_mb=float(settings["GRIDMAP_IMPORT_MAX_MB"]),
            keep_seconds=float(settings["GRIDMAP_IMPORT_KEEP_MINUTES"]) * 60,
            tolerance_m2=float(settings["GRIDMAP_COVERAGE_TOLERANCE_M2"]),
            settings=settings,
        )

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1_000_000)

    @property
    def max_body(self) -> int:
        """The largest request body of a preview: the file plus the rest of the form."""
        return self.max_bytes + FORM_ALLOWANCE

    def too_large_message(self) -> str:
        return (
            f"文件过大：数据导入页面接受的文件最大为 {self.max_mb:g} MB（设置 GRIDMAP_IMPORT_MAX_MB），"
            "上传的内容超过了这个大小，未接收。请压缩为 ZIP（Shapefile、KML 可大幅变小）后再上传，"
            "或由管理员在服务器上用命令行 gridmap import 导入（命令行不限大小）"
        )

    def default_options(self) -> dict[str, Any]:
        """The form's options before anything is chosen."""
        return {"tolerance_m2": self.tolerance_m2}

    # --- the page's three actions -----------------------------------------------------
    def clean(self) -> None:
        """Remove uploads older than GRIDMAP_IMPORT_KEEP_MINUTES (and leftovers of broken ones)."""
        cutoff = time.time() - self.keep_seconds
        for key, modified in self.storage.listing():
            if modified < cutoff:
                self.storage.delete(key)  # another server removing it meanwhile is fine

    def preview(
        self, store: Store, *, form: Mapping[str, str], upload: UploadedFile | None, pending: Pending
    ) -> Outcome:
        """Check an uploaded file without writing (dry run); keep it for "confirm" when it passes.

        ``form`` holds kind, mode, layer, crs, encoding and tolerance; ``pending`` the session's
        uploads waiting for "confirm". Raises InvalidInput for a bad form or file, TooLarge for
        a file over GRIDMAP_IMPORT_MAX_MB.
        """
        options = self.options(form)
        token, path, name = self.save(upload)
        try:
            report = run_import(
                store,
                path,
                dry_run=True,
                display_name=name,
                limits=self._limits(),
                settings=self.settings,
                **options,
            )
            kept = {k: dict(v) for k, v in pending.items()}
            if not report.ok:  # nothing of a failed preview is kept
                return Outcome(report=report, options=options, pending=kept)
            # kept from now on, for GRIDMAP_IMPORT_KEEP_MINUTES, where every server finds it
            self.storage.put(f"{token}/{path.name}", path.read_bytes())
        finally:
            shutil.rmtree(path.parent.parent, ignore_errors=True)  # the local working copy
        while len(kept) >= PENDING_PER_SESSION:  # a few at a time per session; drop the oldest
            oldest = next(iter(kept))
            del kept[oldest]
            self.remove(oldest)
        kept[token] = {"name": name, **options}
        return Outcome(report=report, options=options, pending=kept, token=token)

    def commit(self, store: Store, token: str, *, pending: Pending) -> Outcome:
        """Import a previewed upload for real; once committed its file and token are gone."""
        key, entry = self._pending(token, pending)
        options = {k: v for k, v in entry.items() if k != "name"}
        with self._local_copy(key) as path:
            report = run_import(
                store,
                path,
                display_name=entry["name"],
                limits=self._limits(),
                settings=self.settings,
                **options,
            )
        kept = {k: dict(v) for k, v in pending.items()}
        if report.committed:
            self.remove(token)
            kept.pop(token, None)
        return Outcome(report=report, options=options, pending=kept)

    # --- parts ------------------------------------------------------------------------------
    def options(self, form: Mapping[str, str]) -> dict[str, Any]:
        """The import options of the page's form, checked."""
        kind = form.get("kind", "")
        if kind not in KINDS:
            msg = "请选择文件内容（网格、镇/街道、路段、点位……）"
            raise InvalidInput(msg)
        mode = form.get("mode", "replace")
        if mode not in ("replace", "merge"):
            msg = "导入方式只能是替换或合并"
            raise InvalidInput(msg)
        tolerance = parse_number(
            form.get("tolerance"),
            name="tolerance",
            label="面积容差",
            default=self.tolerance_m2,
            minimum=0,
            maximum=1_000_000,
            unit="（平方米）",
        )
        return {
            "kind": kind,
            "mode": mode,
            "layer": (form.get("layer") or "").strip() or None,
            "crs": (form.get("crs") or "").strip() or None,
            "encoding": (form.get("encoding") or "").strip() or None,
            "tolerance_m2": tolerance,
        }

    def save(self, upload: UploadedFile | None) -> tuple[str, Path, str]:
        """Save the upload in a new local working folder, as <token>/data.<suffix from its content>.

        Returns (token, path, name); the caller removes ``path.parent.parent`` when done with it.
        """
        if upload is None or not upload.filename:
            msg = "请选择要导入的文件"
            raise InvalidInput(msg)
        name = Path(upload.filename.replace("\\", "/")).name[:120] or "upload"
        self.clean()
        token = secrets.token_urlsafe(16)
        work = Path(tempfile.mkdtemp(prefix="gridmap-import-"))
        folder = work / token
        folder.mkdir()
        raw = folder / "upload.bin"
        try:
            upload.save(raw)
            if raw.stat().st_size > self.max_bytes:
                raise TooLarge(self.too_large_message())
            fmt = sniff_format(raw, display_name=name)
            if fmt == "shapefile":
                msg = "Shapefile 由多个文件组成：请把 .shp、.shx、.dbf、.prj、.cpg 打包成一个 ZIP 文件再上传"
                raise InvalidInput(msg)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        path = raw.rename(folder / f"data{_SUFFIX[fmt]}")
        return token, path, name

    def remove(self, token: str) -> None:
        """Delete a kept upload (a token that is not a plain folder name is ignored)."""
        if token and "/" not in token and "\\" not in token and token not in (".", ".."):
            for key, _modified in self.storage.listing(token):
                self.storage.delete(key)

    def _pending(self, token: str, pending: Pending) -> tuple[str, Mapping[str, Any]]:
        entry = pending.get(token)
        self.clean()
        keys = [] if not entry or not token or "/" in token else self.storage.listing(token)
        files = [key for key, _modified in keys if key.rsplit("/", 1)[-1].startswith("data.")]
        if not entry or not files:
            msg = "上传的文件已过期或不属于当前用户，请重新上传"
            raise InvalidInput(msg)
        return files[0], entry

    @contextlib.contextmanager
    def _local_copy(self, key: str) -> Iterator[Path]:
        """The kept upload copied to a local working folder (GDAL needs a path), removed afterwards."""
        work = Path(tempfile.mkdtemp(prefix="gridmap-import-"))
        try:
            path = work / key.rsplit("/", 1)[-1]
            path.write_bytes(self.storage.get(key))
            yield path
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _limits(self) -> ArchiveLimits:
        return ArchiveLimits.from_settings(dict(self.settings))
