"""Page options of a printed map: format, paper, orientation and resolution, validated."""

from __future__ import annotations

from dataclasses import dataclass

from gridmap.errors import InvalidInput

MM_PER_INCH = 25.4
PAPERS: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}  # mm, portrait
FORMATS: dict[str, str] = {
    "png": "image/png",
    "pdf": "application/pdf",
    "svg": "image/svg+xml",
}
DPI_RANGE = (72, 600)
DEFAULT_DPI = 300
_TRUE = {"1", "true", "yes", "on", "landscape", "横向"}
_FALSE = {"", "0", "false", "no", "off", "portrait", "纵向"}


@dataclass(frozen=True)
class PageOptions:
    """How one page is produced: file format, paper size, orientation and dots per inch."""

    fmt: str = "png"
    paper: str = "A4"
    landscape: bool = False
    dpi: int = DEFAULT_DPI

    @property
    def size_mm(self) -> tuple[float, float]:
        """Paper (width, height) in millimetres, after orientation."""
        w, h = PAPERS[self.paper]
        return (h, w) if self.landscape else (w, h)

    @property
    def size_px(self) -> tuple[int, int]:
        """Raster size in pixels: A4 at 300 dpi portrait is 2480 × 3508."""
        w, h = self.size_mm
        return round(w / MM_PER_INCH * self.dpi), round(h / MM_PER_INCH * self.dpi)

    @property
    def figsize(self) -> tuple[float, float]:
        """Figure size in inches; for rasters the exact pixel count divided by the dpi."""
        if self.fmt == "png":
            w_px, h_px = self.size_px
            return w_px / self.dpi, h_px / self.dpi
        w, h = self.size_mm
        return w / MM_PER_INCH, h / MM_PER_INCH

    @property
    def mimetype(self) -> str:
        return FORMATS[self.fmt]

    @property
    def label(self) -> str:
        return f"{self.paper}{'横向' if self.landscape else '纵向'}"


def parse_bool(value: object, *, name: str = "landscape") -> bool:
    """Read a yes/no option given as bool or text ("1", "true", "0", …)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    msg = f"参数 {name} 的值“{value}”无效：应为 1（横向）或 0（纵向）"
    raise InvalidInput(msg)


def page_options(
    *,
    fmt: object = "png",
    paper: object = "A4",
    landscape: object = False,
    dpi: object = DEFAULT_DPI,
) -> PageOptions:
    """Validate page options given as text or values; raise InvalidInput with a Chinese message.

    Parameters
    ----------
    fmt : str
        "png", "pdf" or "svg" (case-insensitive).
    paper : str
        "A4" or "A3" (case-insensitive).
    landscape : bool or str
        Landscape orientation if true ("1", "true", …).
    dpi : int or str
        Dots per inch, 72–600; written into PNG files, used for rasters inside PDF and SVG.

    Returns
    -------
    PageOptions
    """
    fmt_text = str(fmt or "").strip().lower()
    if fmt_text not in FORMATS:
        msg = f"不支持的图片格式“{fmt}”：可选 {'、'.join(FORMATS)}"
        raise InvalidInput(msg)
    paper_text = str(paper or "").strip().upper()
    if paper_text not in PAPERS:
        msg = f"不支持的纸张大小“{paper}”：可选 {'、'.join(PAPERS)}"
        raise InvalidInput(msg)
    try:
        dpi_value = int(str(dpi).strip()) if not isinstance(dpi, int) else dpi
    except ValueError:
        msg = f"分辨率 dpi 应为 {DPI_RANGE[0]}–{DPI_RANGE[1]} 之间的整数，收到“{dpi}”"
        raise InvalidInput(msg) from None
    if isinstance(dpi_value, bool) or not DPI_RANGE[0] <= dpi_value <= DPI_RANGE[1]:
        msg = f"分辨率 dpi 应在 {DPI_RANGE[0]}–{DPI_RANGE[1]} 之间，收到 {dpi}"
        raise InvalidInput(msg)
    return PageOptions(fmt=fmt_text, paper=paper_text, landscape=parse_bool(landscape), dpi=dpi_value)
