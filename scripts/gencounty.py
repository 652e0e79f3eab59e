"""Generate synthetic counties of N grids (layers.gpkg + responsibility.xlsx, as geodata/demo), fast.

``write_county(folder, grids=N, seed=...)`` writes a dataset directory that ``gridmap load``
accepts: a square-ish lattice of irregular quadrilateral grids (neighbours share their corners
exactly: no gaps, no overlaps) near Baoji (宝鸡, Shaanxi), towns of 10×10 grids, two road
segments, one inspection point and one community per grid, units, county leaders, grid roles,
household heads and inspectors. Everything is built with numpy and shapely array calls and the
workbook is written as plain sheet XML, so 100,000 grids take seconds, not minutes.

    .venv/bin/python scripts/gencounty.py --grids 10000 --out /tmp/county10k
"""

from __future__ import annotations

import argparse
import sys
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gridmap.model import LAYERS_FILE, TABLES, TABLES_FILE

ORIGIN = (106.60, 34.05)  # south-west corner: the hills south-west of Baoji
CELL_M = 300.0  # a grid is about 300 m × 300 m (9 ha), like a town grid
TOWN_SIDE = 10  # towns are blocks of 10 × 10 grids
GRIDS_PER_UNIT = 5
GRIDS_PER_LEADER = 50
GRIDS_PER_INSPECTOR = 4

SURNAMES = np.array(list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"))  # fmt: skip
GIVEN = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国红梅志文斌宇浩凯鹏飞海波俊峰"))
ROADS = np.array(["人民路", "建设路", "解放路", "和平路", "新华路", "胜利路", "中山路", "文化路", "友谊路", "团结路",
                  "幸福路", "光明路", "长安路", "渭滨路", "宝光路", "经二路", "红旗路", "北环路", "南环路", "滨河路"])  # fmt: skip
CATEGORIES = np.array(
    ["农贸市场", "公共厕所", "背街小巷", "学校周边", "医院周边", "公交站点", "建筑工地", "广场公园"]
)
UNIT_KINDS = np.array(["县直部门", "驻县单位", "镇街道", "国有企业"])
UNIT_NAMES = np.array(["住建局", "城管局", "交通局", "水利局", "卫健委", "教育局", "市场监管局", "生态环境局", "公安局", "自然资源局"])  # fmt: skip
TITLES = np.array(
    ["县委常委、常务副县长", "副县长", "县人大常委会副主任", "县政协副主席", "县委常委、宣传部部长"]
)
COMPANIES = np.array(["", "秦岭物业", "渭水物业", "长青物业", "安居物业"])


def _lattice(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Node coordinates (lon, lat) of an nx × ny lattice with jittered interior nodes."""
    nx = int(np.ceil(np.sqrt(n)))
    ny = int(np.ceil(n / nx))
    lat0 = ORIGIN[1]
    dlat = CELL_M / 110_574.0
    dlon = CELL_M / (111_320.0 * np.cos(np.radians(lat0)))
    jx, jy = np.meshgrid(np.arange(nx + 1, dtype=float), np.arange(ny + 1, dtype=float))
    jitter = rng.uniform(-0.18, 0.18, size=(2, ny + 1, nx + 1))
    jitter[:, [0, -1], :] = 0.0  # straight outer edges
    jitter[:, :, [0, -1]] = 0.0
    lon = np.round(ORIGIN[0] + (jx + jitter[0]) * dlon, 8)
    lat = np.round(lat0 + (jy + jitter[1]) * dlat, 8)
    return lon, lat, nx, ny


def _quads(lon: np.ndarray, lat: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The (k, 5, 2) closed rings of cells at (rows, cols), counter-clockwise."""
    r = np.stack([rows, rows, rows + 1, rows + 1, rows], axis=1)
    c = np.stack([cols, cols + 1, cols + 1, cols, cols], axis=1)
    return np.stack([lon[r, c], lat[r, c]], axis=2)


def _polygons(rings: np.ndarray) -> np.ndarray:
    k, m, _ = rings.shape
    return shapely.polygons(shapely.linearrings(rings.reshape(-1, 2), indices=np.repeat(np.arange(k), m)))


def _lines(coords: np.ndarray) -> np.ndarray:
    k, m, _ = coords.shape
    return shapely.linestrings(coords.reshape(-1, 2), indices=np.repeat(np.arange(k), m))


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fictitious personal names (surname + one or two given characters)."""
    s = SURNAMES[rng.integers(0, len(SURNAMES), n)].astype(object)
    g1 = GIVEN[rng.integers(0, len(GIVEN), n)].astype(object)
    g2 = np.where(rng.random(n) < 0.6, GIVEN[rng.integers(0, len(GIVEN), n)], "").astype(object)
    return s + g1 + g2


def _mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    digits = rng.integers(0, 100_000_000, n)
    prefix = np.array(["139", "158", "187", "135", "150"])[rng.integers(0, 5, n)].astype(object)
    return prefix + np.char.mod("%08d", digits).astype(object)


def _seq(prefix: str, n: int, width: int) -> np.ndarray:
    """prefix + 1..n, zero-padded to ``width`` digits."""
    return np.char.mod(f"{prefix}%0{width}d", np.arange(1, n + 1)).astype(object)


def build_county(grids: int, *, seed: int = 0, heads_per_community: int = 2) -> tuple[dict, dict]:
    """Layers (GeoDataFrames, EPSG:4326, canonical columns) and tables (DataFrames) of a county."""
    if grids < 1:
        msg = "grids must be at least 1"
        raise ValueError(msg)
    rng = np.random.default_rng([seed, grids])
    lon, lat, nx, ny = _lattice(grids, rng)
    cell = np.arange(grids)
    row, col = cell // nx, cell % nx
    rings = _quads(lon, lat, row, col)
    grid_geoms = _polygons(rings)

    # Towns: blocks of TOWN_SIDE × TOWN_SIDE cells of the full lattice, outlined along cell edges.
    tx = int(np.ceil(nx / TOWN_SIDE))
    town_of_cell = (row // TOWN_SIDE) * tx + col // TOWN_SIDE
    used_towns = np.unique(town_of_cell)
    town_rings = []
    for t in used_towns:
        r0, c0 = (t // tx) * TOWN_SIDE, (t % tx) * TOWN_SIDE
        r1, c1 = min(r0 + TOWN_SIDE, ny), min(c0 + TOWN_SIDE, nx)
        rr = np.concatenate(
            [np.full(c1 - c0, r0), np.arange(r0, r1), np.full(c1 - c0, r1), np.arange(r1, r0, -1)]
        )
        cc = np.concatenate(
            [np.arange(c0, c1), np.full(r1 - r0, c1), np.arange(c1, c0, -1), np.full(r1 - r0, c0)]
        )
        town_rings.append(shapely.Polygon(np.stack([lon[rr, cc], lat[rr, cc]], axis=1)))
    town_codes = _seq("6103", len(used_towns), 5)
    town_pos = np.searchsorted(used_towns, town_of_cell)
    seq_in_town = pd.Series(cell).groupby(town_pos).cumcount().to_numpy() + 1
    grid_codes = town_codes[town_pos] + np.char.mod("%03d", seq_in_town).astype(object)
    town_names = np.array(
        [f"{SURNAMES[i % len(SURNAMES)]}家{'铺坪河沟湾'[i % 5]}镇{i + 1}" for i in range(len(used_towns))],
        dtype=object,
    )

    # Inner points of each cell by bilinear weights of its four corners.
    def inside(u: np.ndarray | float, v: np.ndarray | float) -> np.ndarray:
        p00, p10, p11, p01 = rings[:, 0], rings[:, 1], rings[:, 2], rings[:, 3]
        u = np.asarray(u, float).reshape(-1, 1) if np.ndim(u) else u
        v = np.asarray(v, float).reshape(-1, 1) if np.ndim(v) else v
        return (1 - u) * (1 - v) * p00 + u * (1 - v) * p10 + u * v * p11 + (1 - u) * v * p01

    n_units = max(3, int(np.ceil(grids / GRIDS_PER_UNIT)))
    unit_codes = _seq("U", n_units, 6)
    grid_unit = np.minimum(cell // GRIDS_PER_UNIT, n_units - 1)
    # Segments: a road across each cell (west-east) and a lane (south-north), ends 15% inside.
    across = np.stack([inside(0.15, 0.45), inside(0.5, 0.47), inside(0.85, 0.45)], axis=1)
    lane = np.stack([inside(0.6, 0.15), inside(0.62, 0.5), inside(0.6, 0.85)], axis=1)
    seg_geoms = np.concatenate([_lines(across), _lines(lane)])
    seg_grid = np.concatenate([cell, cell])
    seg_unit = np.concatenate([grid_unit, (grid_unit + 1) % n_units])
    seg_codes = _seq("S", len(seg_geoms), 7)
    road = ROADS[(np.concatenate([row, col]) % len(ROADS))].astype(object)
    segments = gpd.GeoDataFrame(
        {
            "code": seg_codes,
            "road_name": road,
            "from_name": road[::-1],
            "to_name": np.where(seg_grid % 3 == 0, None, road),
            "unit_code": unit_codes[seg_unit],
        },
        geometry=seg_geoms,
        crs="EPSG:4326",
    )
    pt = inside(0.3, 0.75)
    points = gpd.GeoDataFrame(
        {
            "code": _seq("P", grids, 7),
            "name": CATEGORIES[cell % len(CATEGORIES)].astype(object) + _seq("", grids, 1),
            "category": CATEGORIES[cell % len(CATEGORIES)].astype(object),
            "address": grid_codes + "号",
            "unit_code": unit_codes[grid_unit],
        },
        geometry=shapely.points(pt),
        crs="EPSG:4326",
    )
    comm = np.stack(
        [inside(0.2, 0.08), inside(0.45, 0.08), inside(0.45, 0.3), inside(0.2, 0.3), inside(0.2, 0.08)],
        axis=1,
    )
    comm_codes = _seq("C", grids, 7)
    communities = gpd.GeoDataFrame(
        {
            "code": comm_codes,
            "name": np.char.mod("小区%d", cell + 1).astype(object),
            "property_company": np.where(cell % 5 == 0, None, COMPANIES[cell % 5]).astype(object),
            "households": rng.integers(40, 600, grids),
            "unit_code": unit_codes[grid_unit],
        },
        geometry=_polygons(comm),
        crs="EPSG:4326",
    )
    river = shapely.LineString([(lon[0, 0], lat[ny // 2, 0] + 1e-4), (lon[0, -1], lat[ny // 2, -1] + 1e-4)])
    layers = {
        "towns": gpd.GeoDataFrame(
            {"code": town_codes, "name": town_names}, geometry=town_rings, crs="EPSG:4326"
        ),
        "grids": gpd.GeoDataFrame(
            {
                "code": grid_codes,
                "name": np.char.mod("第%d网格", seq_in_town).astype(object),
                "town_code": town_codes[town_pos],
            },
            geometry=grid_geoms,
            crs="EPSG:4326",
        ),
        "segments": segments,
        "points": points,
        "communities": communities,
        "rivers": gpd.GeoDataFrame({"name": ["渭河"]}, geometry=[river], crs="EPSG:4326"),
    }

    n_leaders = max(3, int(np.ceil(grids / GRIDS_PER_LEADER)), len(used_towns))
    leader_codes = _seq("L", n_leaders, 5)
    extra = cell[cell % 7 == 3]
    gl_grid = np.concatenate([cell, extra])
    gl_leader = np.concatenate(
        [np.minimum(cell // GRIDS_PER_LEADER, n_leaders - 1), (extra // GRIDS_PER_LEADER + 1) % n_leaders]
    )
    order = np.argsort(gl_grid, kind="stable")
    n_heads = grids * heads_per_community
    head_comm = np.repeat(cell, heads_per_community)
    n_insp = max(1, int(np.ceil(grids / GRIDS_PER_INSPECTOR)))
    insp_grids = (
        pd.Series(grid_codes).groupby(cell // GRIDS_PER_INSPECTOR).agg("、".join).to_numpy(dtype=object)
    )
    tables = {
        "leaders": pd.DataFrame(
            {
                "code": leader_codes,
                "name": _names(rng, n_leaders),
                "title": TITLES[np.arange(n_leaders) % len(TITLES)].astype(object),
                "phone": _mobiles(rng, n_leaders),
            }
        ),
        "units": pd.DataFrame(
            {
                "code": unit_codes,
                "name": "县"
                + UNIT_NAMES[np.arange(n_units) % len(UNIT_NAMES)].astype(object)
                + _seq("", n_units, 1),
                "kind": UNIT_KINDS[np.arange(n_units) % len(UNIT_KINDS)].astype(object),
                "contact": _names(rng, n_units),
                "phone": _mobiles(rng, n_units),
            }
        ),
        "grid_roles": pd.DataFrame(
            {
                "grid_code": grid_codes,
                "grid_head": _names(rng, grids),
                "grid_head_phone": _mobiles(rng, grids),
                "lead_unit_code": unit_codes[grid_unit],
            }
        ),
        "grid_leaders": pd.DataFrame(
            {"grid_code": grid_codes[gl_grid[order]], "leader_code": leader_codes[gl_leader[order]]}
        ),
        "town_leaders": pd.DataFrame(
            {"town_code": town_codes, "leader_code": leader_codes[np.arange(len(used_towns)) % n_leaders]}
        ),
        "household_heads": pd.DataFrame(
            {
                "code": _seq("H", n_heads, 8),
                "name": _names(rng, n_heads),
                "phone": _mobiles(rng, n_heads),
                "community_code": comm_codes[head_comm],
                "building": np.char.mod("%d号楼", np.arange(n_heads) % 12 + 1).astype(object),
                "building_code": np.full(n_heads, None, dtype=object),  # no building layer at scale
            }
        ),
        "grid_people": pd.DataFrame({"grid_code": [], "name": [], "role": [], "phone": []}, dtype=object),
        "inspectors": pd.DataFrame(
            {
                "code": _seq("I", n_insp, 6),
                "name": _names(rng, n_insp),
                "phone": _mobiles(rng, n_insp),
                "grid_codes": insp_grids,
            }
        ),
    }
    return layers, tables


# ---------------------------------------------------------------- writing


def write_layers(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Every layer into one new GeoPackage (one transaction per layer)."""
    path.unlink(missing_ok=True)
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "{sheets}</Types>"
)
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _column_letter(i: int) -> str:
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i]


def _text_ids(
    values: pd.Series, strings: list[np.ndarray], offset: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Shared-string ids (as text) of the present cells of one column; the column's distinct
    strings are appended to ``strings`` (entries may repeat across columns, which Excel allows)."""
    present = values.notna().to_numpy()
    text = values[present].astype(str).to_numpy(dtype=object)
    codes, uniques = pd.factorize(text)
    strings.append(np.asarray(uniques, dtype=object))
    ids = np.char.mod("%d", codes + offset[0]).astype(object)
    offset[0] += len(uniques)
    return present, ids


def _sheet_xml(header: list[str], frame: pd.DataFrame, strings: list[np.ndarray], offset: list[int]) -> bytes:
    """A worksheet of shared-string cells (text, as Excel and the demo workbook store codes and phones)."""
    body = np.full(len(frame), "", dtype=object)
    numbers = np.char.mod("%d", np.arange(2, len(frame) + 2)).astype(object)
    for k, column in enumerate(frame.columns):
        present, ids = _text_ids(frame[column].astype(object), strings, offset)
        cells = np.full(len(frame), "", dtype=object)
        cells[present] = f'<c r="{_column_letter(k)}' + numbers[present] + '" t="s"><v>' + ids + "</v></c>"
        body = body + cells
    rows = "".join('<row r="' + numbers + '">' + body + "</row>")
    _, head_ids = _text_ids(pd.Series(header, dtype=object), strings, offset)
    head = "".join(f'<c r="{_column_letter(k)}1" t="s"><v>{i}</v></c>' for k, i in enumerate(head_ids))
    last = f"{_column_letter(len(header) - 1)}{len(frame) + 1}"
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}">'
        f'<dimension ref="A1:{last}"/><sheetData><row r="1">{head}</row>{rows}</sheetData></worksheet>'
    ).encode()


def _shared_strings(strings: list[np.ndarray]) -> bytes:
    every = pd.Series(np.concatenate(strings) if strings else [], dtype=object)
    if every.str.contains(r"[&<>]", regex=True).any():
        every = every.str.replace("&", "&amp;").str.replace("<", "&lt;").str.replace(">", "&gt;")
    items = "".join("<si><t>" + every.to_numpy(dtype=object) + "</t></si>")
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{_MAIN}" '
        f'count="{len(every)}" uniqueCount="{len(every)}">{items}</sst>'
    ).encode()


def write_tables(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """The responsibility workbook: one sheet per table, Chinese sheet names and headers."""
    sheets = "".join(
        f'<sheet name="{escape(spec.label)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, spec in enumerate(TABLES, 1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(TABLES) + 1)
    )
    rels += f'<Relationship Id="rId{len(TABLES) + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
    rels += (
        f'<Relationship Id="rId{len(TABLES) + 2}" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    )
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_SHEET_TYPE}"/>'
        for i in range(1, len(TABLES) + 1)
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES.format(sheets=overrides))
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" '
            f'xmlns:r="{_REL}"><sheets>{sheets}</sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>',
        )
        z.writestr("xl/styles.xml", _STYLES)
        strings: list[np.ndarray] = []
        offset = [0]
        for i, spec in enumerate(TABLES, 1):
            frame = tables[spec.name][[c.name for c in spec.columns]]
            header = [c.label for c in spec.columns]
            z.writestr(f"xl/worksheets/sheet{i}.xml", _sheet_xml(header, frame, strings, offset))
        z.writestr("xl/sharedStrings.xml", _shared_strings(strings))


def write_csv_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    """One CSV file per table named as its sheet (县级领导.csv …), Chinese headers, UTF-8 with BOM:
    how a province's tables come when they outgrow a workbook (gridmap.io.tablefiles)."""
    for spec in TABLES:
        frame = tables[spec.name][[c.name for c in spec.columns]]
        frame.columns = [c.label for c in spec.columns]
        frame.to_csv(folder / f"{spec.label}.csv", index=False, encoding="utf-8-sig")


def write_county(
    folder: str | Path, *, grids: int, seed: int = 0, heads_per_community: int = 2, tables: str = "xlsx"
) -> dict[str, int]:
    """Write a synthetic county of ``grids`` grids to ``folder``; return the count of each layer and table.

    ``tables``: "xlsx" (responsibility.xlsx, as the demo) or "csv" (one CSV file per sheet).
    """
    if tables not in ("xlsx", "csv"):
        msg = f"tables must be xlsx or csv, not {tables!r}"
        raise ValueError(msg)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    layers, frames = build_county(grids, seed=seed, heads_per_community=heads_per_community)
    write_layers(folder / LAYERS_FILE, layers)
    if tables == "csv":
        write_csv_tables(folder, frames)
    else:
        write_tables(folder / TABLES_FILE, frames)
    return {name: len(frame) for name, frame in (layers | frames).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--grids", type=int, default=1000, help="number of grids (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--heads", type=int, default=2, help="household heads per community (default 2)")
    parser.add_argument(
        "--tables", choices=("xlsx", "csv"), default="xlsx", help="table format (default xlsx)"
    )
    parser.add_argument("--out", type=Path, required=True, help="directory to write")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = write_county(
        args.out, grids=args.grids, seed=args.seed, heads_per_community=args.heads, tables=args.tables
    )
    print(
        f"wrote {args.out} in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
