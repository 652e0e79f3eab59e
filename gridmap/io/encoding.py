"""Text encodings: the one text decoder, codec names and labels, and DBF encoding detection."""

from __future__ import annotations

import codecs
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gridmap.errors import DataError, Finding, GridmapError, InvalidInput

__all__ = [
    "Decoded",
    "codec_label",
    "decode_text",
    "detect_dbf_encoding",
    "detect_file_codec",
    "normalize_codec",
]

# How codecs are named to people; any other codec is shown upper-cased.
_LABELS: dict[str, str] = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8（带 BOM）",
    "gbk": "GBK",
    "cp936": "GBK（CP936）",
    "gb18030": "GB18030（GBK 的超集）",
}

_CHUNK = 1 << 20  # bytes decoded at a time when a file's encoding is checked

# .cpg contents (upper case, without spaces, "-" and "_") mapped to Python codec names.
_CPG_CODECS: dict[str, str] = {
    "UTF8": "utf-8",
    "65001": "utf-8",
    "GBK": "gbk",
    "936": "cp936",
    "CP936": "cp936",
    "MS936": "cp936",
    "WINDOWS936": "cp936",
    "ANSI936": "cp936",
    # GB2312 files written by Chinese software routinely hold GBK-only characters.
    "GB2312": "gbk",
    "EUCCN": "gbk",
    "20936": "gbk",
    "GB18030": "gb18030",
    "54936": "gb18030",
    "BIG5": "big5",
    "950": "cp950",
    "CP950": "cp950",
}

# DBF language driver IDs (byte 29) that name a Chinese code page. Other values (0 = none,
# 0x57 = "ANSI", i.e. whatever the writing machine used, Western pages) say nothing we trust.
_LDID_CODECS: dict[int, str] = {
    0x4D: "cp936",  # Chinese GBK (PRC) Windows
    0x7A: "gbk",  # PRC GBK
    0x4F: "cp950",  # Chinese Big5 (Taiwan) Windows
    0x78: "cp950",  # Taiwan Big5
}

_FIELD_TERMINATOR = 0x0D
_HEADER_SIZE = 32
_DESCRIPTOR_SIZE = 32


# --- codec names -------------------------------------------------------------------------------


def codec_label(codec: str | None) -> str:
    """How a codec is named to people: "utf-8" -> "UTF-8", "gb18030" -> "GB18030（GBK 的超集）"."""
    return _LABELS.get(codec or "", (codec or "").upper())


def normalize_codec(name: str) -> str:
    """A codec name as Python knows it ("GBK" -> "gbk", "UTF8" -> "utf-8"); InvalidInput if unknown."""
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        msg = f"无法识别的编码“{name}”；常用：UTF-8、GBK、GB18030"
        raise InvalidInput(msg) from None


# --- decoding text ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    """Text decoded from bytes: the text, the codec used and why (in Chinese)."""

    text: str
    codec: str
    reason: str


# fits(codec) -> None when the bytes decode strictly with codec, else (about) the first bad byte (0-based).
_Fits = Callable[[str], "int | None"]


def _settle(
    fits: _Fits,
    *,
    bom: bool,
    codec: str | None,
    what: str,
    name: str,
    about: str,
    hint: str,
    error: type[GridmapError],
    lenient: bool,
    declared: str | None = None,
    declared_as: str = "",
) -> tuple[str, str]:
    """The one order of evidence: given codec, declared codec, UTF-8 BOM, strict UTF-8, GB18030."""
    if codec:
        bad = fits(codec)
        if bad is None:
            return codec, "按 --encoding 指定"
        msg = f"{name} 不能按 {codec.removesuffix('-sig')} 解码（{about}第 {bad + 1} 个字节有误）；{hint}"
        raise error(msg, findings=[Finding(msg, file=name)] if issubclass(error, DataError) else None)
    if declared_as:
        if declared and fits(declared) is None:
            return declared, f"按 {declared_as}"
        what += f"{declared_as}与内容不符，"
    if bom:
        return "utf-8-sig", f"{what}带 UTF-8 BOM 标记"
    if fits("utf-8") is None:
        return "utf-8", f"{what}按内容判断为 UTF-8"
    bad = fits("gb18030")
    if bad is None:
        return "gb18030", f"{what}不是有效的 UTF-8，按内容判断为 GBK/GB18030"
    if lenient:
        return "gb18030", f"{what}既不是有效的 UTF-8 也不是 GBK，按 GB18030 读取（无法解码的字节已替换）"
    msg = (
        f"{name} 既不是 UTF-8 也不是 GBK 编码（{about}第 {bad + 1} 个字节无法解码）；"
        "请用 --encoding 指定编码，或另存为 UTF-8"
    )
    raise error(msg, findings=[Finding(msg, file=name)])


def decode_text(
    raw: bytes,
    *,
    codec: str | None = None,
    what: str = "",
    name: str = "文本",
    lenient: bool = False,
    hint: str = "请检查 --encoding",
    error: type[GridmapError] = DataError,
) -> Decoded:
    """Decode text in the one order of evidence: the given codec, a UTF-8 BOM, strict UTF-8, GB18030.

    Parameters
    ----------
    raw : bytes
        The text as stored.
    codec : str, optional
        The codec to use (as `normalize_codec` returns it, e.g. from ``--encoding``); the text
        must decode with it strictly.
    what : str
        Prefix of the reason, e.g. "无 .cpg，".
    name : str
        What the text is (a file name), shown in error messages.
    lenient : bool
        Never refuse the content: text that is neither UTF-8 nor GBK is read as GB18030 with the
        undecodable bytes replaced (for sniffing a file's head and small side files).
    hint, error
        What an error message tells the user to do (when ``codec`` does not fit), and the
        error raised (DataError; InvalidInput for request bodies).

    Returns
    -------
    Decoded
        ``text``, ``codec`` ("utf-8-sig" when a BOM was removed) and ``reason``.
    """
    bom = raw.startswith(codecs.BOM_UTF8)
    texts: dict[str, str] = {}

    def fits(candidate: str) -> int | None:
        try:
            texts[candidate] = raw.decode(candidate)
        except UnicodeDecodeError as exc:
            return exc.start
        return None

    used, reason = _settle(
        fits, bom=bom, codec=codec, what=what, name=name, about="", hint=hint, error=error, lenient=lenient
    )
    if used in texts:
        text = texts[used]
        if used == "utf-8-sig" or (used == codec and text.startswith("\ufeff") and bom):
            text = text.removeprefix("\ufeff")
    elif used == "utf-8-sig":
        text = raw[3:].decode("utf-8", errors="replace")
    else:  # lenient GB18030
        text = raw.decode(used, errors="replace")
    return Decoded(text, used, reason)


def _file_fits(path: Path) -> _Fits:
    def fits(codec: str) -> int | None:
        decoder = codecs.getincrementaldecoder(codec)("strict")
        offset = 0
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    decoder.decode(chunk)
                    offset += len(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return offset + max(exc.start, 0)
        return None

    return fits


def detect_file_codec(
    path: str | os.PathLike[str],
    *,
    codec: str | None = None,
    name: str,
    declared: str | None = None,
    declared_as: str = "",
) -> tuple[str, str]:
    """`decode_text`'s choice for a file too large to hold, checked in streamed chunks: (codec, reason).

    ``declared``/``declared_as``: a codec the file names itself (an XML declaration) and how to
    say so ('XML 声明（encoding="GBK"）'); it is tried after ``codec`` and before the BOM. Pass
    ``declared_as`` with ``declared=None`` for a declaration naming an unknown codec.
    """
    file = Path(path)
    with file.open("rb") as fh:
        bom = fh.read(3) == codecs.BOM_UTF8
    return _settle(
        _file_fits(file),
        bom=bom,
        codec=codec,
        what="",
        name=name,
        about="约",
        hint="请检查 --encoding",
        error=DataError,
        lenient=False,
        declared=declared,
        declared_as=declared_as,
    )


# --- DBF (Shapefile attribute table) encoding --------------------------------------------------


def _dbf_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".dbf":
        dbf = p
    elif suffix == ".shp":
        candidates = [p.with_suffix(s) for s in (".dbf", ".DBF", ".Dbf")]
        dbf = next((c for c in candidates if c.exists()), candidates[0])
    else:
        msg = f"只能检测 Shapefile 的 .dbf 或 .shp 文件，收到：{p.name}"
        raise InvalidInput(msg)
    if not dbf.is_file():
        msg = f"找不到属性表文件 {dbf.name}（Shapefile 需要同名的 .dbf 文件）"
        raise DataError(msg)
    return dbf


def _sibling(dbf: Path, suffix: str) -> Path | None:
    for candidate in (dbf.with_suffix(suffix.lower()), dbf.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def _codec_from_cpg(text: str) -> str | None:
    key = "".join(text.replace("\ufeff", "").split()).upper().replace("-", "").replace("_", "")
    if not key:
        return None
    if key in _CPG_CODECS:
        return _CPG_CODECS[key]
    if not (key.isascii() and key.isalnum()):
        return None
    for name in (f"cp{key}", key) if key.isdigit() else (key,):
        try:
            return normalize_codec(name)
        except InvalidInput:
            continue
    return None


def _character_values(data: bytes, name: str) -> list[tuple[bytes, bool]]:
    """Every field name and distinct character value: (bytes without padding, fills its field)."""
    if len(data) < _HEADER_SIZE + 1:
        msg = f"{name} 不是有效的 DBF 文件（文件过短）"
        raise DataError(msg)
    n_records = struct.unpack_from("<I", data, 4)[0]
    header_length, record_length = struct.unpack_from("<HH", data, 8)
    names: list[bytes] = []
    fields: list[tuple[int, int]] = []  # (offset in record, width) of character fields
    offset = 1  # byte 0 of each record is the deletion flag
    pos = _HEADER_SIZE
    end = min(len(data), header_length)
    while pos + _DESCRIPTOR_SIZE <= end and data[pos] != _FIELD_TERMINATOR:
        desc = data[pos : pos + _DESCRIPTOR_SIZE]
        names.append(desc[:11].split(b"\x00", 1)[0])
        kind = chr(desc[11])
        width = desc[16]
        if kind == "C":
            width += desc[17] * 256  # shapelib / Clipper: long character fields
            fields.append((offset, width))
        offset += width
        pos += _DESCRIPTOR_SIZE
    if record_length < 1 or header_length < _HEADER_SIZE or offset > record_length:
        msg = f"{name} 的 DBF 头部损坏（记录长度 {record_length}，字段合计 {offset}）"
        raise DataError(msg)
    n_available = max(len(data) - header_length, 0) // record_length
    n = min(n_records, n_available)
    values = {(field_name, False) for field_name in names}
    if n and fields:
        body = np.frombuffer(data, dtype=np.uint8, count=n * record_length, offset=header_length)
        records = body.reshape(n, record_length)
        for start, width in fields:
            column = records[:, start : start + width]
            # Only values with a byte >= 0x80 can tell encodings apart.
            column = column[(column >= 0x80).any(axis=1)]
            for row in np.unique(column, axis=0):
                raw = bytes(row)
                text = raw.rstrip(b" \x00")
                values.add((text, len(text) == len(raw)))
    return list(values)


def _decodes(value: bytes, full: bool, codec: str) -> bool:
    """Strict decode, forgiving a multibyte character cut off at the end of a full-width field."""
    try:
        value.decode(codec)
    except UnicodeDecodeError as exc:
        cut = full and exc.end >= len(value) and len(value) - exc.start < 4
        if not cut:
            return False
        try:
            value[: exc.start].decode(codec)
        except UnicodeDecodeError:
            return False
    return True


def _failures(values: list[tuple[bytes, bool]], codec: str) -> int:
    return sum(not _decodes(value, full, codec) for value, full in values)


def _looks_like_gbk_mojibake(values: list[tuple[bytes, bool]]) -> bool:
    """True if GBK bytes that happen to be valid UTF-8 (e.g. 太原 = CC AB D4 AD) explain the text.

    Chinese in UTF-8 takes three bytes a character (U+0800 and up). GBK pairs that pass as UTF-8
    decode to two-byte characters instead, mostly IPA, combining marks, Greek, Cyrillic,
    Armenian, Hebrew or Arabic (U+0250–U+07FF), which county data does not contain.
    """
    text = "".join(v.decode("utf-8", errors="ignore") for v, _ in values)
    if any(ord(ch) >= 0x800 for ch in text):
        return False
    return any(0x250 <= ord(ch) < 0x800 for ch in text)


def _non_ascii(values: list[tuple[bytes, bool]]) -> list[tuple[bytes, bool]]:
    return [(v, full) for v, full in values if any(b >= 0x80 for b in v)]


def _is_utf8_text(non_ascii: list[tuple[bytes, bool]]) -> bool:
    """All values strict UTF-8, and not better explained as GBK."""
    if not non_ascii or _failures(non_ascii, "utf-8"):
        return False
    return _failures(non_ascii, "gb18030") > 0 or not _looks_like_gbk_mojibake(non_ascii)


def _by_content(values: list[tuple[bytes, bool]], prefix: str) -> tuple[str, str]:
    non_ascii = _non_ascii(values)
    if not non_ascii:
        return "utf-8", f"{prefix}内容全为 ASCII，按 UTF-8 读取"
    if _is_utf8_text(non_ascii):
        return "utf-8", f"{prefix}按内容判断为 UTF-8"
    utf8_bad = _failures(non_ascii, "utf-8")
    gb_bad = _failures(non_ascii, "gb18030")
    if gb_bad == 0:
        return "gb18030", f"{prefix}按内容判断为 GBK/GB18030（按其超集 GB18030 读取）"
    codec, bad = ("utf-8", utf8_bad) if utf8_bad <= gb_bad else ("gb18030", gb_bad)
    return codec, (
        f"{prefix}内容编码无法确定：按 {codec_label(codec)} 读取时仍有 {bad}/{len(non_ascii)} "
        "个文本值无法解码，请核对数据来源或补一个 .cpg 文件"
    )


def detect_dbf_encoding(path: str | os.PathLike[str]) -> tuple[str, str]:
    """Return (Python codec name, reason in Chinese) for the text in a Shapefile's .dbf.

    Order of evidence: a sibling .cpg file is obeyed (the reason warns when the text does not
    fit it); else the DBF header's language driver ID (byte 29) when it names a Chinese code
    page, the text decodes with it and is not plainly UTF-8; else the raw bytes of the field
    names and character fields decide: strict UTF-8 with multibyte
    characters gives "utf-8" (unless every value is also GBK and the UTF-8 reading is the
    typical mojibake of GBK, as with 太原), else GBK-family bytes give "gb18030" (the superset
    of GBK), and pure ASCII gives "utf-8".

    Parameters
    ----------
    path : str or os.PathLike
        The .dbf file, or the .shp file next to it.

    Returns
    -------
    tuple of (str, str)
        A codec name usable with ``bytes.decode`` and ``pyogrio.read_dataframe(encoding=...)``,
        and why it was chosen.
    """
    dbf = _dbf_path(path)
    data = dbf.read_bytes()
    values = _character_values(data, dbf.name)
    cpg = _sibling(dbf, ".cpg")
    cpg_text = ""
    if cpg is not None:
        raw = cpg.read_bytes()[:64].removeprefix(codecs.BOM_UTF8)
        cpg_text = raw.decode("ascii", errors="replace").strip()
        codec = _codec_from_cpg(cpg_text)
        if codec is not None:
            reason = f"按 .cpg 文件（{cpg_text}）"
            bad = _failures(values, codec)
            if bad:
                reason += f"；但有 {bad} 个文本值不能按 {codec_label(codec)} 解码，.cpg 可能有误"
            elif codec != "utf-8" and _is_utf8_text(_non_ascii(values)):
                reason += "；但内容看起来是 UTF-8，.cpg 可能有误"
            return codec, reason

    if cpg is None:
        prefix = "无 .cpg，"
    elif not cpg_text:
        prefix = ".cpg 为空，"
    else:
        prefix = f".cpg 内容（{cpg_text}）无法识别，"
    ldid = data[29]
    if ldid in _LDID_CODECS:
        codec = _LDID_CODECS[ldid]
        # UTF-8 Chinese often decodes as GBK too (as mojibake), so a stale LDID on a UTF-8
        # file is caught by the UTF-8 test, not by decoding with the LDID's code page.
        if _failures(values, codec) == 0 and not _is_utf8_text(_non_ascii(values)):
            return codec, f"{prefix}按 DBF 头部 LDID=0x{ldid:02X}，即 {codec_label(codec)}"
        prefix += f"DBF 头部 LDID=0x{ldid:02X} 与内容不符，"
    elif ldid:
        prefix += f"DBF 头部 LDID=0x{ldid:02X} 未指明中文代码页，"
    return _by_content(values, prefix)
