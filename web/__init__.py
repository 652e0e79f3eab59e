"""The gridmap web app: a thin Flask face over the gridmap library."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from gridmap import publish, serving
from gridmap.passwords import secret_key
from gridmap.reference import ReferenceCache
from gridmap.settings import load_settings
from gridmap.store import Store
from gridmap.tilewarm import FirstViewWarmer

# Modules with a blueprint `bp`, registered in this order. Add yours here.
BLUEPRINT_MODULES: tuple[str, ...] = (
    "web.tiles",
    "web.api",
    "web.pages",
    "web.auth",
    "web.problems",
    "web.followup",
    "web.open311",
    "web.imports",
    "web.downloads",
    "web.patrol",
    "web.admin",
    "web.inbox",
    "web.notices",
    "web.assessment",
    "web.dashboard",
    "web.exposure",
    "web.vtiles",
    "web.levels",
)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from the registry (test_config overrides), the store, blueprints."""
    settings = load_settings(test_config)
    app = Flask(__name__, instance_path=settings["GRIDMAP_INSTANCE_DIR"])
    app.config.update(settings)
    store = Store(settings["GRIDMAP_DATABASE_URL"])
    app.config["SECRET_KEY"] = secret_key(settings, store)
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # DefaultJSONProvider
    app.json.sort_keys = False  # type: ignore[attr-defined]
    reference = ReferenceCache(
        store,
        tolerance_m=settings.whois_tolerance_m,
        check_s=settings.version_check_s,
        whois_source=settings.whois_source,
        frontage_tolerance_m=settings.frontage_tolerance_m,
    )
    for key, derive in publish.CACHED_LISTS.items():
        reference.cached_later(key, derive)
    app.extensions["gridmap.settings"] = settings
    app.extensions["gridmap.store"] = store
    app.extensions["gridmap.reference"] = reference
    # Under `gridmap serve` (gunicorn --preload): the master builds the model before forking and
    # closes its connections; each worker forgets any pooled connection it inherited.
    serving.on_ready(reference.warm)
    # then the tiles of a big county's first view, into the tile cache the workers inherit
    warmer = FirstViewWarmer(
        reference,
        embed_max_features=settings.embed_max_features,
        crs="gcj02" if settings.basemap == "amap" else "wgs84",
    )
    app.extensions["gridmap.tilewarmer"] = warmer  # on_ready holds it weakly
    serving.on_ready(warmer.warm)
    serving.on_ready(store.drop_connections)
    serving.after_fork(store.drop_connections, close=False)
    serving.after_fork(reference.forked)

    import importlib

    from flask_compress import Compress

    from web import errors, security

    app.config.setdefault(
        "COMPRESS_MIMETYPES",
        [
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/geo+json",
            "image/svg+xml",
        ],
    )
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    Compress(app)

    errors.register(app)
    security.register(app)
    for module in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(module).bp)
    return app
