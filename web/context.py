"""Access to the store and the reference cache of the current app."""

from __future__ import annotations

from flask import current_app

from gridmap.reference import ReferenceCache
from gridmap.settings import Settings
from gridmap.store import Store


def settings() -> Settings:
    """The app's frozen, typed settings (built once by create_app from the registry)."""
    return current_app.extensions["gridmap.settings"]


def store() -> Store:
    return current_app.extensions["gridmap.store"]


def reference() -> ReferenceCache:
    return current_app.extensions["gridmap.reference"]
