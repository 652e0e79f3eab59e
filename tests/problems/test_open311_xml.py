"""Open311 in XML without Flask: the spec's element names and nesting, escaping, request updates."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from gridmap.auth import User
from gridmap.errors import InvalidInput
from gridmap.problems import open311
from gridmap.problems.open311xml import error_document, to_element, to_xml, xml_text
from tests.problems.conftest import NEAR_HOSPITAL, ON_BINJIANG_ROAD, jpeg_bytes
from tests.problems.contexts import make_context
from tests.realdata import REALDATA

NOW = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)
OFFICE = User(id=1, username="office", role="office")
ROOT = "http://gridmap.example/"

# The structure of the GeoReport v2 specification's example documents (wiki.open311.org/GeoReport_v2,
# copies in realdata/open311/spec_examples): for each document, its root and, per element that
# holds others, the ordered names of its children. The discovery document is the spec's Service
# Discovery example; the updates are FixMyStreet's servicerequestupdates extension.
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
SPEC: dict[str, dict[str, tuple[str, ...]]] = {
    "services": {
        "services": ("service",),
        "services/service": (
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        ),
    },
    "service_definition": {
        "service_definition": ("service_code", "attributes"),
        "service_definition/attributes": ("attribute",),
        "service_definition/attributes/attribute": (
            "variable",
            "code",
            "datatype",
            "required",
            "datatype_description",
            "order",
            "description",
            "values",
        ),
        "service_definition/attributes/attribute/values": ("value",),
        "service_definition/attributes/attribute/values/value": ("key", "name"),
    },
    "requests": {"service_requests": ("request",), "service_requests/request": REQUEST_FIELDS},
    "posted": {
        "service_requests": ("request",),
        "service_requests/request": ("service_request_id", "service_notice", "account_id"),
    },
    "token": {"service_requests": ("request",), "service_requests/request": ("service_request_id", "token")},
    "errors": {"errors": ("error",), "errors/error": ("code", "description")},
    "discovery": {
        "discovery": ("changeset", "contact", "key_service", "endpoints"),
        "discovery/endpoints": ("endpoint",),
        "discovery/endpoints/endpoint": ("specification", "url", "changeset", "type", "formats"),
        "discovery/endpoints/endpoint/formats": ("format",),
    },
    "updates": {
        "service_request_updates": ("request_update",),
        "service_request_updates/request_update": (
            "update_id",
            "service_request_id",
            "status",
            "updated_datetime",
            "description",
            "media_url",
        ),
    },
}
EXAMPLE_FILES = {
    "services": "service-list.xml",
    "service_definition": "service-definition.xml",
    "requests": "service-requests.xml",
    "posted": "service-request-post.xml",
    "token": "request-from-token.xml",
    "errors": "errors.xml",
}


def structure(root: ET.Element) -> dict[str, tuple[str, ...]]:
    """Per path of an element with children: its children's names in order, repeats folded."""
    out: dict[str, tuple[str, ...]] = {}

    def walk(element: ET.Element, path: str) -> None:
        names: list[str] = []
        for child in element:
            if not names or names[-1] != child.tag:
                names.append(child.tag)
            walk(child, f"{path}/{child.tag}")
        if names:
            seen = out.get(path, ())
            out[path] = seen if len(seen) >= len(names) else tuple(names)

    walk(root, root.tag)
    return out


def check_against_spec(document: str, data: bytes) -> ET.Element:
    """Parse ``data`` (UTF-8 with its declaration) and check each element against SPEC[document]:
    known paths only, children in the spec's order (a document may leave out what it lacks, as the
    specification's own examples do, but never adds or reorders)."""
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(data)
    spec = SPEC[document]
    assert root.tag == next(iter(spec)).split("/")[0]
    for path, names in structure(root).items():
        assert path in spec, f"{path} is not in the specification's {document}"
        allowed = spec[path]
        assert set(names) <= set(allowed), f"{path}: {names} not within {allowed}"
        assert sorted(names, key=allowed.index) == list(names), f"{path}: {names} not in order {allowed}"
    return root


@pytest.mark.parametrize("document", sorted(EXAMPLE_FILES))
def test_the_schema_is_the_specifications_examples(document):
    path = REALDATA / "open311" / "spec_examples" / EXAMPLE_FILES[document]
    if not path.is_file():
        pytest.skip(f"the specification's examples are not at {path.parent}")
    text = path.read_text(encoding="utf-8")
    text = text[text.index("<?xml") :]  # errors.xml starts with its HTTP status line
    root = ET.fromstring(text.encode("utf-8"))
    found = structure(root)
    if document == "services":  # the example's later services shuffle; its first names the order
        found["services/service"] = tuple(child.tag for child in root[0])
    assert found == SPEC[document]


@pytest.fixture(scope="module")
def world(module_database):
    """P1 garbage (with reporter's name and phone) through dispatch, rectify with a photo, rework
    with a working note, verify and close with a closing note; P2 stall rejected with a reason."""
    from gridmap.problems.service import report_problem
    from gridmap.problems.workflow import act

    ctx = make_context(*module_database)
    hour = dt.timedelta(hours=1)
    p1 = report_problem(
        ctx,
        lon=ON_BINJIANG_ROAD[0],
        lat=ON_BINJIANG_ROAD[1],
        category="garbage",
        description="路边<垃圾> & \x01“脏”]]>",
        reporter_name="张三",
        reporter_phone="13900000000",
        now=NOW,
    ).record["tracking_no"]
    p2 = report_problem(
        ctx, lon=NEAR_HOSPITAL[0], lat=NEAR_HOSPITAL[1], category="stall", description="占道", now=NOW
    ).record["tracking_no"]
    steps = [
        (p1, "dispatch", None, None),
        (p1, "rectify", "已清运", [("after.jpg", jpeg_bytes())]),
        (p1, "rework", "内部：清运不彻底，联系张三 13900000000", None),
        (p1, "rectify", None, None),
        (p1, "verify", None, None),
        (p1, "close", "已清理干净", None),
        (p2, "reject", "不属于本系统受理范围", None),
    ]
    for i, (no, action, note, photos) in enumerate(steps, start=1):
        unit = "U1" if action == "dispatch" else None
        act(ctx, no, user=OFFICE, action=action, note=note, photos=photos, unit_code=unit, now=NOW + i * hour)
    return ctx, p1, p2


def test_every_document_has_the_specifications_structure(world):
    ctx, _, _ = world
    later = NOW + dt.timedelta(hours=8)
    documents = {
        "discovery": open311.discovery(base_url=ROOT + "open311/v2"),
        "services": open311.services(ctx),
        "service_definition": open311.service_definition(ctx, "garbage"),
        "requests": open311.get_requests(ctx, {}, now=later, media_root=ROOT),
        "updates": open311.get_updates(ctx, {}, now=later, media_root=ROOT),
        "errors": error_document(403, "缺少 api_key"),
    }
    for document, body in documents.items():
        check_against_spec(document, to_xml(document, body))
    requests = ET.fromstring(to_xml("requests", documents["requests"]))
    assert len(requests) == 2
    for request in requests:  # every request carries every field, in the spec's order
        assert tuple(child.tag for child in request) == REQUEST_FIELDS
    services = ET.fromstring(to_xml("services", documents["services"]))
    assert [s.findtext("service_code") for s in services] == [c.code for c in ctx.categories]
    assert services.find("service/metadata").text == "false"
    definition = ET.fromstring(to_xml("service_definition", documents["service_definition"]))
    assert definition.findtext("service_code") == "garbage" and len(definition.find("attributes")) == 0
    discovery = ET.fromstring(to_xml("discovery", documents["discovery"]))
    formats = [f.text for f in discovery.iterfind("endpoints/endpoint/formats/format")]
    assert formats == ["application/json", "application/xml"]


def test_a_post_answer_names_the_request_notice_and_an_empty_account(world):
    body = [{"service_request_id": "FX20261127-0001", "service_notice": "已受理"}]
    root = check_against_spec("posted", to_xml("posted", body))
    request = root.find("request")
    assert [c.tag for c in request] == ["service_request_id", "service_notice", "account_id"]
    assert request.findtext("service_request_id") == "FX20261127-0001"
    assert request.find("account_id").text is None


def test_errors_in_the_specifications_xml_form():
    root = check_against_spec("errors", to_xml("errors", error_document(404, "受理编号不存在")))
    assert [(e.findtext("code"), e.findtext("description")) for e in root] == [("404", "受理编号不存在")]


def test_hostile_and_chinese_text_stays_well_formed(world):
    ctx, p1, _ = world
    [request] = open311.get_request(ctx, p1, now=NOW)
    data = to_xml("requests", [request])
    parsed = ET.fromstring(data).find("request")
    # markup and ]]> come back as text; the control character (not allowed in XML 1.0) is dropped
    assert parsed.findtext("description") == "路边<垃圾> & “脏”]]>"
    assert b"<\xe5\x9e\x83" not in data and "路边&lt;垃圾&gt; &amp;".encode() in data
    assert parsed.findtext("service_name") == "垃圾暴露"
    hostile = {"service_code": "x", "service_name": "\ud800\ufffe\x0b😀<a b='c'>\r\n", "group": None}
    root = ET.fromstring(to_xml("services", [hostile]))
    assert root.findtext("service/service_name") == "😀<a b='c'>\n"
    assert root.find("service/group").text is None
    assert xml_text(True) == "true" and xml_text(1.5) == "1.5" and xml_text(None) is None


def test_an_unknown_document_or_a_wrong_shape_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown"):
        to_element("nope", [])
    with pytest.raises(TypeError):
        to_element("discovery", [])
    with pytest.raises(TypeError):
        to_element("services", 3)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("reported", "open"),
        ("dispatched", "open"),
        ("verifying", "open"),
        ("returned", "open"),
        ("parked", "open"),
        ("any-new-status", "open"),
        ("closed", "closed"),
        ("rejected", "closed"),
        ("merged", "closed"),
    ],
)
def test_statuses_fall_into_open_unless_final(status, expected):
    assert open311.spec_status(status) == expected


def test_updates_are_the_events_with_public_text_only(world):
    ctx, p1, p2 = world
    later = NOW + dt.timedelta(hours=8)
    updates = open311.get_updates(ctx, {}, now=later, media_root=ROOT)
    assert [(u["service_request_id"], u["status"], u["description"]) for u in updates] == [
        (p1, "open", "派遣（交办）"),
        (p1, "open", "整改反馈"),
        (p1, "open", "返工"),  # the rework's note is a working note: not public
        (p1, "open", "整改反馈"),
        (p1, "open", "核查通过"),
        (p1, "closed", "结案：已清理干净"),
        (p2, "closed", "不予立案：不属于本系统受理范围"),
    ]
    assert [u["updated_datetime"] for u in updates][:2] == [
        "2026-11-27T10:00:00+08:00",
        "2026-11-27T11:00:00+08:00",
    ]
    ids = [u["update_id"] for u in updates]
    assert len(set(ids)) == len(ids) and all(i.isdigit() for i in ids)
    with_media = [u for u in updates if u["media_url"]]
    assert len(with_media) == 1 and with_media[0]["description"] == "整改反馈"
    assert with_media[0]["media_url"].startswith(ROOT + "problems/photos/")
    assert with_media[0]["media_url"].endswith(".jpg")
    text = to_xml("updates", updates).decode("utf-8")
    for personal in ("张三", "13900000000", "office", "清运不彻底"):
        assert personal not in text
    check_against_spec("updates", text.encode("utf-8"))


def test_updates_window_by_update_time(world):
    ctx, _, p2 = world
    window = {"start_date": "2026-11-27T12:30:00+08:00", "end_date": "2026-11-27T14:00:00+08:00"}
    got = open311.get_updates(ctx, window, now=NOW + dt.timedelta(days=1))
    assert [u["description"] for u in got] == ["整改反馈", "核查通过"]
    # UTC with Z, as FixMyStreet sends W3C times
    utc = {"start_date": "2026-11-27T07:30:00Z", "end_date": "2026-11-27T08:00:00Z"}
    assert [u["service_request_id"] for u in open311.get_updates(ctx, utc)] == [p2]
    assert open311.get_updates(ctx, {}, now=NOW + dt.timedelta(days=100)) == []
    assert len(open311.get_updates(ctx, {"end_date": "2026-11-27T12:00:00+08:00"})) == 3  # end included


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "不能超过 90 天"),
        ({"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}, "不能早于 start_date"),
        ({"start_date": "2020-01-01T00:00:00Z"}, "不能超过 90 天"),
        ({"start_date": "yesterday"}, "start_date"),
    ],
)
def test_updates_refuse_bad_windows(world, args, words):
    ctx, _, _ = world
    with pytest.raises(InvalidInput, match=words):
        open311.get_updates(ctx, args, now=NOW)


def test_formats():
    assert open311.check_format("xml") == "xml" and open311.check_format("json") == "json"
    with pytest.raises(InvalidInput, match=r"\.xml 或 \.json"):
        open311.check_format("csv")


@pytest.mark.parametrize(
    ("action", "note", "public"),
    [
        ("reject", "不属于受理范围", True),
        ("refute", "现场未发现", True),
        ("close", "已修复", True),
        ("merge", "与 FX20261127-0001 重复", True),
        ("close", None, False),
        ("return", "不归我单位管，联系王五 13700000000", False),
        ("rework", "没扫干净", False),
        ("urge", "今天必须处理", False),
        ("followup", "满意，张三", False),
        ("some_new_action", "内部", False),
    ],
)
def test_only_public_notes_reach_an_update(action, note, public):
    from gridmap.problems.states import ACTION_LABELS

    label = ACTION_LABELS.get(action, action)
    assert open311.update_description(action, note) == (f"{label}：{note}" if public else label)
    assert open311.update_description("close", "已修复") == "结案：已修复"
    assert open311.update_description("rework", "没扫干净") == "返工"


def test_a_closed_request_carries_its_closing_note(world):
    ctx, p1, p2 = world
    [closed] = open311.get_request(ctx, p1, now=NOW + dt.timedelta(hours=8))
    assert (closed["status"], closed["status_notes"]) == ("closed", "已结案：已清理干净")
    [rejected] = open311.get_request(ctx, p2, now=NOW + dt.timedelta(hours=8))
    assert rejected["status_notes"] == "不予立案：不属于本系统受理范围"
