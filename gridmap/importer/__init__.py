"""Importing one file as one kind of reference data: the pipeline, its report, checks, preview, uploads."""

from __future__ import annotations

from gridmap.importer.pipeline import run_import
from gridmap.importer.preview import PREVIEW_LIMIT, preview_map
from gridmap.importer.report import ImportReport
from gridmap.io.columns import KINDS

__all__ = ["KINDS", "PREVIEW_LIMIT", "ImportReport", "preview_map", "run_import"]
