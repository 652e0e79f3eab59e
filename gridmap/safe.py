"""Escaping of untrusted text for each place it lands in a page: HTML, attributes, JavaScript, JSON.

Names in a county's data come from many hands (a unit's spreadsheet, a KML drawn in QGIS,
a categories file). Any of them may hold ``<``, quotes, a backtick (王记`小吃) or ``${…}``.
Each function here makes a value safe for exactly one context; where contexts nest (HTML
inside a JavaScript template literal) apply the inner one first (``template_html``).

================  ==========================  ==================================================
context           function                    example
================  ==========================  ==================================================
HTML text         ``html_text(v)``            ``<td>{html_text(name)}</td>``
HTML attribute    ``html_attr(v)``            ``<a title="{html_attr(name)}">`` (quoted " or ')
URL path segment  ``url_part(v)``             ``f"/units/{url_part(code)}"`` (then html_attr)
JS string         ``js_string(v)``            ``var name = {js_string(name)};`` (adds quotes)
JS template       ``js_template(v)``          ```${…}`` ``` — text between backticks
HTML in template  ``template_html(v)``        folium ``Popup``/``Tooltip`` text (both layers)
JSON in script    ``script_json(obj)``        ``var data = {script_json(obj)};``
================  ==========================  ==================================================

Missing values (``None``, NaN, empty) show as ``missing`` (a dash by default) in HTML.
The map builders (gridmap.maps, routing.patrolmap, problems.maplayer, importer.preview_map)
pass names as JSON (``script_json``) and let the page put them in with ``textContent``;
popup HTML built in Python uses ``html_text``/``html_attr``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import quote

__all__ = [
    "MISSING",
    "html_attr",
    "html_text",
    "is_missing",
    "js_string",
    "js_template",
    "script_json",
    "template_html",
    "text",
    "url_part",
]

MISSING = "—"

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;"}
_HTML_RE = re.compile(r"[&<>\"'`]")

# In JavaScript source inside a <script> element: never let "</script", "<!--" or "]]>" appear,
# and never leave the line terminators U+2028/U+2029 raw (they end a line in older engines).
_SCRIPT_SAFE = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "'": "\\u0027",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_SCRIPT_SAFE_RE = re.compile("[<>&'\u2028\u2029]")

# Inside a template literal: backslash, backtick and "${" are syntax; "<" is escaped so that
# "</script>" cannot end the script element; U+2028/9 for old engines.
_TEMPLATE = {
    "\\": "\\\\",
    "`": "\\`",
    "$": "\\$",
    "<": "\\x3C",
    ">": "\\x3E",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
    "\r": "\\r",
}
_TEMPLATE_RE = re.compile("[\\\\`$<>\u2028\u2029\r]")


def is_missing(value: Any) -> bool:
    """True for None, NaN (pandas' missing value) and empty or blank text."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas.NA, pandas.NaT
        return True
    try:  # pandas.NA, numpy.nan in other float types
        if value != value:
            return True
    except (TypeError, ValueError):
        pass
    return isinstance(value, str) and not value.strip()


def text(value: Any, *, missing: str = "") -> str:
    """Any value as plain text (not escaped); missing values become ``missing``."""
    return missing if is_missing(value) else str(value)


def html_text(value: Any, *, missing: str = MISSING) -> str:
    """Text for HTML element content: ``& < > " ' ` `` become character references."""
    if is_missing(value):
        return html_text(missing, missing="") if missing else ""
    return _HTML_RE.sub(lambda m: _HTML[m.group(0)], str(value))


def html_attr(value: Any, *, missing: str = "") -> str:
    """Text for a quoted HTML attribute value (either quote); the same escapes as ``html_text``.

    Not for ``href``/``src`` built from untrusted text: build URLs from fixed prefixes and
    ``url_part`` so no ``javascript:`` can appear.
    """
    return html_text(value, missing=missing)


def url_part(value: Any) -> str:
    """One URL path segment or query value, percent-encoded (no ``/``, ``?``, ``#``, quotes)."""
    return quote(text(value), safe="")


def js_string(value: Any) -> str:
    """A complete JavaScript string literal (with its double quotes), safe inside <script>."""
    return script_json(text(value))


def js_template(value: Any) -> str:
    """Text placed between the backticks of a JavaScript template literal.

    Escapes backslash, backtick and ``$`` (so ``${…}`` stays text), and ``<``/``>`` as
    ``\\x3C``/``\\x3E`` so ``</script>`` cannot close the script element. The literal's
    value is exactly the original text: if that value is then used as HTML, escape for
    HTML first (``template_html``).
    """
    return _TEMPLATE_RE.sub(lambda m: _TEMPLATE[m.group(0)], text(value))


def template_html(value: Any, *, missing: str = MISSING) -> str:
    """Text shown as HTML by a template literal (folium Popup, Tooltip): HTML-escape, then
    template-literal-escape."""
    return js_template(html_text(value, missing=missing))


def _plain(obj: Any) -> Any:
    """numpy/pandas scalars and NaN to plain JSON values."""
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    item = getattr(obj, "item", None)  # numpy scalar
    if callable(item):
        return _plain(item())
    if is_missing(obj):
        return None
    return str(obj)


def script_json(obj: Any) -> str:
    """JSON for a JavaScript expression inside a <script> element (or an HTML attribute).

    ``<``, ``>``, ``&``, ``'`` and U+2028/U+2029 are written as ``\\uXXXX`` escapes, so no
    value can close the script, open a comment or end a line. NaN and infinities become
    ``null``; numpy scalars become numbers.
    """
    raw = json.dumps(_plain(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _SCRIPT_SAFE_RE.sub(lambda m: _SCRIPT_SAFE[m.group(0)], raw)
