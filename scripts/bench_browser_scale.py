"""Real-browser bench of the tiled county map: open a generated county of N grids in chromium.

    .venv/bin/python scripts/bench_browser_scale.py --grids 100000 [--folder /tmp/county100k]

Writes a county with scripts/gencounty.py (kept in ``--folder`` and reused on a second run), loads
it into a SQLite store, serves it as `gridmap serve` does (gunicorn, gevent workers) on 127.0.0.1 and opens ``/`` in Debian's chromium
(Playwright), on a desktop (1280×800) and a phone (390×844), each in a fresh browser context:

- open: seconds from navigation to the first vector tiles drawn, to the whole first view complete
  (every request answered, every tiled layer loaded, the layer control in place; the browser's own
  clock) and to Playwright's network idle (500 ms after the last answer); the bytes transferred for
  that first view (encoded body + headers of every response), the requests, and their timeline;
- whois: a click at ``--clicks`` random spots of the county (zoomed in to 16), seconds until the
  "此处由谁负责" popup shows, and whether it named the right grid.

The server warms the first view's tiles before its workers fork (gridmap.tilewarm); server_start_s
includes that. The phone's open comes after the desktop's. Prints a
table; ``--json FILE`` writes every number. Needs /usr/bin/chromium (or GRIDMAP_CHROMIUM).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT, ROOT / "scripts"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, timeout: float = 900.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def prepare(folder: Path, grids: int, seed: int) -> tuple[str, dict]:
    """The county's data folder and store (made once); returns the database URL and timings."""
    from gencounty import write_county

    from gridmap.reference import load_directory
    from gridmap.store import Store

    timings: dict = {}
    data = folder / "data"
    database = folder / "county.sqlite"
    url = f"sqlite:///{database}"
    if not (data / "layers.gpkg").is_file():
        started = time.perf_counter()
        write_county(data, grids=grids, seed=seed)
        timings["generate_s"] = time.perf_counter() - started
    if not database.is_file():
        started = time.perf_counter()
        load_directory(Store(url), data)
        timings["load_s"] = time.perf_counter() - started
    return url, timings


def serve(folder: Path, url: str, *, workers: int = 2) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"}
    env.update(
        GRIDMAP_INSTANCE_DIR=str(folder / "instance"),
        GRIDMAP_DATABASE_URL=url,
        GRIDMAP_BASEMAP="none",
        GRIDMAP_SECRET_KEY="bench-browser-scale",
        PYTHONPATH=str(ROOT),
    )
    from gridmap.serving import gunicorn_argv

    command = gunicorn_argv(host="127.0.0.1", port=port, workers=workers)  # as `gridmap serve` (gevent)
    log = open(folder / "gunicorn.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 900  # the model is built before the workers fork
    while time.monotonic() < deadline:
        try:
            _get(port, "/api/ping", timeout=2)
            return process, port
        except OSError:
            time.sleep(0.2)
    process.terminate()
    msg = f"gunicorn did not start; see {folder / 'gunicorn.log'}"
    raise RuntimeError(msg)


def open_map(browser, base: str, viewport: dict) -> tuple[object, dict]:
    """Open / in a fresh context; time to the first tiles drawn and the network idle; bytes."""
    context = browser.new_context(viewport=viewport, locale="zh-CN", service_workers="block")
    context.route(lambda u: not u.startswith(base), lambda route: route.abort())
    page = context.new_page()
    sizes: list[int] = []
    tiles: list[str] = []
    errors: list[str] = []

    def on_finished(request) -> None:
        s = request.sizes()
        sizes.append(s["responseBodySize"] + s["responseHeadersSize"])
        if "/vt/" in request.url:
            tiles.append(request.url)

    page.on("requestfinished", on_finished)
    page.on("pageerror", lambda e: errors.append(str(e)))
    started = time.perf_counter()
    page.goto(base + "/")
    page.wait_for_selector(".leaflet-gmVector-pane svg path", timeout=120_000)
    drawn = time.perf_counter() - started
    page.wait_for_load_state("networkidle")
    idle = time.perf_counter() - started
    page.remove_listener("requestfinished", on_finished)
    # in the browser's own clock (ms from navigation start): every tiled layer of the view loaded and
    # the layer control in place; the last response of the first view; the page's load event
    page.wait_for_function(
        "() => window.gridmapVectorLayers && document.querySelector('.leaflet-control-layers') &&"
        " Object.values(window.gridmapVectorLayers).every(l => !l._map || !l.isLoading())"
    )
    clock = page.evaluate(
        """() => {
          const nav = performance.getEntriesByType('navigation')[0];
          const res = performance.getEntriesByType('resource');
          const tiles = res.filter(r => r.name.includes('/vt/'));
          return {
            load_event: nav.loadEventEnd, last_response: Math.max(nav.responseEnd, ...res.map(r => r.responseEnd)),
            first_tile_start: tiles.length ? Math.min(...tiles.map(r => r.startTime)) : null,
            last_tile_end: tiles.length ? Math.max(...tiles.map(r => r.responseEnd)) : null,
            timeline: [nav, ...res].map(r => [r.name.replace(location.origin, ''), Math.round(r.startTime),
                                              Math.round(r.responseEnd), r.transferSize]),
          };
        }"""
    )
    view_done = max(clock["load_event"], clock["last_response"])
    return page, {
        "first_tiles_drawn_s": round(drawn, 2),
        # the whole first view: every request of it answered, tiles loaded, controls ready
        "first_view_complete_s": round(view_done / 1000, 2),
        "first_tile_request_s": round((clock["first_tile_start"] or 0) / 1000, 2),
        "last_tile_answer_s": round((clock["last_tile_end"] or 0) / 1000, 2),
        "load_event_s": round(clock["load_event"] / 1000, 2),
        # Playwright's networkidle: no request for 500 ms, so 0.5 s after the last answer
        "network_idle_s": round(idle, 2),
        "timeline": clock["timeline"],
        "transferred_bytes": sum(sizes),
        "requests": len(sizes),
        "tile_requests": len(tiles),
        "zoom": page.evaluate("window.gridmapMap.getZoom()"),
        "errors": errors,
    }


def click_whois(page, spots: list[tuple[float, float]], port: int) -> dict:
    """Click each spot at zoom 16; seconds to the whois popup, and whether its grid is right."""
    times: list[float] = []
    kinds: list[str] = []
    right = 0
    box = page.locator(".gm-map .leaflet-container").bounding_box()
    for lon, lat in spots:
        expected = json.loads(_get(port, f"/api/whois?lon={lon}&lat={lat}")[1]).get("grid") or {}
        page.evaluate(
            "([lat, lon]) => window.gridmapMap.setView([lat, lon], 16, {animate: false})", [lat, lon]
        )
        page.evaluate("() => window.gridmapMap.closePopup()")
        page.wait_for_load_state("networkidle", timeout=60_000)  # the spot's tiles are drawn
        x, y = page.evaluate(
            "([lat, lon]) => { const p = window.gridmapMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
            [lat, lon],
        )
        started = time.perf_counter()
        page.mouse.click(box["x"] + x, box["y"] + y)
        # whois of the spot, or the popup of the road or point there (its unit and grid)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=30_000)
        times.append(time.perf_counter() - started)
        text = popup.inner_text()
        kinds.append("whois" if "此处由谁负责" in text else text[:40])
        if expected.get("name") and expected["name"] in text:
            right += 1
        page.evaluate("() => window.gridmapMap.closePopup()")
    return {
        "clicks": len(spots),
        "answered": len(times),
        "right_grid": right,
        "kinds": kinds,
        "median_s": round(float(np.median(times)), 3),
        "max_s": round(float(np.max(times)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grids", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", type=Path, default=None, help="where the county is kept (default /tmp)")
    parser.add_argument("--clicks", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    folder = args.folder or Path("/tmp") / f"gridmap-county-{args.grids}"
    folder.mkdir(parents=True, exist_ok=True)
    url, result = prepare(folder, args.grids, args.seed)
    result["grids"] = args.grids
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    process, port = serve(folder, url)
    result["server_start_s"] = round(time.perf_counter() - started, 1)  # model build + tile warm-up
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        status, html = _get(port, "/")
        result["server_first_page_s"] = round(time.perf_counter() - started, 2)  # model + page, once
        result["page_html_bytes"] = len(html)
        print(json.dumps(result, ensure_ascii=False), flush=True)
        assert status == 200, status
        bounds = json.loads(_get(port, "/api/status")[1])
        result["counts"] = bounds.get("counts")
        rng = np.random.default_rng(args.seed)
        from gridmap.store import Store

        grids = Store(url).read_dataset().layers["grids"]
        picks = grids.geometry.iloc[rng.choice(len(grids), size=args.clicks, replace=False)]
        spots = [(p.x, p.y) for p in picks.representative_point()]
        with sync_playwright() as pw:
            chromium = os.environ.get("GRIDMAP_CHROMIUM", "/usr/bin/chromium")
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
            for name, viewport in VIEWPORTS.items():
                page, opened = open_map(browser, base, viewport)
                print(name, json.dumps({k: v for k, v in opened.items() if k != "timeline"}), flush=True)
                opened["whois"] = click_whois(page, spots, port)
                print(name, json.dumps(opened["whois"]), flush=True)
                if os.environ.get("GRIDMAP_SCREENSHOTS"):
                    page.screenshot(path=str(Path(os.environ["GRIDMAP_SCREENSHOTS"]) / f"scale-{name}.png"))
                page.context.close()
                result[name] = opened
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
