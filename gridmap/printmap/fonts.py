"""The CJK font of printed maps: Noto Sans SC from a PyPI package, as a static TrueType face."""

from __future__ import annotations

import fcntl
import os
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

import matplotlib
from matplotlib import font_manager

from gridmap.errors import ConfigError

# Noto Sans SC (SIL OFL 1.1) ships in `justmytype-intl-cjk` as a variable TrueType font whose
# default instance is Thin. PDF viewers draw a variable font's default outlines, so we cut a
# static Regular instance with fontTools once and keep it in matplotlib's cache folder.
FONT_PACKAGE = "justmytype_intl_cjk"
FONT_RESOURCE = "fonts/ofl/notosanssc/NotoSansSC[wght].ttf"
FONT_WEIGHT = 400
FONT_FAMILY = "Noto Sans SC"
_FILE_NAME = f"NotoSansSC-{FONT_WEIGHT}-static-v2.ttf"
_DROP_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "STAT", "vhea", "vmtx", "DSIG")
_lock = threading.Lock()


def source_path() -> Path:
    """The variable font file inside the installed font package."""
    try:
        path = Path(str(resources.files(FONT_PACKAGE).joinpath(FONT_RESOURCE)))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        msg = (
            "找不到地图出图用的中文字体（Python 包 justmytype-intl-cjk 中的 Noto Sans SC）。"
            "请运行 `.venv/bin/pip install -r requirements.txt` 安装依赖"
        )
        raise ConfigError(msg)
    return path


def cache_dir() -> Path:
    """Where the static instance is kept (under matplotlib's own cache folder)."""
    return Path(matplotlib.get_cachedir()) / "gridmap-fonts"


def cached_path() -> Path:
    """The path of the static Regular instance, built or not."""
    return cache_dir() / _FILE_NAME


def _build(target: Path) -> None:
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    variable = TTFont(str(source_path()))
    static = instancer.instantiateVariableFont(variable, {"wght": FONT_WEIGHT}, updateFontNames=True)
    # Drop what matplotlib never uses (OpenType layout, vertical metrics): subsetting the font
    # for every PDF is then several times faster. Store glyph names (post format 2) so that
    # readers need not rebuild 30 000 names from the cmap each time.
    for tag in _DROP_TABLES:
        if tag in static:
            del static[tag]
    post = static["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    static.save(str(tmp))
    os.replace(tmp, target)  # atomic: readers see no half-written font
    for old in target.parent.glob("NotoSansSC-*-static-v*.ttf"):  # earlier builds
        if old != target:
            old.unlink(missing_ok=True)


def font_path() -> Path:
    """Return the static CJK font file, building it on first use (about half a minute, once)."""
    target = cached_path()
    if target.is_file():
        return target
    with _lock:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target.parent / ".build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one process builds; the others wait and reuse
            try:
                if not target.is_file():
                    _build(target)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    return target


@lru_cache(maxsize=1)
def register() -> str:
    """Add the CJK font to matplotlib's font manager (once per process); return its family."""
    path = font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def is_ready() -> bool:
    """Whether the static font is already built (no waiting on first render)."""
    return cached_path().is_file()


@lru_cache(maxsize=1)
def charset() -> frozenset[int]:
    """The code points the font covers (from its cmap table)."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(font_path()), lazy=True)
    return frozenset(font.getBestCmap())


def missing_chars(text: str) -> list[str]:
    """The characters of text that the font has no glyph for (whitespace aside)."""
    covered = charset()
    return sorted({ch for ch in text if not ch.isspace() and ord(ch) not in covered})


if is_ready():  # at import, register the font if it is built; else at the first render
    register()
