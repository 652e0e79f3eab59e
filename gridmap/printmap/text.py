"""Text metrics of the CJK font: widths in points and line wrapping for table cells and labels."""

from __future__ import annotations

import re
from functools import lru_cache

from matplotlib import font_manager
from matplotlib.ft2font import LoadFlags

from gridmap.printmap import fonts

# Characters that must not start a line (Chinese line-breaking rule, 避头点).
_NO_LINE_START = set("，。、；：？！）》」』】〕…—·%,.;:?!)]}")
# Characters that must not end a line (避尾点).
_NO_LINE_END = set("（《「『【〔([{")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-.:/_@]*|.", re.S)
LINE_HEIGHT = 1.32  # line pitch as a multiple of the font size


@lru_cache(maxsize=8192)
def _advance(ch: str) -> float:
    """Advance width of one character as a fraction of the em."""
    font = font_manager.get_font(str(fonts.font_path()))
    font.set_size(100, 72)
    if font.get_char_index(ord(ch)) == 0:  # not in the font: measure as one em
        return 1.0
    glyph = font.load_char(ord(ch), flags=LoadFlags.NO_HINTING)
    return glyph.linearHoriAdvance / 65536 / 100


def width(text: str, size: float) -> float:
    """Width of a one-line text in points at a font size in points."""
    return sum(_advance(ch) for ch in text) * size


def _tokens(paragraph: str) -> list[str]:
    """Units that are not broken: runs of Latin letters, digits and their joiners
    (phone numbers, codes), else single characters."""
    return _TOKEN.findall(paragraph)


def wrap(text: str, max_width: float, size: float) -> list[str]:
    """Break text into lines no wider than max_width points. CJK text breaks between any two
    characters, numbers and Latin words stay whole when they fit on a line, a line never starts
    with closing punctuation (避头点), and explicit newlines are kept."""
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        line, used = "", 0.0
        for token in _tokens(paragraph):
            w = width(token, size)
            if line and used + w > max_width:
                if token == " ":
                    lines.append(line)
                    line, used = "", 0.0
                    continue
                cut = len(line)
                while cut > 1 and (line[cut:] + token)[0] in _NO_LINE_START:
                    cut -= 1  # take characters along with the punctuation
                while cut > 1 and line[cut - 1] in _NO_LINE_END:
                    cut -= 1  # an opening bracket goes down with what it opens
                lines.append(line[:cut].rstrip())
                line = line[cut:]
                used = width(line, size)
            if w > max_width and len(token) > 1:  # a run longer than a line: break it anyway
                for ch in token:
                    cw = width(ch, size)
                    if line and used + cw > max_width:
                        lines.append(line)
                        line, used = "", 0.0
                    line += ch
                    used += cw
                continue
            line += token
            used += w
        lines.append(line)
    return lines


def fit_line(text: str, max_width: float, size: float) -> str:
    """The text cut with an ellipsis so that it fits on one line of max_width points."""
    if width(text, size) <= max_width:
        return text
    out = ""
    for ch in text:
        if width(out + ch + "…", size) > max_width:
            break
        out += ch
    return out + "…"
