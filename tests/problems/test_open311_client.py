"""A real GeoReport v2 client (PyPI `georeport`) against a running `gridmap serve`, in JSON and XML."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from tests import factory
from tests.loadgen import gridmap_env, gridmap_serve
from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD, jpeg_bytes
from tests.problems.test_open311_xml import REQUEST_FIELDS, check_against_spec

georeport = pytest.importorskip("georeport", reason="the georeport client is in requirements.txt")
requests = pytest.importorskip("requests")
xmltodict = pytest.importorskip("xmltodict")

FORMATS = ("json", "xml")


@pytest.fixture(scope="module")
def served(module_database):
    """A loaded instance, an api_key and an office token, and `gridmap serve` on it (each backend)."""
    from gridmap.auth import add_api_key, add_user, issue_token
    from gridmap.reference import load_directory
    from gridmap.store import Store

    folder, url = module_database
    env = gridmap_env(folder / "instance", database_url=url)
    (folder / "instance").mkdir(parents=True, exist_ok=True)
    store = Store(env["GRIDMAP_DATABASE_URL"])
    load_directory(store, factory.write_dataset(folder / "data"))
    key = add_api_key(store, name="FixMyStreet", source="citizen", days=30)
    add_user(store, username="office", role="office", password="secret-pass-1")
    token = issue_token(store, username="office", days=1)
    with gridmap_serve(env, folder / "logs", workers=1) as server:
        server.start(timeout=120)
        yield {
            "store": store,
            "key": key,
            "token": token,
            "base": f"http://127.0.0.1:{server.port}",
            "root": f"http://127.0.0.1:{server.port}/open311/v2",
        }


def _client(served, fmt: str):
    return georeport.GeoReport(
        served["root"], jurisdiction="gridmap.example", api_key=served["key"], output_format=fmt
    )


def _as_list(found) -> list:
    return found if isinstance(found, list) else [found]


@pytest.fixture(scope="module")
def posted(served):
    """Two requests POSTed form-encoded as the spec defines (the second multipart with a photo)."""
    url = served["root"] + "/requests.xml"
    plain = {
        "api_key": served["key"],
        "jurisdiction_id": "gridmap.example",
        "service_code": "garbage",
        "lat": str(ON_BINJIANG_ROAD[1]),
        "long": str(ON_BINJIANG_ROAD[0]),
        "description": "滨江路桥头垃圾堆放 <急> & 异味",
        "first_name": "三",
        "last_name": "张",
        "phone": "13900000000",
    }
    first = requests.post(url, data=plain, timeout=30)
    assert first.status_code == 200, first.text
    assert first.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert first.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    check_against_spec("posted", first.content)
    photo = {"photo1": ("photo1.jpeg", jpeg_bytes(), "image/jpeg")}
    multipart = dict(plain, service_code="stall", lat=str(NEAR_HOSPITAL[1]), long=str(NEAR_HOSPITAL[0]))
    second = requests.post(served["root"] + "/requests.json", data=multipart, files=photo, timeout=30)
    assert second.status_code == 200, second.text
    assert second.request.headers["Content-Type"].startswith("multipart/form-data")
    numbers = [
        xmltodict.parse(first.content)["service_requests"]["request"]["service_request_id"],
        second.json()[0]["service_request_id"],
    ]
    return numbers


def test_form_posts_create_problems_in_the_store(served, posted):
    from gridmap.problems.repository import events_and_photos, find_problem

    rows = [find_problem(served["store"], tracking_no=no) for no in posted]
    assert [(r.category, r.source) for r in rows] == [("garbage", "citizen"), ("stall", "citizen")]
    assert rows[0].description == "滨江路桥头垃圾堆放 <急> & 异味" and rows[0].reporter_name == "张 三"
    _, photos = events_and_photos(served["store"], [r.id for r in rows], events=False)
    assert [len(photos[r.id]) for r in rows] == [0, 1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_client_lists_services(served, fmt):
    services = _as_list(_client(served, fmt).get_service_list())
    codes = [s["service_code"] for s in services]
    assert {"garbage", "stall", "manhole"} <= set(codes)
    garbage = next(s for s in services if s["service_code"] == "garbage")
    assert garbage["service_name"] == "垃圾暴露"
    assert str(garbage["metadata"]).lower() == "false" and garbage["type"] == "realtime"
    definition = _client(served, fmt).get_service_definition("garbage")
    assert definition["service_code"] == "garbage"


def test_json_and_xml_are_the_same_documents(served, posted):
    as_json = _client(served, "json").get_service_requests(status="open")
    as_xml = _as_list(_client(served, "xml").get_service_requests(status="open"))
    assert [r["service_request_id"] for r in as_xml] == [r["service_request_id"] for r in as_json]
    for from_json, from_xml in zip(as_json, as_xml, strict=True):
        assert list(from_xml) == list(REQUEST_FIELDS)
        for name in REQUEST_FIELDS:
            value = from_json[name]
            assert from_xml[name] == (None if value is None else str(value)), name


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_client_fetches_requests_and_one_request(served, posted, fmt):
    client = _client(served, fmt)
    listed = _as_list(client.get_service_requests(service_request_id=",".join(posted)))
    assert sorted(r["service_request_id"] for r in listed) == sorted(posted)
    assert {r["status"] for r in listed} == {"open"}
    one = client.get_service_request(posted[1])
    assert one["service_request_id"] == posted[1] and one["service_code"] == "stall"
    assert one["media_url"].startswith(served["base"] + "/problems/photos/")
    assert requests.get(one["media_url"], timeout=30).headers["Content-Type"] == "image/jpeg"
    text = str(listed) + str(one)
    assert "张" not in text and "13900000000" not in text
    garbage = _as_list(client.get_service_requests(service_code="garbage", status="open"))
    assert [r["service_request_id"] for r in garbage] == [posted[0]]


def test_xml_answers_have_the_specifications_structure(served, posted):
    for document, path in [
        ("discovery", "discovery.xml"),
        ("services", "services.xml"),
        ("service_definition", "services/garbage.xml"),
        ("requests", "requests.xml"),
        ("requests", f"requests/{posted[0]}.xml"),
        ("updates", "servicerequestupdates.xml"),
    ]:
        r = requests.get(f"{served['root']}/{path}", timeout=30)
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/xml; charset=utf-8"
        check_against_spec(document, r.content)
    r = requests.get(f"{served['root']}/requests/FX20000101-0001.xml", timeout=30)
    assert r.status_code == 404
    root = check_against_spec("errors", r.content)
    assert root.findtext("error/code") == "404"
    with pytest.raises(requests.HTTPError):
        _client(served, "xml").get_service_request("FX20000101-0001")


def test_servicerequestupdates_as_fixmystreet_asks_for_them(served, posted):
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    auth = {"Authorization": "Bearer " + served["token"]}
    r = requests.post(
        f"{served['base']}/api/problems/{posted[1]}/actions",
        json={"action": "reject", "note": "占道经营归市场监管，已转 12345"},
        headers=auth,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    params = {
        "api_key": served["key"],
        "start_date": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "jurisdiction_id": "gridmap.example",
    }
    r = requests.get(served["root"] + "/servicerequestupdates.xml", params=params, timeout=30)
    assert r.status_code == 200, r.text
    check_against_spec("updates", r.content)
    root = ET.fromstring(r.content)
    updates = [{child.tag: child.text for child in u} for u in root.iter("request_update")]
    [update] = [u for u in updates if u["service_request_id"] == posted[1]]
    assert update["status"] == "closed"
    assert update["description"] == "不予立案：占道经营归市场监管，已转 12345"
    assert update["updated_datetime"].endswith("+08:00") and update["update_id"].isdigit()
    as_json = requests.get(served["root"] + "/servicerequestupdates.json", params=params, timeout=30).json()
    assert [u["update_id"] for u in as_json] == [u["update_id"] for u in updates]


# FixMyStreet's Open311 client (perllib/Open311.pm, _get_xml_object) reads every answer with
# XML::Simple and exactly these options; this script applies them and prints the result as JSON.
FIXMYSTREET_PARSER = r"""
use strict; use warnings; use XML::Simple; use JSON::PP;
local $/; my $xml = <STDIN>;
my $group_tags = { services => 'service', attributes => 'attribute', values => 'value',
    service_requests => 'request', errors => 'error', service_request_updates => 'request_update',
    groups => 'group' };
my $simple = XML::Simple->new(ForceArray => [ values %$group_tags ], KeyAttr => {},
    GroupTags => $group_tags, SuppressEmpty => undef);
print JSON::PP->new->utf8->canonical->allow_nonref->encode($simple->parse_string($xml));
"""


def _as_fixmystreet_reads_it(data: bytes):
    import json
    import shutil
    import subprocess

    if shutil.which("perl") is None:
        pytest.skip("perl is not installed")
    done = subprocess.run(
        ["perl", "-e", FIXMYSTREET_PARSER], input=data, capture_output=True, timeout=30, check=False
    )
    if b"Can't locate XML/Simple.pm" in done.stderr:
        pytest.skip("XML::Simple is not installed (Debian: libxml-simple-perl)")
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    return json.loads(done.stdout)


def test_fixmystreets_own_xml_reading_finds_what_it_looks_for(served, posted):
    """The fields Open311.pm and GetServiceRequestUpdates.pm take from our answers are there."""
    get = lambda path, **params: requests.get(f"{served['root']}/{path}", params=params, timeout=30).content  # noqa: E731
    services = _as_fixmystreet_reads_it(get("services.xml"))["service"]
    assert {"garbage", "stall"} <= {s["service_code"] for s in services}
    found = _as_fixmystreet_reads_it(get("requests.xml", service_request_id=posted[0]))["request"]
    assert [r["service_request_id"] for r in found] == [posted[0]]  # a list even for one request
    answer = requests.post(
        served["root"] + "/requests.xml",
        data={
            "api_key": served["key"],
            "jurisdiction_id": "gridmap.example",
            "service_code": "garbage",
            "lat": str(ON_BINJIANG_ROAD[1]),
            "long": str(ON_BINJIANG_ROAD[0]),
            "description": "FixMyStreet 转来的问题",
        },
        timeout=30,
    )
    [created] = _as_fixmystreet_reads_it(answer.content)["request"]
    assert isinstance(created["service_request_id"], str) and created["service_request_id"].startswith("FX")
    done = requests.post(
        f"{served['base']}/api/problems/{created['service_request_id']}/actions",
        json={"action": "reject", "note": "重复上报"},
        headers={"Authorization": "Bearer " + served["token"]},
        timeout=30,
    )
    assert done.status_code == 200, done.text
    window = {
        "api_key": served["key"],
        "start_date": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    updates = _as_fixmystreet_reads_it(get("servicerequestupdates.xml", **window))["request_update"]
    mine = [u for u in updates if u["service_request_id"] == created["service_request_id"]]
    assert [(u["status"], u["description"]) for u in mine] == [("closed", "不予立案：重复上报")]
    for update in updates:  # process_requests skips an update without update_id
        assert isinstance(update["update_id"], str) and update["update_id"].isdigit()
        assert update["status"] in ("open", "closed") and update["updated_datetime"].endswith("+08:00")
        assert isinstance(update["description"], str) and update["service_request_id"].startswith("FX")
    bad = requests.post(served["root"] + "/requests.xml", data={"service_code": "garbage"}, timeout=30)
    [error] = _as_fixmystreet_reads_it(bad.content)["error"]
    assert error["code"] == "403" and "api_key" in error["description"]
