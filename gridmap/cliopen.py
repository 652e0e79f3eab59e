"""What a command opens: the store (and reference cache) that GRIDMAP_DATABASE_URL names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridmap.settings import Settings, load_settings
from gridmap.store import Store

if TYPE_CHECKING:
    from gridmap.reference import ReferenceCache

__all__ = ["open_reference", "open_store"]


def open_store(settings: Settings | None = None) -> Store:
    """The store that the settings (default: `load_settings()`) name, for a command."""
    settings = load_settings() if settings is None else settings
    return Store(settings["GRIDMAP_DATABASE_URL"])


def open_reference(settings: Settings | None = None) -> ReferenceCache:
    """The reference cache (responsibility model, whois) over `open_store`'s store."""
    from gridmap.reference import ReferenceCache

    settings = load_settings() if settings is None else settings
    return ReferenceCache(
        open_store(settings),
        tolerance_m=settings.whois_tolerance_m,
        whois_source=settings.whois_source,
        frontage_tolerance_m=settings.frontage_tolerance_m,
    )
