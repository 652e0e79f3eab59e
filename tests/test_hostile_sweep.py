"""Every route of the app, every method, hostile values everywhere: no answer is a 500 (issue 9)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
import time

import pytest
from werkzeug.datastructures import ImmutableMultiDict

from tests.problems.conftest import ON_BINJIANG_ROAD, jpeg_bytes

# --- which request values a route reads: recorded while it runs --------------------------------
SEEN: set[str] = set()


class _SeenDict(dict):
    """A plain dict (JSON body, form.to_dict()) that notes every key a route asks for."""

    def __getitem__(self, key):
        SEEN.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        SEEN.add(key)
        return super().get(key, default)

    def __contains__(self, key):
        SEEN.add(key)
        return super().__contains__(key)

    def pop(self, key, *default):
        SEEN.add(key)
        return super().pop(key, *default)


class _SeenArgs(ImmutableMultiDict):
    """request.args and request.form that note every key a route asks for."""

    def __getitem__(self, key):
        SEEN.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):
        SEEN.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        SEEN.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        SEEN.add(key)
        return super().__contains__(key)

    def to_dict(self, flat=True):
        return _SeenDict(super().to_dict(flat))


class _RecordingRequest:
    """Mixed into the app's own request class: its args, form and JSON note what a route reads."""

    parameter_storage_class = _SeenArgs

    def get_json(self, *args, **kwargs):
        data = super().get_json(*args, **kwargs)
        return _SeenDict(data) if type(data) is dict else data


# --- hostile values ------------------------------------------------------------------------------
DATES = [
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
    "2026-02-30",
    "20261127",
]
NUMBERS = ["1e9", "-1e309", "inf", "nan", "0", "-1", "9" * 400, "1" * 5000, "１２", "1_0"]
TEXTS = [
    "",
    "x" * 20_000,
    "\x00",
    "<script>alert(1)</script>",
    "${alert(1)}`'\"",
    "王记`小吃🙂",
    "\u202e\u200b",
    "[]",
]
QUERY_VALUES = DATES + NUMBERS + TEXTS
# a shorter list for names no code was seen reading (they are most likely ignored)
GENERIC_VALUES = ["9999-12-31T23:59:59-12:00", "0001-01-01", "1e309", "-1", "x" * 2_000, "\x00"]
JSON_VALUES = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    10**400,
    float("inf"),
    float("-inf"),
    float("nan"),
    1e308,
    [],
    {},
    [1, 2],
    {"a": 1},
    "x" * 1_000_000,
    "\ud800",
    [[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]],
]  # hostile text reaches the same code as a form field, above
GENERIC_JSON = [None, True, [], {}, 10**400, float("inf"), float("nan"), "\ud800", {"a": [1, {"b": None}]}]
DEPTH = 200_000
RAW_BODIES = [
    ("application/json", b"[" * DEPTH + b"]" * DEPTH),
    ("application/json", b'{"a":' * (DEPTH // 2) + b"1" + b"}" * (DEPTH // 2)),
    ("application/json", b'{"a": "\xff\xfe\xc0\x80"}'),
    ("application/json", b"\xef\xbb\xbf{}"),
    ("application/json", b"NaN"),
    ("application/json", b"1e999"),
    ("application/json", b"1" * 5000),
    ("application/json", b"null"),
    ("application/json", b"[]"),
    ("application/json", b'"x"'),
    ("application/json", b""),
    ("application/json", b'{"a": 1, "a": [2]}'),
    ("application/json", b"{" + b'"k": 1, ' * 50_000 + b'"z": 0}'),
    ("application/x-www-form-urlencoded", b"a=%FF%FE&b=\xff\xfe&csrf_token=%00"),
    ("application/x-www-form-urlencoded", b"&".join(b"k%d=1" % i for i in range(20_000))),
    ("text/plain", b"x" * 1_000_000),
    ("multipart/form-data; boundary=zz", b'--zz\r\nContent-Disposition: form-data; name="a"\r\n\r\nb'),
]
# names worth a try on every route even when no code was seen reading them
GENERIC_NAMES = (
    "from",
    "to",
    "start_date",
    "end_date",
    "date",
    "day",
    "status",
    "category",
    "source",
    "grid",
    "unit",
    "lon",
    "lat",
    "long",
    "crs",
    "q",
    "hours",
    "deadline",
    "page",
    "limit",
    "format",
    "dpi",
    "paper",
    "landscape",
    "scope",
    "overdue",
    "fallback",
    "action",
    "note",
    "api_key",
    "service_code",
    "inspector",
)
# valid values the other parameters keep while one of them is hostile (routes reach deep code)
BASELINE = {
    "lon": str(ON_BINJIANG_ROAD[0]),
    "lat": str(ON_BINJIANG_ROAD[1]),
    "long": str(ON_BINJIANG_ROAD[0]),
    "category": "garbage",
    "service_code": "garbage",
    "description": "垃圾堆放",
    "action": "extend",
    "note": "延期理由",
    "hours": "24",
    "dpi": "72",
    "paper": "A4",
    "day": "2026-11-27",
    "kind": "grids",
}
# request headers: each set alone (an early refusal would hide the others), the rest together
HOSTILE_HEADERS = [
    {"Authorization": "Bearer é"},
    {"Authorization": "Bearer " + "x" * 10_000},
    {"Authorization": "Basic Zm9vOg=="},
    {"X-CSRF-Token": "é王"},
    {"X-CSRF-Token": "x" * 10_000},
    {"Cookie": "session=garbage.é"},
    {"Cookie": "session=" + "x" * 5_000},
    {"Content-Type": "multipart/form-data"},
    {"Content-Type": "application/json; charset=utf-16"},
    {
        "Idempotency-Key": "é" * 300,
        "Accept-Encoding": "br;q=nan, gzip;q=1e999",
        "X-Forwarded-For": "é, ::1, 999.1.1.1",
        "If-Modified-Since": "Mon, 01 Jan 0001 00:00:00 GMT",
        "Range": "bytes=99999999999999999999-",
        "If-None-Match": '"' + "x" * 5_000,
        "Accept-Language": "zh;q=inf",
        "User-Agent": "x" * 10_000,
    },
    {
        "Idempotency-Key": "x" * 10_000,
        "If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT",
        "Range": "bytes=-0,5-1",
        "X-Forwarded-For": "",
        "X-Real-IP": "not-an-ip",
    },
]
IDENTITIES = ("anonymous", "office", "unit")
SLOW_S = 5.0  # a single request slower than this is reported too


def _chinese_json_error(response) -> bool:
    """API errors are {"message": ...}; Open311 errors are [{"code": .., "description": ...}]."""
    try:
        body = json.loads(response.get_data())
    except ValueError:
        return False
    if isinstance(body, list) and body and isinstance(body[0], dict):
        message = body[0].get("description")
    else:
        message = body.get("message") if isinstance(body, dict) else None
    return isinstance(message, str) and re.search(r"[\u4e00-\u9fff]", message) is not None


def _login(client, username: str) -> str:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post(
        "/login", data={"username": username, "password": "secret-pass-1", "csrf_token": token}
    )
    assert done.status_code == 302, done.get_data(as_text=True)[:500]
    page = client.get("/report").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1) if "csrf_token" in page else token


class Sweep:
    """Sends requests, keeps every 5xx (with the logged traceback's last line) and bad API errors."""

    def __init__(self, app):
        self.app = app
        self.failures: list[str] = []
        self.count = 0
        self.status = 0
        self.spent: dict[tuple, float] = {}
        self.slow: list[str] = []
        self.logged: list[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: self.logged.append(
            logging.Formatter().formatException(record.exc_info).splitlines()[-1]
            if record.exc_info
            else record.getMessage()
        )
        app.logger.addHandler(handler)
        app.logger.setLevel(logging.ERROR)

    def send(self, client, identity: str, method: str, path: str, *, what: str, **kw) -> set[str]:
        SEEN.clear()
        self.logged.clear()
        started = time.perf_counter()
        response = client.open(path, method=method, **kw)
        took = time.perf_counter() - started
        self.count += 1
        key = (identity, method, what.split(" ")[0], what.split(" ")[1].split("=")[0] if " " in what else "")
        self.spent[key] = self.spent.get(key, 0.0) + took
        status = self.status = response.status_code
        where = f"{identity} {method} {path[:120]} [{what[:160]}]"
        if took > SLOW_S:
            self.slow.append(f"{took:.1f}s {where}")
        if status >= 500 and status != 503:
            cause = self.logged[-1] if self.logged else response.get_data(as_text=True)[:200]
            self.failures.append(f"{status} {where}: {cause}")
        elif (
            status >= 400
            and path.startswith(("/api/", "/open311/"))
            and status != 429
            and not _chinese_json_error(response)
        ):
            self.failures.append(
                f"{status} {where}: error without a Chinese JSON message: "
                f"{response.get_data(as_text=True)[:200]!r}"
            )
        response.close()
        return set(SEEN)


def _real_arguments(rule, real: dict) -> list[dict]:
    """URL arguments that name real things (so that the route reaches its code)."""
    text = rule.rule
    out = {}
    for name in rule.arguments:
        if name == "code":
            if "/export/" in text:
                continue
            if "grids" in text:
                out[name] = real["grid"]
            elif "units" in text:
                out[name] = real["unit"]
            elif "leaders" in text:
                out[name] = real["leader"]
            else:
                out[name] = "garbage"
        elif name in ("ref", "request_id"):
            out[name] = real["tracking_no"]
        elif name == "photo_id":
            out[name] = real["photo_id"]
        elif name == "plan_id":
            out[name] = real["plan_id"]
        elif name == "seq":
            out[name] = 1
        elif name == "fmt":
            out[name] = (
                "json"
                if "open311" in text
                else "gpx"
                if "patrol" in text
                else "geojson"
                if "/data." in text
                else "svg"
            )
        elif name == "name":
            out[name] = "grids"
        elif name in ("z", "x", "y"):
            out[name] = 0
        elif name == "ext":
            out[name] = "png"
        elif name == "filename":
            out[name] = "vendor/leaflet/leaflet.css"
        elif name != "collection":
            out[name] = "x"
    if "collection" in rule.arguments:
        out["collection"] = "grids"
        out["code"] = real["grid"]
    variants = [out]
    if "ref" in rule.arguments and "GET" in rule.methods:
        variants.append({**out, "ref": str(real["problem_id"])})  # problems are found by id too
    return variants


def _hostile_arguments(rule, real: list[dict]) -> list[dict]:
    """The real arguments with one of them replaced by something hostile."""
    base = real[0]
    out = []
    for name in rule.arguments:
        if rule._converters[name].__class__.__name__ == "IntegerConverter":
            values = [10**30, 0, 2**63]
        elif name == "filename":
            values = ["../../../etc/passwd", "x" * 3000]
        else:
            values = ["x" * 3000, "0001-01-01", "${alert(1)}`<b>'\"", "nan", "%00", "王记`小吃"]
        out += [{**base, name: v} for v in values]
    return out


def _build(adapter, rule, values: dict) -> str | None:
    try:
        return adapter.build(rule.endpoint, values, method=sorted(rule.methods - {"HEAD", "OPTIONS"})[0])
    except Exception:
        return None


@pytest.fixture
def settings(settings):
    # a short plan search; anonymous reports unlimited so that every hostile report reaches the parsers
    return {**settings, "GRIDMAP_PATROL_TIME_LIMIT": 0.2, "GRIDMAP_REPORTS_PER_HOUR": 1_000_000}


@pytest.fixture
def world(app):
    """The app with users, a problem with a photo, a saved patrol plan, and a logged-in client per role."""
    from gridmap.auth import add_user

    app.request_class = type("RecordingRequest", (_RecordingRequest, app.request_class), {})
    store = app.extensions["gridmap.store"]
    add_user(store, username="office1", role="office", password="secret-pass-1")
    add_user(store, username="unit1", role="unit", unit_code="U1", password="secret-pass-1")
    anonymous = app.test_client()
    made = anonymous.post(
        "/api/problems",
        data={
            "lon": str(ON_BINJIANG_ROAD[0]),
            "lat": str(ON_BINJIANG_ROAD[1]),
            "category": "garbage",
            "description": "垃圾堆放",
            "photos": (io.BytesIO(jpeg_bytes()), "a.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    photo_url = body["photos"][0]["url"]
    clients = {"anonymous": (anonymous, None)}
    for identity, username in (("office", "office1"), ("unit", "unit1")):
        client = app.test_client()
        clients[identity] = (client, _login(client, username))
    office, token = clients["office"]
    planned = office.post(
        "/api/patrols", json={"day": "2026-11-27", "inspectors": ["I01"]}, headers={"X-CSRF-Token": token}
    )
    plan_id = planned.get_json()["plans"][0]["id"] if planned.status_code == 201 else 1
    real = {
        "grid": "610330100001",
        "unit": "U1",
        "leader": "L01",
        "tracking_no": body["tracking_no"],
        "problem_id": body["id"],
        "photo_id": int(re.search(r"/(\d+)", photo_url).group(1)),
        "plan_id": plan_id,
    }

    def fresh_problem() -> dict:
        made = anonymous.post(
            "/api/problems",
            json={
                "lon": ON_BINJIANG_ROAD[0],
                "lat": ON_BINJIANG_ROAD[1],
                "category": "garbage",
                "description": "新的问题",
            },
        )
        assert made.status_code == 201, made.get_data(as_text=True)
        return {"tracking_no": made.get_json()["tracking_no"], "problem_id": made.get_json()["id"]}

    real["fresh_problem"] = fresh_problem
    return app, clients, real


def _ordered_rules(app):
    """Reads first (lists stay short), log in/out last (a logout ends the session the others use)."""
    rules = list(app.url_map.iter_rules())
    return sorted(rules, key=lambda r: (r.endpoint in ("auth.logout", "auth.login"), "GET" not in r.methods))


@pytest.mark.slow
def test_sweep_every_route_with_hostile_values_finds_no_500(world):
    app, clients, real = world
    sweep = Sweep(app)
    adapter = app.url_map.bind("localhost")
    started = time.perf_counter()
    timings: list[tuple[float, str]] = []
    only = os.environ.get("SWEEP_ONLY")
    for rule in _ordered_rules(app):
        if only and not re.search(only, rule.rule):
            continue
        real_args = _real_arguments(rule, real)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rule_started = time.perf_counter()
            public = False
            for identity in IDENTITIES:
                if identity == "unit" and public:
                    continue  # a route open to all reads its values alike for everyone: done twice already
                if method != "GET" and {"ref", "request_id"} & set(rule.arguments):
                    # writes pile events on a problem: each (route, user) acts on a new one
                    real_args = _real_arguments(rule, {**real, **real["fresh_problem"]()})
                client, token = clients[identity]
                headers = {"X-CSRF-Token": token} if token else {}
                form_extra = {"csrf_token": token} if token else {}
                # hostile URL arguments
                for values in _hostile_arguments(rule, real_args):
                    path = _build(adapter, rule, values)
                    if path:
                        sweep.send(
                            client,
                            identity,
                            method,
                            path,
                            what=f"url {values}",
                            headers=headers,
                            data=form_extra if method != "GET" else None,
                        )
                for values in real_args:
                    path = _build(adapter, rule, values)
                    status = _sweep_values(sweep, client, identity, method, path, headers, form_extra)
                    public = public or (identity == "anonymous" and status < 300)
            timings.append((time.perf_counter() - rule_started, f"{method} {rule.rule}"))
            if os.environ.get("SWEEP_PROGRESS"):
                print(
                    f"{timings[-1][0]:6.1f} s {sweep.count:6d} {timings[-1][1]}",
                    file=sys.__stderr__,
                    flush=True,
                )
                for key, spent in sorted(sweep.spent.items(), key=lambda kv: -kv[1])[:8]:
                    print(f"      {spent:6.2f} s {key}", file=sys.__stderr__, flush=True)
                sweep.spent.clear()
    took = time.perf_counter() - started
    print(f"\nhostile sweep: {sweep.count} requests in {took:.1f} s")
    for seconds, name in sorted(timings, reverse=True)[:12]:
        print(f"{seconds:6.1f} s  {name}")
    for line in sweep.slow:
        print("slow:", line)
    assert not sweep.failures, f"{len(sweep.failures)} bad answers:\n" + "\n".join(sweep.failures)


def _sweep_values(sweep, client, identity, method, path, headers, form_extra) -> int:
    """One parameter at a time hostile, the others at baseline; query for GET, bodies for the rest.

    Returns the status of the baseline request (the route with valid values).
    """
    body = method not in ("GET", "DELETE")
    seen = sweep.send(
        client,
        identity,
        method,
        path,
        what="baseline",
        query_string=None if body else BASELINE,
        data={**BASELINE, **form_extra} if body else None,
        headers=headers,
    )
    baseline_status = sweep.status
    seen |= sweep.send(
        client, identity, method, path, what="nothing", headers=headers, data=form_extra if body else None
    )
    # names no code was seen reading: all of them hostile at once (most routes ignore them)
    generic = [n for n in GENERIC_NAMES if n not in seen]
    for value in GENERIC_VALUES:
        hostile = {**BASELINE, **dict.fromkeys(generic, value)}
        if body:
            seen |= sweep.send(
                client,
                identity,
                method,
                path,
                what=f"form generic={value[:40]!r}",
                headers=headers,
                data={**hostile, **form_extra},
            )
            seen |= sweep.send(
                client,
                identity,
                method,
                path,
                what=f"json generic={value[:40]!r}",
                headers={**headers, "Content-Type": "application/json"},
                data=json.dumps(hostile),
            )
        else:
            seen |= sweep.send(
                client,
                identity,
                method,
                path,
                what=f"query generic={value[:40]!r}",
                headers=headers,
                query_string=hostile,
            )
    for value in GENERIC_JSON if body else ():
        hostile = {**BASELINE, **dict.fromkeys(generic, value)}
        seen |= sweep.send(
            client,
            identity,
            method,
            path,
            what=f"json generic={repr(value)[:40]}",
            headers={**headers, "Content-Type": "application/json"},
            data=json.dumps(hostile),
        )
    for hostile_headers in HOSTILE_HEADERS if identity != "unit" else ():
        if not body and {"X-CSRF-Token", "Content-Type"} & set(hostile_headers):
            continue  # read only with a body
        sweep.send(
            client,
            identity,
            method,
            path,
            what=f"headers {sorted(hostile_headers)}",
            headers={**headers, **hostile_headers},
            query_string=None if body else BASELINE,
            data={**BASELINE, **form_extra} if body else None,
        )
    # names the route reads: one at a time hostile, the others at baseline (new names join the queue)
    done: set[str] = set()
    queue = sorted(seen)
    while queue:
        name = queue.pop()
        if name in done:
            continue
        done.add(name)
        for value in QUERY_VALUES:
            what = f"{name}={value[:40]!r}"
            if body:
                found = sweep.send(
                    client,
                    identity,
                    method,
                    path,
                    what=f"form {what}",
                    headers=headers,
                    data={**BASELINE, **form_extra, name: value},
                )
            else:
                found = sweep.send(
                    client,
                    identity,
                    method,
                    path,
                    what=f"query {what}",
                    headers=headers,
                    query_string={**BASELINE, name: value},
                )
            queue += sorted(found - done)
        if not body:
            sweep.send(
                client,
                identity,
                method,
                path,
                what=f"query {name}=non-UTF-8",
                headers=headers,
                query_string=f"{name}=%FF%FE%C0%80&{name}=2",
            )
            continue
        for value in JSON_VALUES:
            found = sweep.send(
                client,
                identity,
                method,
                path,
                what=f"json {name}={repr(value)[:40]}",
                headers={**headers, "Content-Type": "application/json"},
                data=json.dumps({**BASELINE, name: value}),
            )
            queue += sorted(found - done)
    if body:
        for content_type, raw in RAW_BODIES:
            sweep.send(
                client,
                identity,
                method,
                path,
                what=f"raw {content_type} {raw[:30]!r}",
                headers={**headers, "Content-Type": content_type},
                data=raw,
            )
        files = {
            **BASELINE,
            **form_extra,
            "photos": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 100), "a.png"),
            "file": (io.BytesIO(b"PK\x03\x04" + b"\0" * 100), "a.zip"),
        }
        sweep.send(
            client,
            identity,
            method,
            path,
            what="multipart junk files",
            headers=headers,
            data=files,
            content_type="multipart/form-data",
        )
    return baseline_status


# --- the cases of issue 9 item 7, one by one ----------------------------------------------------------
def _office(app):
    from gridmap.auth import add_user

    add_user(app.extensions["gridmap.store"], username="office1", role="office", password="secret-pass-1")
    client = app.test_client()
    return client, _login(client, "office1")


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "9999-12-31T23:59:59-12:00"])
@pytest.mark.parametrize("name", ["from", "to"])
def test_list_filters_refuse_dates_out_of_range(app, name, value):
    client, _ = _office(app)
    for path in ("/api/problems", "/problems", "/chase"):
        done = client.get(path, query_string={name: value})
        assert done.status_code == 400, (path, done.status_code)
        text = done.get_data(as_text=True)
        assert f"参数 {name}" in text and "2000–2100" in text
    assert client.get("/api/problems", query_string={name: "2026-11-27"}).status_code == 200


@pytest.mark.parametrize("name", ["start_date", "end_date"])
def test_open311_refuses_dates_out_of_range(client, name):
    for value in ("0001-01-01", "9999-12-31T23:59:59-12:00"):
        done = client.get("/open311/v2/requests.json", query_string={name: value})
        assert done.status_code == 400
        [error] = done.get_json()
        assert (
            error["code"] == 400
            and f"参数 {name}" in error["description"]
            and "超出范围" in error["description"]
        )


@pytest.mark.parametrize("hours", ["1e9", "inf", "nan", "8761", "0", 1e9, -5])
def test_extend_refuses_hours_out_of_range(app, hours):
    client, token = _office(app)
    made = client.post(
        "/api/problems",
        json={
            "lon": ON_BINJIANG_ROAD[0],
            "lat": ON_BINJIANG_ROAD[1],
            "category": "garbage",
            "description": "d",
        },
        headers={"X-CSRF-Token": token},
    )
    ref = made.get_json()["tracking_no"]
    done = client.post(
        f"/api/problems/{ref}/actions",
        json={"action": "extend", "note": "等材料", "hours": hours},
        headers={"X-CSRF-Token": token},
    )
    assert done.status_code == 400, done.get_data(as_text=True)
    assert "hours" in done.get_json()["message"]
    too_late = client.post(
        f"/api/problems/{ref}/actions",
        headers={"X-CSRF-Token": token},
        json={"action": "extend", "note": "等材料", "deadline": "9999-12-31T23:59:59-12:00"},
    )
    assert too_late.status_code == 400 and "deadline" in too_late.get_json()["message"]
    ok = client.post(
        f"/api/problems/{ref}/actions",
        json={"action": "extend", "note": "等材料", "hours": "48"},
        headers={"X-CSRF-Token": token},
    )
    assert ok.status_code == 200, ok.get_data(as_text=True)
    # the problem still shows: no deadline was stored that could not be displayed
    assert client.get(f"/problems/{ref}").status_code == 200


@pytest.mark.parametrize("path", ["/api/problems", "/api/problems/1/support"])
def test_json_nested_200000_deep_is_a_400(client, path):
    for body in (b"[" * 200_000 + b"]" * 200_000, b'{"a":' * 200_000 + b"1" + b"}" * 200_000):
        done = client.post(path, data=body, content_type="application/json")
        assert done.status_code == 400
        assert "请求体 JSON 嵌套过深或格式错误" in done.get_json()["message"]


def test_integer_url_segments_beyond_the_database_range_are_404(client):
    assert client.get(f"/problems/photos/{10**30}.jpg").status_code == 404
    assert client.get(f"/problems/photos/{2**63}/thumb.jpg").status_code == 404


def test_unexpected_errors_still_answer_500_and_are_logged(app, caplog):
    from gridmap.errors import InvalidInput

    @app.get("/api/test-bug")
    def bug():
        return {}["missing"]

    @app.get("/api/test-deep")
    def deep():
        raise RecursionError

    @app.get("/api/test-domain")
    def domain():
        msg = "测试：参数有误"
        raise InvalidInput(msg)

    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        done = client.get("/api/test-bug")
    assert done.status_code == 500 and "服务器内部错误" in done.get_json()["message"]
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        done = client.get("/api/test-domain")
    assert done.status_code == 400 and done.get_json()["message"] == "测试：参数有误"
    done = client.get("/api/test-deep")
    assert done.status_code == 400 and "嵌套过深" in done.get_json()["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
