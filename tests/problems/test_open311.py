"""Open311 GeoReport v2: answers validate against the public JSON schemas; api_key; errors."""

from __future__ import annotations

import json

import pytest

from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD
from tests.realdata import REALDATA

SCHEMA_DIR = REALDATA / "open311" / "schema"


@pytest.fixture(scope="module")
def schemas():
    if not SCHEMA_DIR.is_dir():
        pytest.skip(f"Open311 schemas not found at {SCHEMA_DIR}")
    jsonschema = pytest.importorskip("jsonschema")
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    loaded = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in SCHEMA_DIR.glob("*.json")}
    registry = Registry().with_resources(
        (name, Resource.from_contents(body, default_specification=DRAFT7)) for name, body in loaded.items()
    )
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER

    def validator(name_or_schema):
        schema = loaded[name_or_schema] if isinstance(name_or_schema, str) else name_or_schema
        return jsonschema.Draft7Validator(schema, registry=registry, format_checker=checker)

    swagger = loaded["swagger.json"]
    post_response = {"type": "array", "items": swagger["definitions"]["RequestResponse"]}
    return {"validator": validator, "post_response": post_response}


def _check(schemas, schema, body):
    errors = sorted(schemas["validator"](schema).iter_errors(body), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


@pytest.fixture
def api_key(app):
    from gridmap.auth import add_api_key

    return add_api_key(app.extensions["gridmap.store"], name="12345 热线", days=365)


def test_discovery_services_and_definition(client, schemas):
    d = client.get("/open311/v2/discovery.json")
    assert d.status_code == 200
    endpoint = d.get_json()["endpoints"][0]
    assert endpoint["url"].endswith("/open311/v2") and "application/json" in endpoint["formats"]
    services = client.get("/open311/v2/services.json").get_json()
    _check(schemas, "services.json", services)
    assert len(services) >= 20 and {"garbage", "manhole"} <= {s["service_code"] for s in services}
    definition = client.get("/open311/v2/services/garbage.json").get_json()
    _check(schemas, "service-definition.json", definition)


def test_post_then_get_requests(client, schemas, api_key):
    form = {
        "api_key": api_key,
        "service_code": "garbage",
        "lat": ON_BINJIANG_ROAD[1],
        "long": ON_BINJIANG_ROAD[0],
        "description": "路边垃圾",
        "first_name": "五",
        "last_name": "王",
        "phone": "13700000000",
    }
    r = client.post("/open311/v2/requests.json", data=form)
    assert r.status_code == 200, r.get_json()
    created = r.get_json()
    _check(schemas, schemas["post_response"], created)
    request_id = created[0]["service_request_id"]
    one = client.get(f"/open311/v2/requests/{request_id}.json")
    body = one.get_json()
    _check(schemas, "requests.json", body)
    item = body[0]
    assert item["status"] == "open" and item["status_notes"] == "已上报"
    assert item["agency_responsible"] == "县住建局"
    assert item["expected_datetime"].endswith("+08:00")
    assert "王" not in one.get_data(as_text=True) and "13700000000" not in one.get_data(as_text=True)
    listed = client.get("/open311/v2/requests.json?status=open&service_code=garbage").get_json()
    _check(schemas, "requests.json", listed)
    assert [x["service_request_id"] for x in listed] == [request_id]
    assert client.get("/open311/v2/requests.json?status=closed").get_json() == []
    assert client.get("/open311/v2/requests.json?service_code=stall").get_json() == []


def test_closed_and_rejected_map_to_closed(app, client, schemas):
    from gridmap.auth import add_user, issue_token

    store = app.extensions["gridmap.store"]
    add_user(store, username="office", role="office", password="secret-pass-1")
    headers = {"Authorization": "Bearer " + issue_token(store, username="office", days=90)}
    no = client.post(
        "/api/problems",
        json={"lon": NEAR_HOSPITAL[0], "lat": NEAR_HOSPITAL[1], "category": "stall", "description": "d"},
    ).get_json()["tracking_no"]
    client.post(
        f"/api/problems/{no}/actions",
        json={"action": "reject", "note": "不属于本系统受理范围"},
        headers=headers,
    )
    body = client.get(f"/open311/v2/requests.json?service_request_id={no}").get_json()
    _check(schemas, "requests.json", body)
    assert body[0]["status"] == "closed" and "不属于本系统受理范围" in body[0]["status_notes"]


@pytest.mark.parametrize(
    ("form", "status", "text"),
    [
        ({"service_code": "garbage", "lat": 33.91, "long": 106.5151}, 403, "api_key"),
        (
            {"api_key": "wrong", "service_code": "garbage", "lat": 33.91, "long": 106.5151},
            403,
            "api_key 无效",
        ),
        (
            {"api_key": None, "service_code": "nope", "lat": 33.91, "long": 106.5151, "description": "d"},
            400,
            "不存在",
        ),
        (
            {"api_key": None, "service_code": "garbage", "address_string": "滨江路", "description": "d"},
            400,
            "lat 和 long",
        ),
        (
            {"api_key": None, "service_code": "garbage", "lat": 95, "long": 106.5, "description": "d"},
            400,
            "纬度",
        ),
    ],
)
def test_errors_in_the_spec_form(client, api_key, form, status, text):
    form = {k: (api_key if k == "api_key" and v is None else v) for k, v in form.items()}
    r = client.post("/open311/v2/requests.json", data=form)
    assert r.status_code == status
    body = r.get_json()
    assert isinstance(body, list) and body[0]["code"] == status and text in body[0]["description"]


def test_get_errors_and_formats(client):
    r = client.get("/open311/v2/requests.json?status=pending")
    assert r.status_code == 400 and "open 或 closed" in r.get_json()[0]["description"]
    r = client.get("/open311/v2/requests.json?start_date=2026-01-01&end_date=2026-06-01")
    assert r.status_code == 400 and "90" in r.get_json()[0]["description"]
    r = client.get("/open311/v2/services.csv")
    assert r.status_code == 400 and ".xml 或 .json" in r.get_json()[0]["description"]
    r = client.get("/open311/v2/requests/FX20000101-0001.json")
    assert r.status_code == 404 and r.get_json()[0]["code"] == 404


def test_xml_answers_with_its_content_type_and_the_same_documents(client, api_key):
    import xml.etree.ElementTree as ET

    for path in ("discovery", "services", "services/garbage", "requests", "servicerequestupdates"):
        r = client.get(f"/open311/v2/{path}.xml?jurisdiction_id=anything")
        assert r.status_code == 200, (path, r.get_data(as_text=True))
        assert r.headers["Content-Type"] == "application/xml; charset=utf-8"
        assert r.get_data().startswith(b'<?xml version="1.0" encoding="utf-8"?>')
        ET.fromstring(r.get_data())
        assert client.get(f"/open311/v2/{path}.json").headers["Content-Type"] == "application/json"
    services = ET.fromstring(client.get("/open311/v2/services.xml").get_data())
    as_json = client.get("/open311/v2/services.json").get_json()
    assert [s.findtext("service_code") for s in services] == [s["service_code"] for s in as_json]
    assert [s.findtext("service_name") for s in services] == [s["service_name"] for s in as_json]


def test_xml_errors_are_the_specs_errors_document(client):
    import xml.etree.ElementTree as ET

    r = client.post("/open311/v2/requests.xml", data={"service_code": "garbage", "lat": 33.91, "long": 106.5})
    assert r.status_code == 403 and r.headers["Content-Type"] == "application/xml; charset=utf-8"
    root = ET.fromstring(r.get_data())
    assert root.tag == "errors" and root.findtext("error/code") == "403"
    assert "api_key" in root.findtext("error/description")
    r = client.get("/open311/v2/requests/FX20000101-0001.xml")
    assert r.status_code == 404 and ET.fromstring(r.get_data()).findtext("error/code") == "404"
    r = client.get("/open311/v2/nothing-here.xml")
    assert r.status_code == 404 and ET.fromstring(r.get_data()).tag == "errors"
    r = client.get("/open311/v2/servicerequestupdates.xml?start_date=2020-01-01T00:00:00Z")
    assert r.status_code == 400 and "90" in ET.fromstring(r.get_data()).findtext("error/description")


def test_form_post_in_xml_with_media_as_fixmystreet_sends_it(app, client, api_key):
    import io
    import xml.etree.ElementTree as ET

    from tests.problems.conftest import jpeg_bytes

    form = {
        "api_key": api_key,
        "jurisdiction_id": "fixmystreet.example",
        "service_code": "garbage",
        "lat": str(ON_BINJIANG_ROAD[1]),
        "long": str(ON_BINJIANG_ROAD[0]),
        "description": "桥头<垃圾>堆放 & 异味",
        "email": "someone@example.com",
        "media_url": "http://127.0.0.1:9/never-fetched.jpg",
        "photo1": (io.BytesIO(jpeg_bytes()), "photo1.jpeg", "image/jpeg"),
    }
    r = client.post("/open311/v2/requests.xml", data=form, content_type="multipart/form-data")
    assert r.status_code == 200, r.get_data(as_text=True)
    request = ET.fromstring(r.get_data()).find("request")
    assert [c.tag for c in request] == ["service_request_id", "service_notice", "account_id"]
    number = request.findtext("service_request_id")
    [item] = ET.fromstring(client.get(f"/open311/v2/requests/{number}.xml").get_data())
    assert item.findtext("description") == "桥头<垃圾>堆放 & 异味"
    assert item.findtext("media_url").startswith("http://localhost/problems/photos/")
    assert client.get(item.findtext("media_url").removeprefix("http://localhost")).status_code == 200
