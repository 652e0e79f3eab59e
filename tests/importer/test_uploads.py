"""The import page's uploads as a library: content sniffing, size limit, pending uploads, expiry."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pyogrio
import pytest
from werkzeug.datastructures import FileStorage

from gridmap.errors import InvalidInput, TooLarge
from gridmap.importer.uploads import PENDING_PER_SESSION, Uploads
from gridmap.settings import load_settings
from tests import factory

FORM = {"kind": "grids", "mode": "replace"}


def _uploads(settings, **overrides) -> Uploads:
    return Uploads.from_settings(load_settings({**settings, **overrides}, environ={}))


def _file(data: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def _gpkg(tmp_path) -> bytes:
    path = tmp_path / "grids.gpkg"
    pyogrio.write_dataframe(factory.layers()["grids"], path, layer="grids")
    return path.read_bytes()


def _folders(uploads: Uploads) -> list[str]:
    """The tokens of the uploads kept in the shared storage."""
    return sorted({key.split("/")[0] for key, _modified in uploads.storage.listing()})


def test_stored_by_content_not_by_name(settings, tmp_path):
    uploads = _uploads(settings)
    token, path, name = uploads.save(_file(_gpkg(tmp_path), "网格.csv"))
    assert path.name == "data.gpkg" and name == "网格.csv" and path.parent.name == token
    assert _folders(uploads) == []  # a local working copy: kept for others only once its preview passes
    with pytest.raises(InvalidInput, match="ZIP"):
        uploads.save(_file(b"\x00\x00\x27\x0a" + b"\x00" * 96, "grids.shp"))


def test_bigger_than_the_setting_is_too_large_and_leaves_nothing(settings):
    uploads = _uploads(settings, GRIDMAP_IMPORT_MAX_MB=0.001)
    assert uploads.max_bytes == 1000 and uploads.max_body == 1000 + 1_000_000
    with pytest.raises(TooLarge) as caught:
        uploads.save(_file(b"code,name\n" + b"U1,x\n" * 400, "units.csv"))
    assert caught.value.status == 413 and "0.001 MB" in caught.value.message
    assert _folders(uploads) == []


def test_preview_keeps_a_few_per_session_and_commit_uses_them_once(settings, loaded_store, tmp_path):
    uploads = _uploads(settings)
    data = _gpkg(tmp_path)
    pending: dict = {}
    tokens = []
    for _ in range(PENDING_PER_SESSION + 1):
        outcome = uploads.preview(loaded_store, form=FORM, upload=_file(data, "g.gpkg"), pending=pending)
        assert outcome.report.ok and outcome.token, outcome.report.to_text()
        pending = outcome.pending
        tokens.append(outcome.token)
    assert list(pending) == tokens[1:]  # the oldest went, and its file with it
    assert _folders(uploads) == sorted(tokens[1:])
    version = loaded_store.data_version()
    done = uploads.commit(loaded_store, tokens[-1], pending=pending)
    assert done.report.committed and loaded_store.data_version() == version + 1
    assert tokens[-1] not in done.pending and tokens[-1] not in _folders(uploads)
    with pytest.raises(InvalidInput, match="过期"):
        uploads.commit(loaded_store, tokens[-1], pending=pending)


def test_a_failed_preview_keeps_nothing(settings, loaded_store):
    uploads = _uploads(settings)
    outcome = uploads.preview(
        loaded_store, form={"kind": "units"}, upload=_file("名称\n县水务局\n".encode(), "u.csv"), pending={}
    )
    assert not outcome.report.ok and outcome.token is None and outcome.pending == {}
    assert _folders(uploads) == []


def test_expired_uploads_are_removed(settings, loaded_store, tmp_path):
    uploads = _uploads(settings, GRIDMAP_IMPORT_KEEP_MINUTES=1)
    outcome = uploads.preview(loaded_store, form=FORM, upload=_file(_gpkg(tmp_path), "g.gpkg"), pending={})
    old = time.time() - 61
    os.utime(
        Path(settings["GRIDMAP_INSTANCE_DIR"]) / "uploads/imports" / outcome.token / "data.gpkg", (old, old)
    )
    uploads.clean()
    assert _folders(uploads) == []
    with pytest.raises(InvalidInput):
        uploads.commit(loaded_store, outcome.token, pending=outcome.pending)


def test_form_options_and_the_default_tolerance_setting(settings):
    uploads = _uploads(settings, GRIDMAP_COVERAGE_TOLERANCE_M2=25.0)
    assert uploads.default_options() == {"tolerance_m2": 25.0}
    assert uploads.options(FORM)["tolerance_m2"] == 25.0
    assert uploads.options({**FORM, "tolerance": "3"})["tolerance_m2"] == 3.0
    with pytest.raises(InvalidInput, match="请选择文件内容"):
        uploads.options({"kind": "nothing"})
    with pytest.raises(InvalidInput, match="替换或合并"):
        uploads.options({**FORM, "mode": "append"})
    with pytest.raises(InvalidInput):
        uploads.options({**FORM, "tolerance": "-1"})
