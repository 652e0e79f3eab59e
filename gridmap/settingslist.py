"""The settings' declarations: every setting once as (name, default, help, parser); read by gridmap.settings."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridmap import settingparsers as parse
from gridmap.storage import parse_location as parse_storage_location

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"


@dataclass(frozen=True)
class Setting:
    """One setting: its environment name, default, parser and help text."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    blank_is_value: bool = False  # an empty value given is a choice (e.g. off), not "use the default"


# 门前五包 (the duties of a shop for the pavement in front of it): 占道经营, 店外经营, 垃圾暴露,
# 道路不洁, 乱搭乱挂, 非机动车乱停, in the built-in categories' codes
FRONTAGE_CATEGORIES = "stall,out_of_store,garbage,road_dirty,laundry,bike_parking"
BASEMAP_MBTILES = "basemap.mbtiles"  # `gridmap basemap import` copies the file here (instance folder)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "GRIDMAP_DATABASE_URL",
        None,
        "SQLAlchemy URL of the store. Default: the SQLite file instance/gridmap.sqlite "
        "(under GRIDMAP_INSTANCE_DIR).",
    ),
    Setting(
        "GRIDMAP_INSTANCE_DIR",
        str(DEFAULT_INSTANCE_DIR),
        "Folder for the SQLite file, the secret key file, uploads and gridmap.toml.",
    ),
    Setting("PORT", 5000, "TCP port that `gridmap serve` and `make run` listen on.", parse.positive_int),
    Setting("GRIDMAP_HOST", "127.0.0.1", "Address that `gridmap serve` binds to."),
    Setting(
        "GRIDMAP_WORKERS",
        max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2),
        "Number of gunicorn worker processes (gevent event loops) for `gridmap serve`. Default: one per "
        "processor core, at least 2.",
        parse.positive_int,
    ),
    Setting(
        "GRIDMAP_BASEMAP",
        "none",
        "Basemap under our layers: none (own layers only, works offline), osm, "
        "tianditu (needs GRIDMAP_TIANDITU_TOKEN), amap (GCJ-02 tiles; overlays are shifted "
        "to match), mbtiles (the offline tiles that `gridmap basemap import FILE.mbtiles` copied into "
        "the instance folder), or the path of a local XYZ tile folder ({z}/{x}/{y}.png) or .mbtiles "
        "file. Local tiles are served by gridmap at /tiles/{z}/{x}/{y}.png; with none the county's "
        "own streets and their names are drawn as the base.",
        parse.basemap,
    ),
    Setting("GRIDMAP_TIANDITU_TOKEN", "", "Tianditu (天地图) API token, needed by the tianditu basemap."),
    Setting(
        "GRIDMAP_SECRET_KEY",
        None,
        "Secret for signing sessions, the same on every app server. Default: a random key generated "
        "once and kept in the database (meta table), so every server sharing the database agrees.",
    ),
    Setting(
        "GRIDMAP_SECURE_COOKIES",
        False,
        "Mark the session cookie Secure (sent over HTTPS only). "
        "Must be true when gridmap is served over HTTPS; requests that arrive over HTTPS get a "
        "Secure cookie anyway (true/false).",
        parse.boolean,
    ),
    Setting(
        "GRIDMAP_WHOIS_TOLERANCE_M",
        50.0,
        "How far (metres) a spot may be from a road segment for that segment's unit to answer for it.",
        parse.positive_float,
    ),
    # --- serving under load (issue 9) ----------------------------------------------------
    Setting(
        "GRIDMAP_BODY_TIMEOUT_S",
        30.0,
        "Seconds a request body may take to arrive, plus one second "
        "per 16 KB of it; a client that trickles its body is answered 408 (`gridmap serve`).",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_HEAVY_SLOTS",
        1,
        "Photo decodings and map renderings that one worker process runs at once; more wait for a turn.",
        parse.positive_int,
    ),
    Setting(
        "GRIDMAP_HEAVY_WAIT_S",
        10.0,
        "Seconds a request waits for a heavy-work turn before it is answered 503 with Retry-After.",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_PRINT_CACHE_MB",
        200.0,
        "Disk space, in megabytes, for rendered print maps kept under "
        "print-cache/ in the instance folder (per data version and page options; 0: no cache).",
        parse.non_negative_float,
    ),
    Setting(
        "GRIDMAP_PRINT_ANON_MAX_DPI",
        200,
        "Highest resolution (dpi) of print maps for visitors who "
        "are not logged in; logged-in users may ask for up to 600.",
        parse.positive_int,
    ),
    # --- problems (issue 3) ---------------------------------------------------------
    Setting(
        "GRIDMAP_PROBLEM_CATEGORIES",
        "",
        "Path of a CSV or JSON file listing problem categories (code, name, group, "
        "deadline_hours) that replaces the built-in civilized-city list. Empty: built-in list.",
    ),
    Setting(
        "GRIDMAP_DUPLICATE_RADIUS_M",
        50.0,
        "An open problem of the same category within this many metres is offered to a "
        "reporter as a possible duplicate.",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_PHOTO_MAX_MB", 8.0, "Largest photo upload accepted, in megabytes.", parse.positive_float
    ),
    Setting(
        "GRIDMAP_PHOTO_MAX_COUNT", 3, "Most photos accepted with one report or action.", parse.positive_int
    ),
    Setting(
        "GRIDMAP_PHOTO_DIR",
        "",
        "Folder where problem photos are stored. Empty: uploads/ under GRIDMAP_INSTANCE_DIR.",
    ),
    # --- import (issue 6) --------------------------------------------------------------
    Setting(
        "GRIDMAP_IMPORT_MAX_MB",
        200.0,
        "Largest file accepted by the office's import page, in megabytes (the CLI has no limit).",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_IMPORT_MAX_UNPACKED_MB",
        256.0,
        "Largest total uncompressed size, in megabytes, of the members read from one archive "
        "(KMZ, zipped Shapefile, XLSX), on the import page and in `gridmap import`/`gridmap load`; "
        "checked before anything is decompressed.",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_IMPORT_MAX_RATIO",
        200.0,
        "Highest compression ratio (uncompressed / compressed) accepted for an archive that "
        "unpacks to more than 16 MB; decompression bombs reach about 1000.",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_IMPORT_KEEP_MINUTES",
        60.0,
        "How long the import page keeps an uploaded file that passed its preview, waiting for "
        '"confirm"; failed previews are deleted at once.',
        parse.positive_float,
    ),
    # --- coverage: gaps and overlaps between grids (gridmap/coverage.py) -----------------
    Setting(
        "GRIDMAP_COVERAGE_TOLERANCE_M2",
        1.0,
        "Gaps and overlaps between grids (or towns) of this "
        "many square metres or less are ignored by `gridmap audit`, `gridmap import` and the import "
        "page (their tolerance option overrides it).",
        parse.non_negative_float,
    ),
    Setting(
        "GRIDMAP_COVERAGE_MIN_WIDTH_M",
        0.05,
        "Gap and overlap pieces thinner than this on average "
        "(2 x area / perimeter, metres) are rounding noise and ignored.",
        parse.non_negative_float,
    ),
    Setting(
        "GRIDMAP_COVERAGE_SLIVER_WIDTH_M",
        1.0,
        "Gap and overlap pieces thinner than this on average "
        "(metres) are reported as slivers: edges that do not quite meet.",
        parse.non_negative_float,
    ),
    # --- patrol routes (issue 4) --------------------------------------------------------
    Setting(
        "GRIDMAP_PATROL_MAX_SNAP_M",
        200.0,
        "A patrol stop farther than this many metres from every street is refused (named in the message).",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_PATROL_MODE", "walk", "How inspectors patrol by default: walk or bike.", parse.patrol_mode
    ),
    Setting(
        "GRIDMAP_PATROL_HOURS",
        6.0,
        "Hours of patrol in an inspector's working day (the route budget).",
        parse.positive_float,
    ),
    Setting("GRIDMAP_PATROL_WALK_KMH", 4.5, "Walking speed of inspectors, km/h.", parse.positive_float),
    Setting("GRIDMAP_PATROL_BIKE_KMH", 12.0, "Cycling speed of inspectors, km/h.", parse.positive_float),
    Setting(
        "GRIDMAP_PATROL_STOP_MINUTES", 10.0, "Minutes spent at each patrol stop.", parse.non_negative_float
    ),
    Setting(
        "GRIDMAP_PATROL_POINT_VALUE_M",
        3000.0,
        "How many metres of detour an optional inspection point is worth; when budgets are short the "
        "plan drops the points worth least.",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_PATROL_TIME_LIMIT",
        5.0,
        "Seconds the day's patrol plan may search (the plan stops earlier when it stops improving).",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_PATROL_OWN_GRIDS",
        True,
        "Keep each inspector to the stops of their own grids (true/false).",
        parse.boolean,
    ),
    Setting(
        "GRIDMAP_PATROL_CHECKIN_M",
        50.0,
        "An inspector checks in with the phone's position within this many metres of the stop "
        "(from the edge of a point drawn as an area); farther is refused with the distance. The "
        "campaign office may record a check-in for them without a position.",
        parse.positive_float,
    ),
    # --- logins and abuse (issue 9) -----------------------------------------------------
    Setting(
        "GRIDMAP_LOGIN_MAX_FAILURES",
        10,
        "Failed logins allowed for one user name within "
        "GRIDMAP_LOGIN_WINDOW_MINUTES; more answer 429 until the window has passed.",
        parse.positive_int,
    ),
    Setting(
        "GRIDMAP_LOGIN_MAX_FAILURES_PER_ADDRESS",
        50,
        "Failed logins allowed from one client address within GRIDMAP_LOGIN_WINDOW_MINUTES (any user names).",
        parse.positive_int,
    ),
    Setting(
        "GRIDMAP_LOGIN_WINDOW_MINUTES",
        15.0,
        "The window, in minutes, in which failed logins are counted.",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_TRUSTED_PROXIES",
        0,
        "How many reverse proxies in front of gridmap to trust for "
        "X-Forwarded-For/-Proto (0: use the connection's address; behind one nginx: 1).",
        parse.non_negative_int,
    ),
    Setting("GRIDMAP_SESSION_HOURS", 24.0, "Hours a login in the browser lasts.", parse.positive_float),
    Setting(
        "GRIDMAP_TOKEN_DAYS",
        90.0,
        "Days an API bearer token from `gridmap user token` lasts unless --days says otherwise.",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_APIKEY_DAYS",
        365.0,
        "Days an Open311 api_key from `gridmap apikey add` lasts unless --days says otherwise.",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_REPORTS_PER_HOUR",
        60,
        "Anonymous problem reports accepted from one client "
        "address per hour (0: no limit). Logged-in staff and Open311 partners are not limited.",
        parse.non_negative_int,
    ),
    Setting(
        "GRIDMAP_SUPPORT_WINDOW_HOURS",
        24.0,
        "One 附议 (support) per client address per problem within this many hours.",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_WORK_HOURS",
        parse.work_hours("08:30-12:00,14:30-18:00"),
        "Working hours of a working day (China time), as spans HH:MM-HH:MM separated by commas; "
        "deadlines count only these hours on working days (official holidays and 调休 included).",
        parse.work_hours,
    ),
    Setting(
        "GRIDMAP_HOLIDAYS_FILE",
        None,
        "A county's own calendar file: one date per line with 休 (a local day off) or 班 (a working "
        "day), read on top of the official holiday calendar.",
    ),
    Setting("GRIDMAP_CHECKLIST_FILE", None, "The county's assessment checklist CSV (empty: built-in)."),
    Setting(
        "GRIDMAP_VERIFY_HOURS",
        4.0,
        "Working hours an inspector has to verify (核实) a report.",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_URGENT_HOURS",
        4.0,
        "Working hours to fix an urgent problem when its category gives no urgent deadline.",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_SMTP_URL",
        None,
        "Email notices over SMTP: smtp://host:port (empty: no email).",
        parse.url("smtp"),
    ),
    Setting("GRIDMAP_SMTP_FROM", "gridmap@localhost", "The sender address of email notices."),
    Setting(
        "GRIDMAP_WEBHOOK_URL",
        None,
        "Notices as JSON POSTs to this http(s) address (SMS gateway, WeCom/DingTalk robot); empty: off.",
        parse.url("http", "https"),
    ),
    Setting(
        "GRIDMAP_NOTIFY_MAX_ATTEMPTS",
        20,
        "Delivery attempts per notice and channel before it is given up and shown to the office.",
        parse.positive_int,
    ),
    Setting(
        "GRIDMAP_NOTIFY_RETRY_SECONDS",
        30.0,
        "Wait before the first retry of a failed delivery; doubled each time, at most an hour.",
        parse.positive_float,
    ),
    Setting("GRIDMAP_NOTIFY_POLL_SECONDS", 2.0, "How often the worker looks for work.", parse.positive_float),
    Setting(
        "GRIDMAP_NOTIFY_TIMEOUT_SECONDS",
        10.0,
        "Time limit of one delivery attempt's network steps (SMTP connect and send, webhook POST).",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_NOTIFY_LEASE_SECONDS",
        120.0,
        "How long a worker holds a delivery it took; a killed worker's deliveries are retried after "
        "it (at least 5 times GRIDMAP_NOTIFY_TIMEOUT_SECONDS).",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_DUE_SOON_HOURS",
        4.0,
        "Working hours before a deadline when the unit is reminded (0: no reminder).",
        parse.non_negative_float,
    ),
    Setting(
        "GRIDMAP_ESCALATE_HOURS",
        8.0,
        "Working hours a problem stays overdue before the grid's county leaders are told.",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_DIGEST_AT",
        "08:00",
        "China time of the leaders' daily digest of their grids (empty: no digest).",
        parse.clock_time,
        blank_is_value=True,
    ),
    Setting("GRIDMAP_DASHBOARD_REFRESH_SECONDS", 30.0, "/dashboard refresh, seconds.", parse.positive_float),
    Setting(
        "GRIDMAP_FOLLOWUP_DAYS",
        7.0,
        "Days after closing in which the reporter's 'not fixed' reopens the case.",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_FOLLOWUP_DUE_DAYS",
        3.0,
        "Days after closing without the reporter's answer when the office is told to phone (回访).",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_SCORING_FILE", "", "TOML file of the county's scoring scheme (empty: the built-in one)."
    ),
    Setting(
        "GRIDMAP_REWARD_POINTS", 10, "Points of a citizen report once filed (有奖举报).", parse.positive_int
    ),
    Setting(
        "GRIDMAP_EMBED_MAX_FEATURES",
        2000,
        "Above this many grids, segments, points and communities the maps draw them from vector tiles (/vt/...).",
        parse.non_negative_int,
    ),
    # --- shared storage for several servers (issue 14) ------------------------------------
    Setting(
        "GRIDMAP_STORAGE",
        "",
        "Where photos and generated files live, seen alike by every server: a folder (a shared NFS "
        "mount when there are several servers) or s3://bucket/prefix on any S3-compatible object store. "
        "Empty: the instance folder.",
        parse_storage_location,
    ),
    Setting("GRIDMAP_S3_ENDPOINT", "", "Address of the S3-compatible server (MinIO, Ceph); empty: AWS."),
    Setting("GRIDMAP_S3_ACCESS_KEY", "", "Access key of the object store (give it in the environment)."),
    Setting("GRIDMAP_S3_SECRET_KEY", "", "Secret key of the object store (give it in the environment)."),
    Setting("GRIDMAP_S3_REGION", "", "Region of the object store; empty: the client's default."),
    Setting(
        "GRIDMAP_VERSION_CHECK_S",
        2.0,
        "Seconds a server worker trusts the data version it last read before reading it again "
        "(0: read it at every request); a change made in the same process is seen at once.",
        parse.non_negative_float,
    ),
    Setting(
        "GRIDMAP_WHOIS_SOURCE",
        "memory",
        "Where whois and the assignment of reports look spots up: memory (a spatial index in every "
        "worker, for a county) or database (PostGIS queries on the GiST indexes, no index held per "
        "worker; needs GRIDMAP_DATABASE_URL=postgresql+psycopg://…).",
        parse.whois_source,
    ),
    Setting(
        "GRIDMAP_FRONTAGE_TOLERANCE_M",
        5.0,
        "How far (metres) a spot may be from a shop's 门前五包 frontage (line or polygon) for whois "
        "to name that shop (the nearest frontage wins).",
        parse.positive_float,
    ),
    Setting(
        "GRIDMAP_AUDIT_FRONTAGE_MAX_M",
        30.0,
        "`gridmap audit` warns about a shop's 门前五包 frontage farther than this many metres from the shop.",
        parse.non_negative_float,
    ),
    Setting(
        "GRIDMAP_FRONTAGE_CATEGORIES",
        parse.names(FRONTAGE_CATEGORIES),
        "Problem categories (codes or Chinese names, separated by commas) that go to the shop first "
        "when reported on its 门前五包 frontage, the segment's unit informed to supervise; empty: none.",
        parse.names,
        blank_is_value=True,
    ),
)
