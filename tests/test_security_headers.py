"""Security headers on every response (issue 9): CSP with a per-request nonce that every inline
script of our pages carries, no framing, nosniff, Referrer-Policy, Secure session cookies."""

from __future__ import annotations

import re

import pytest

PAGES = [
    "/",
    "/grids",
    "/grids/610330100001",
    "/units/U1",
    "/leaders/L01",
    "/login",
    "/report",
    "/api/status",
    "/static/css/gridmap.css",
    "/no/such/page",
]


def _csp(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy", "")
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
        for part in (p.strip() for p in header.split(";"))
        if part
    }


@pytest.mark.parametrize("path", PAGES)
def test_every_response_has_the_headers(client, path):
    r = client.get(path)
    policy = _csp(r)
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["connect-src"] == "'self'"
    assert re.fullmatch(r"'self' 'nonce-[A-Za-z0-9_-]{16,}'", policy["script-src"])
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert {"'self'", "data:", "blob:"} <= set(policy["img-src"].split())
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] in ("strict-origin-when-cross-origin", "same-origin")


@pytest.mark.parametrize(
    "path", ["/", "/grids/610330100001", "/units/U1", "/leaders/L01", "/report", "/login"]
)
def test_inline_scripts_carry_this_requests_nonce(client, path):
    nonces = set()
    for _ in range(2):
        r = client.get(path)
        nonce = re.search(r"'nonce-([^']+)'", r.headers["Content-Security-Policy"]).group(1)
        nonces.add(nonce)
        html = r.get_data(as_text=True)
        tags = re.findall(r"<script\b[^>]*>", html, flags=re.IGNORECASE)
        inline = [t for t in tags if not re.search(r"\bsrc\s*=", t)]
        for tag in inline:
            assert f'nonce="{nonce}"' in tag, (path, tag)
        assert not re.search(
            r"\son[a-z]+\s*=", re.sub(r"<script\b.*?</script>", "", html, flags=re.S | re.I)
        ), "inline event handler attributes are blocked by the CSP"
        if path != "/login":
            assert inline, "the map page has its inline script"
    assert len(nonces) == 2, "a new nonce for every response"


@pytest.mark.parametrize(
    ("basemap", "hosts"),
    [
        ("osm", ["https://tile.openstreetmap.org"]),
        ("amap", ["https://*.is.autonavi.com"]),
        ("tianditu", ["https://*.tianditu.gov.cn"]),
        ("none", []),
    ],
)
def test_img_src_allows_the_basemap_tiles(settings, loaded_store, basemap, hosts):
    from web import create_app

    app = create_app({**settings, "GRIDMAP_BASEMAP": basemap, "GRIDMAP_TIANDITU_TOKEN": "t"})
    images = _csp(app.test_client().get("/"))["img-src"].split()
    for host in hosts:
        assert host in images
    assert not [source for source in images if source.startswith("http") and source not in hosts]


def _session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "the login page starts a session (CSRF token)"
    return cookies[0]


def test_cookie_is_not_secure_over_plain_http_by_default(client):
    cookie = _session_cookie(client.get("/login"))
    assert "Secure" not in cookie
    assert "HttpOnly" in cookie


def test_secure_cookie_setting(settings, loaded_store):
    from web import create_app

    app = create_app({**settings, "GRIDMAP_SECURE_COOKIES": "true"})
    assert "Secure" in _session_cookie(app.test_client().get("/login"))


def test_cookie_is_secure_when_the_request_came_over_https(client):
    assert "Secure" in _session_cookie(client.get("/login", base_url="https://localhost"))


def test_secure_cookies_setting_is_parsed(tmp_path):
    from gridmap.errors import ConfigError
    from gridmap.settings import load_settings

    base = {"GRIDMAP_INSTANCE_DIR": str(tmp_path)}
    assert load_settings(environ=base)["GRIDMAP_SECURE_COOKIES"] is False
    assert load_settings(environ={**base, "GRIDMAP_SECURE_COOKIES": "true"})["GRIDMAP_SECURE_COOKIES"] is True
    with pytest.raises(ConfigError, match="GRIDMAP_SECURE_COOKIES"):
        load_settings(environ={**base, "GRIDMAP_SECURE_COOKIES": "maybe"})
