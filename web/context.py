"""Access to the store and the reference cache of the current app."""

from __future__ import annotations

from flask import current_app

from gridmap.reference import ReferenceCache
from gridmap.store import Store


def store() -> Store:
    return current_app.extensions["gridmap.store"]


def reference() -> ReferenceCache:
    return current_app.extensions["gridmap.reference"]
