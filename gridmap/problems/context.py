"""What the problem functions work with: the store, reference data, categories, photos, limits."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gridmap.problems.categories import Categories, frontage_codes, load_categories
from gridmap.problems.photos import PhotoStorage
from gridmap.reference import ReferenceCache
from gridmap.settings import Settings, load_settings
from gridmap.storage import FolderStorage, storage_from_settings
from gridmap.store import Store
from gridmap.whois import Whois
from gridmap.worktime import calendar_for

PHOTO_PREFIX = "uploads"  # photos' keys in the shared storage start with this folder


@dataclass
class ProblemContext:
    """The store, reference data, categories and photo storage, with the limits from the settings."""

    store: Store
    reference: ReferenceCache
    categories: Categories
    storage: PhotoStorage
    duplicate_radius_m: float
    photo_max_bytes: int
    photo_max_count: int
    reports_per_hour: int  # anonymous reports per client address and hour; 0: no limit
    support_window_h: float  # one support per client address and problem in this window
    settings: Settings  # every setting, frozen: the workflow's deadlines, follow-up windows, notices
    photo_base: str = "/problems/photos"  # where the photo routes are mounted
    whois_check_s: float = 2.0  # how often to ask the store whether reference data changed

    def whois(self) -> Whois:
        """The whois (index or database), re-validated against the store's data version every few seconds."""
        cached = self.__dict__.get("_whois")
        clock = time.monotonic()
        if cached is None or clock - cached[1] > self.whois_check_s:
            cached = (self.reference.whois(), clock)
            self.__dict__["_whois"] = cached
        return cached[0]


def context_from_settings(
    store: Store, reference: ReferenceCache, settings: Mapping[str, Any]
) -> ProblemContext:
    """A ProblemContext configured by the settings (as load_settings() resolves them)."""
    frozen = settings if isinstance(settings, Settings) else load_settings(settings, environ={})
    # a bad calendar file stops start-up with its file and line, not the first report
    calendar_for(work_hours=frozen.work_hours, holidays_file=frozen.holidays_file)
    photo_dir = settings["GRIDMAP_PHOTO_DIR"]
    # photos under uploads/ of the deployment's storage (the instance folder by default), or a folder of their own
    storage = FolderStorage(photo_dir) if photo_dir else storage_from_settings(settings).within(PHOTO_PREFIX)
    categories = load_categories(settings["GRIDMAP_PROBLEM_CATEGORIES"] or None)
    frontage_codes(categories, frozen.frontage_categories)  # a misspelt 门前五包 category stops start-up
    return ProblemContext(
        store=store,
        reference=reference,
        categories=categories,
        storage=storage,
        duplicate_radius_m=float(settings["GRIDMAP_DUPLICATE_RADIUS_M"]),
        photo_max_bytes=int(float(settings["GRIDMAP_PHOTO_MAX_MB"]) * 1_000_000),
        photo_max_count=int(settings["GRIDMAP_PHOTO_MAX_COUNT"]),
        reports_per_hour=int(settings["GRIDMAP_REPORTS_PER_HOUR"]),
        support_window_h=float(settings["GRIDMAP_SUPPORT_WINDOW_HOURS"]),
        settings=frozen,
    )
