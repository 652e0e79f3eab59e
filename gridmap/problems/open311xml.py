"""Open311 GeoReport v2 documents as XML, with the specification's element names."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

XML_CONTENT_TYPE = "application/xml; charset=utf-8"

# Root element and the element of each item, per document (the specification's names; the
# updates follow FixMyStreet's servicerequestupdates extension).
ROOTS: dict[str, tuple[str, str | None]] = {
    "discovery": ("discovery", None),
    "services": ("services", "service"),
    "service_definition": ("service_definition", None),
    "requests": ("service_requests", "request"),
    "posted": ("service_requests", "request"),
    "updates": ("service_request_updates", "request_update"),
    "errors": ("errors", "error"),
}
# A list value becomes a wrapper element holding one element per item.
LIST_ITEMS: dict[str, str] = {
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}
# Fields the specification's example of a POST response always carries, empty when unknown.
POSTED_FIELDS = ("service_request_id", "service_notice", "account_id")

# Characters XML 1.0 does not allow anywhere (C0 controls but tab/newline/return, lone
# surrogates, U+FFFE/U+FFFF): dropped so that hostile text still gives a well-formed document.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: object) -> str | None:
    """The text of one element: None stays empty, booleans are true/false, no forbidden characters."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(parent: ET.Element, name: str, value: object) -> None:
    child = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _fill(child, str(key), inner)
    elif isinstance(value, list | tuple):
        item_name = LIST_ITEMS.get(name, "item")
        for item in value:
            _fill(child, item_name, item)
    else:
        child.text = xml_text(value)


def to_element(document: str, body: object) -> ET.Element:
    """The element tree of one document (see ROOTS) from its JSON form."""
    try:
        root_name, item_name = ROOTS[document]
    except KeyError:
        msg = f"unknown Open311 document {document!r}"
        raise ValueError(msg) from None
    root = ET.Element(root_name)
    if item_name is None:
        if not isinstance(body, Mapping):
            msg = f"the {document} document is one mapping"
            raise TypeError(msg)
        for key, value in body.items():
            _fill(root, str(key), value)
        return root
    if not isinstance(body, Sequence):
        msg = f"the {document} document is a list"
        raise TypeError(msg)
    for item in body:
        if document == "posted":
            item = {name: item.get(name) for name in POSTED_FIELDS} | dict(item)
        element = ET.SubElement(root, item_name)
        for key, value in item.items():
            _fill(element, str(key), value)
    return root


def to_xml(document: str, body: object) -> bytes:
    """One document as UTF-8 XML with its declaration, as the specification requires."""
    root = to_element(document, body)
    ET.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        root, encoding="utf-8", xml_declaration=False
    )


def error_document(code: int, description: str) -> list[dict]:
    """The specification's error list, the same in JSON and XML."""
    return [{"code": code, "description": description}]
