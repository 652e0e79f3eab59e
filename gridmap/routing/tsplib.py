"""Read TSPLIB problems, tours and best-known lengths; EUC_2D distances as TSPLIB rounds them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gridmap.errors import DataError

_HEADER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*?)\s*$")
_SECTIONS = {
    "NODE_COORD_SECTION",
    "TOUR_SECTION",
    "DISPLAY_DATA_SECTION",
    "EDGE_WEIGHT_SECTION",
    "DEMAND_SECTION",
    "DEPOT_SECTION",
    "FIXED_EDGES_SECTION",
}


@dataclass(frozen=True)
class Problem:
    """A TSPLIB problem: its header fields and node coordinates (row i is node i + 1)."""

    name: str
    type: str
    dimension: int
    edge_weight_type: str
    coords: NDArray[np.float64]
    header: dict[str, str] = field(default_factory=dict)

    def matrix(self) -> NDArray[np.int64]:
        """Distance matrix in TSPLIB's own rounding (EUC_2D only)."""
        if self.edge_weight_type != "EUC_2D":
            msg = f"{self.name}：仅支持 EUC_2D 距离，此文件为 {self.edge_weight_type}"
            raise DataError(msg)
        return euc_2d_matrix(self.coords)


def euc_2d_matrix(coords: NDArray[np.floating] | list) -> NDArray[np.int64]:
    """TSPLIB EUC_2D: Euclidean distance rounded to the nearest integer (nint(x) = floor(x + 0.5))."""
    xy = np.asarray(coords, dtype=np.float64)
    diff = xy[:, None, :] - xy[None, :, :]
    return np.floor(np.sqrt((diff * diff).sum(axis=-1)) + 0.5).astype(np.int64)


def instance_name(raw: str) -> str:
    """The bare instance name: `./TSPLIB/a280.tsp.optbc.tour` and `ulysses16.tsp` give `a280`, `ulysses16`."""
    return Path(raw.strip()).name.split(".")[0]


def _text(source: str | Path) -> tuple[str, str]:
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8", errors="replace"), str(path)
    except OSError as error:
        msg = f"无法读取 TSPLIB 文件 {path}：{error.strerror or error}"
        raise DataError(msg) from error


def _split(text: str, where: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Header fields (both `KEY : value` and `KEY: value`) and the data lines of each section."""
    header: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line == "EOF":
            break
        word = line.split(":", 1)[0].strip().upper()
        if word in _SECTIONS:
            current = sections.setdefault(word, [])
            continue
        match = _HEADER.match(line)
        if match and not line[0].isdigit() and not line.startswith("-"):
            header[match.group(1).upper()] = match.group(2)
            current = None
            continue
        if current is None:
            msg = f"{where}：无法识别的行 {raw!r}"
            raise DataError(msg)
        current.append(line)
    return header, sections


def read_problem(source: str | Path) -> Problem:
    """Parse a .tsp file with NODE_COORD_SECTION; the EOF line may be missing."""
    text, where = _text(source)
    header, sections = _split(text, where)
    lines = sections.get("NODE_COORD_SECTION")
    if not lines:
        msg = f"{where}：缺少 NODE_COORD_SECTION"
        raise DataError(msg)
    ids: list[int] = []
    coords: list[tuple[float, float]] = []
    for line in lines:
        parts = line.split()
        try:
            ids.append(int(parts[0]))
            coords.append((float(parts[1]), float(parts[2])))
        except (ValueError, IndexError) as error:
            msg = f"{where}：坐标行 {line!r} 应为 “编号 x y”"
            raise DataError(msg) from error
    dimension = int(header.get("DIMENSION", len(coords)))
    if len(coords) != dimension or sorted(ids) != list(range(1, dimension + 1)):
        msg = f"{where}：DIMENSION 为 {dimension}，但坐标节点为 {len(coords)} 个（编号应为 1…{dimension}）"
        raise DataError(msg)
    order = np.argsort(np.asarray(ids))
    return Problem(
        name=instance_name(header.get("NAME", "") or Path(where).name),
        type=header.get("TYPE", "TSP").strip(),
        dimension=dimension,
        edge_weight_type=header.get("EDGE_WEIGHT_TYPE", "").strip().upper(),
        coords=np.asarray(coords, dtype=np.float64)[order],
        header=header,
    )


def read_tour(source: str | Path) -> list[int]:
    """Parse a .tour file into 0-based node indices; one node per line or many per line, `-1` ends it."""
    text, where = _text(source)
    _, sections = _split(text, where)
    numbers: list[int] = []
    for line in sections.get("TOUR_SECTION", []):
        for token in line.split():
            value = int(token)
            if value == -1:
                break
            numbers.append(value - 1)
        else:
            continue
        break
    if not numbers:
        msg = f"{where}：缺少 TOUR_SECTION 或其中没有节点"
        raise DataError(msg)
    return numbers


def read_best_solutions(source: str | Path) -> dict[str, int]:
    """Parse bestSolutions.txt (`name : length` per line) into {name: length}."""
    text, _ = _text(source)
    best: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and value.strip():
            try:
                best[name.strip()] = int(value.split()[0])
            except ValueError:
                continue
    return best


def tour_length(
    matrix: NDArray[np.integer] | NDArray[np.floating], order: list[int], *, closed: bool = True
) -> float:
    """Length of visiting `order` in turn, returning to the first node when `closed`."""
    idx = np.asarray(order, dtype=np.int64)
    if len(idx) < 2:
        return 0
    nxt = np.roll(idx, -1) if closed else idx[1:]
    cur = idx if closed else idx[:-1]
    total = matrix[cur, nxt].sum()
    return total.item()
