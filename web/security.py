"""Security headers on every response: a CSP with a per-request nonce, no framing, no sniffing.

* ``Content-Security-Policy``: scripts only from our own origin or inline with this request's
  nonce (``csp_nonce()`` in templates: our pages and the folium map script carry it); styles
  from our origin and inline (Leaflet positions everything with style attributes); images from
  our origin, ``data:``, ``blob:`` and the tile servers of GRIDMAP_BASEMAP; fetches to our
  origin only; no plugins; forms post to our origin; no page may frame ours.
* ``X-Frame-Options: DENY`` (older browsers), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: strict-origin-when-cross-origin``.
* The session cookie is ``Secure`` when GRIDMAP_SECURE_COOKIES is on, and for every request
  that arrived over HTTPS (``request.is_secure``; behind a proxy that needs
  GRIDMAP_TRUSTED_PROXIES so X-Forwarded-Proto is believed).
"""

from __future__ import annotations

import secrets

from flask import Flask, g, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

from gridmap.maps import basemap_sources
from web.context import settings

REFERRER_POLICY = "strict-origin-when-cross-origin"


def csp_nonce() -> str:
    """This request's script nonce (made on first use)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def content_security_policy(*, nonce: str, basemap: str) -> str:
    """The Content-Security-Policy header value for one response."""
    images = " ".join(["'self'", "data:", "blob:", *basemap_sources(basemap)])
    directives = [
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {images}",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def _add_headers(response):
    response.headers["Content-Security-Policy"] = content_security_policy(
        nonce=csp_nonce(), basemap=settings().basemap
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    return response


class SecureWhenHttps(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions; the cookie is Secure by setting or when served over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if super().get_cookie_secure(app):
            return True
        return has_request_context() and request.is_secure


def register(app: Flask) -> None:
    """Headers on every response, ``csp_nonce()`` in every template, Secure cookies."""
    if app.config.get("GRIDMAP_SECURE_COOKIES"):
        app.config["SESSION_COOKIE_SECURE"] = True
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = SecureWhenHttps()
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_add_headers)
