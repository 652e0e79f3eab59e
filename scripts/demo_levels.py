"""The demo county's grid levels, shops with 门前五包 frontages and buildings (issue 15), in local metres."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import MultiPoint, Point, Polygon

# Village names of the demo (invented, in the style of the region): each used once in the county.
# fmt: off
VILLAGE_NAMES = (
    "石门", "柳林", "桃园", "杨家", "王家", "河湾", "庙沟", "马鞍", "青山", "白石", "黄家", "李家",
    "新庄", "枣园", "龙口", "安沟", "三岔", "草店", "沙坝", "丰禾", "联合", "瓦房", "岭南", "梨园",
    "松林", "红岩", "双庙", "南岔", "马场", "九股", "酒奠", "庞家", "东河", "西沟", "上坝", "下坝",
    "中坪", "朱家", "金鸡", "核桃", "板房", "永生", "龙凤", "太平", "大石", "小峪", "长沟", "寨子",
)
NUMERALS = "一二三四五六七八九十"
# County-town grids (sequence) that get sub-grids, and how many towns' village grids each town has.
SUBGRID_PARENTS = ("002", "006", "007", "008", "011")
VILLAGES_PER_TOWN = (3, 5)  # inclusive range
GROUPS_PER_VILLAGE = (2, 4)
SUBGRIDS_PER_GRID = (2, 3)
# Shop categories: category, weight, name endings.
SHOP_CATEGORIES = (
    ("餐饮", 30, ("饭店", "面馆", "小吃店", "火锅店", "烧烤店", "包子铺", "凉皮店", "饺子馆", "快餐店")),
    ("零售", 28, ("超市", "便利店", "百货店", "副食店", "烟酒店", "水果店", "粮油店")),
    ("理发美容", 10, ("理发店", "美发店", "美容院", "美甲店")),
    ("维修", 8, ("家电维修部", "手机维修店", "修车铺", "五金店", "开锁店")),
    ("服装鞋帽", 10, ("服装店", "鞋店", "童装店", "布艺店")),
    ("药店", 5, ("大药房", "药店")),
    ("通讯", 4, ("通讯店", "手机店")),
    ("文印", 5, ("文印店", "图文快印", "书店")),
)
SHOP_WORDS = (
    "鑫源", "福满", "顺发", "金凤", "秦岭", "嘉陵", "凤凰", "兴旺", "好运", "如意", "家乐", "万家",
    "天天", "明星", "华联", "永安", "大众", "红星", "聚福", "阿香", "川味", "陕南", "老街", "同心",
    "美佳", "丽人", "时尚", "诚信", "便民", "惠民", "平安", "吉祥", "和顺", "东升", "宏达", "紫柏",
    "汇丰", "金鼎", "百姓", "佳佳", "小马", "大兴", "鸿运", "益民",
)
# fmt: on
# Half width of the carriageway (kerb, metres from the centre line) by street kind; pavement width.
KERB = {"主干道": 6.0, "次干道": 5.0, "商业大街": 4.0, "背街小巷": 3.0}
PAVEMENT = 4.0
SHOP_INSET = 2.0  # the shop's point lies this far behind its door
SHOP_SPACING = (24.0, 44.0)  # metres between neighbouring shops' centres along one side of a street
SHOP_WIDTH = (8.0, 14.0)  # frontage length along the street
CLEAR_OF_ENDS = 22.0  # no shop this close to a segment's end (a crossing or a grid border)


@dataclass
class Levels:
    """Rows (dicts with a local-metre ``geometry``) of the new layers and the grid_people table."""

    subgrids: list[dict] = field(default_factory=list)
    shops: list[dict] = field(default_factory=list)
    frontages: list[dict] = field(default_factory=list)
    buildings: list[dict] = field(default_factory=list)
    grid_people: list[dict] = field(default_factory=list)


# ---------------------------------------------------------------- polygons


def _largest(geom) -> Polygon | None:
    """The largest polygon part of a geometry (None when it has none)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    return max(parts, key=lambda p: p.area) if parts else None


def _cells(rng: np.random.Generator, area, n: int, *, spacing: float) -> list[Polygon]:
    """n Voronoi cells of seeds spread over ``area`` (at least ``spacing`` apart), clipped to it.

    Cells come in seed order; a seed's cell is the one that holds it.
    """
    minx, miny, maxx, maxy = area.bounds
    seeds: list[tuple[float, float]] = []
    for _ in range(20000):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(area, x, y) and all(np.hypot(x - a, y - b) >= spacing for a, b in seeds):
            seeds.append((x, y))
            if len(seeds) == n:
                break
    else:
        msg = f"only {len(seeds)} of {n} seeds fit"
        raise RuntimeError(msg)
    faces = shapely.get_parts(shapely.voronoi_polygons(MultiPoint(seeds), extend_to=area))
    out = []
    for x, y in seeds:
        face = faces[int(np.flatnonzero(shapely.contains_xy(faces, x, y))[0])]
        out.append(shapely.intersection(face, area))
    return out


def _north_to_south(polygons: list[Polygon]) -> list[Polygon]:
    """Polygons ordered by their centre: north to south, then west to east (for stable codes)."""
    centres = shapely.get_coordinates(shapely.centroid(polygons))
    order = np.lexsort((centres[:, 0], -np.round(centres[:, 1], -2)))
    return [polygons[i] for i in order]


def _children(rng, parent: Polygon, lo_hi: tuple[int, int], *, spare: int, gap: float) -> list[Polygon]:
    """Between lo and hi pieces of ``parent`` (Voronoi cells, ``spare`` of them left out), each
    shrunk by ``gap`` metres: they lie inside the parent, apart, and leave some of it uncovered."""
    n = int(rng.integers(lo_hi[0], lo_hi[1] + 1))
    spacing = 0.5 * np.sqrt(parent.area / (n + spare))
    cells = _cells(rng, parent, n + spare, spacing=spacing)
    keep = sorted(rng.choice(n + spare, n, replace=False).tolist())
    out = []
    for i in keep:
        piece = _largest(shapely.buffer(cells[i], -gap, join_style="mitre"))
        if piece is None or piece.area < 0.05 * parent.area / (n + spare):
            msg = "a grid piece vanished when shrunk"
            raise RuntimeError(msg)
        out.append(shapely.simplify(piece, 0.5))
    return _north_to_south(out)


def make_subgrids(
    rng, *, towns, town_codes, county_town: Polygon, grids, grid_codes, grid_names
) -> list[dict]:
    """Village grids in every town (clear of the county town), group grids in every village,
    sub-grids in some county-town grids. Codes extend the parent's: village = town + 2xx,
    group = village + 2 digits, sub-grid = county-town grid + 2 digits."""
    names = iter(rng.permutation(VILLAGE_NAMES).tolist())
    rows: list[dict] = []
    for town, code in zip(towns, town_codes):
        room = shapely.buffer(town, -150.0, join_style="mitre").difference(county_town.buffer(400.0))
        villages = _children(rng, room, VILLAGES_PER_TOWN, spare=2, gap=80.0)
        for v, village in enumerate(villages, start=1):
            v_code, v_name = f"{code}{200 + v:03d}", f"{next(names)}村"
            rows.append(
                {"code": v_code, "name": v_name, "parent_code": code, "level": "村", "geometry": village}
            )
            groups = _children(rng, village, GROUPS_PER_VILLAGE, spare=0, gap=50.0)
            for g, group in enumerate(groups, start=1):
                rows.append({
                    "code": f"{v_code}{g:02d}", "name": f"{v_name}{NUMERALS[g - 1]}组",
                    "parent_code": v_code, "level": "组", "geometry": group,
                })  # fmt: skip
    for grid, code, name in zip(grids, grid_codes, grid_names):
        if code[-3:] not in SUBGRID_PARENTS:
            continue
        room = shapely.buffer(grid, -10.0, join_style="mitre")
        for s, sub in enumerate(_children(rng, room, SUBGRIDS_PER_GRID, spare=1, gap=8.0), start=1):
            rows.append({
                "code": f"{code}{s:02d}", "name": f"{name.removesuffix('网格')}{NUMERALS[s - 1]}号子网格",
                "parent_code": code, "level": "子网格", "geometry": sub,
            })  # fmt: skip
    return rows


# ---------------------------------------------------------------- people


def make_grid_people(rng, people, *, town_codes, grid_codes, subgrids: list[dict]) -> list[dict]:
    """Town cadres, grid members of the county-town grids, village secretaries and grid members,
    group grid members and volunteers, sub-grid members and volunteers; fictitious names and phones."""
    rows: list[dict] = []

    def add(code: str, role: str, count: int) -> None:
        for _ in range(count):
            rows.append({"grid_code": code, "name": people.name(), "role": role, "phone": people.mobile()})

    for code in town_codes:
        add(code, "镇干部", int(rng.integers(2, 4)))
    for code in grid_codes:
        add(code, "网格员", 2)
    for sub in subgrids:
        if sub["level"] == "村":
            add(sub["code"], "村书记", 1)
            add(sub["code"], "网格员", int(rng.integers(1, 3)))
        else:  # 组 and 子网格
            add(sub["code"], "网格员", 1)
            add(sub["code"], "志愿者", int(rng.integers(1, 3)))
    return rows


# ---------------------------------------------------------------- shops and frontages


class _ShopNames:
    """Shop names by category, none repeated."""

    def __init__(self, rng, surnames: str) -> None:
        self.rng, self.surnames, self.used = rng, list(surnames), set()
        weights = np.array([w for _, w, _ in SHOP_CATEGORIES], dtype=float)
        self.p = weights / weights.sum()

    def next(self) -> tuple[str, str]:
        k = int(self.rng.choice(len(SHOP_CATEGORIES), p=self.p))
        category, _, endings = SHOP_CATEGORIES[k]
        while True:
            if self.rng.random() < 0.3:  # 张记面馆
                word = str(self.rng.choice(self.surnames)) + "记"
            else:
                word = str(self.rng.choice(SHOP_WORDS))
            name = word + str(self.rng.choice(endings))
            if name not in self.used:
                self.used.add(name)
                return category, name


def make_shops(
    rng, people, *, segs, roads, grids, water, communities, streets: tuple[str, ...], surnames: str
):
    """Shops on both sides of the commercial streets, each with its 门前五包 frontage: the strip of
    pavement between the kerb and its door. Shops keep clear of crossings, grid borders, water,
    communities and other streets. Returns (shops, frontages) rows."""
    lines = [s.line for s in segs]
    tree = shapely.STRtree(lines)
    homes = shapely.union_all([c["geometry"] for c in communities])
    shapely.prepare(water)
    shapely.prepare(homes)
    names = _ShopNames(rng, surnames)
    shops: list[dict] = []
    fronts: list[dict] = []
    numbers: dict[tuple[str, int], set] = {}
    order = sorted(
        (i for i, s in enumerate(segs) if roads[s.road].name in streets),
        key=lambda i: (streets.index(roads[segs[i].road].name), segs[i].order),
    )
    for i in order:
        s, road = segs[i], roads[segs[i].road]
        kerb = KERB[road.kind]
        room = shapely.buffer(grids[s.grid], -3.0)
        for side in (1, -1):  # left, right of the segment's direction
            at = CLEAR_OF_ENDS + rng.uniform(0, SHOP_SPACING[0])
            while at < s.line.length - CLEAR_OF_ENDS:
                half = rng.uniform(*SHOP_WIDTH) / 2
                a, b = shapely.get_coordinates(shapely.line_interpolate_point(s.line, [at - half, at + half]))
                along = (b - a) / np.hypot(*(b - a))
                normal = side * np.array([-along[1], along[0]])
                door = kerb + PAVEMENT
                front = Polygon([a + kerb * normal, b + kerb * normal, b + door * normal, a + door * normal])
                spot = Point(*((a + b) / 2 + (door + SHOP_INSET) * normal))
                near = tree.query(front.buffer(8.0), predicate="intersects")
                clear = (
                    set(near.tolist()) == {i}
                    and room.contains(front)
                    and room.contains(spot)
                    and not water.intersects(front.buffer(3.0))
                    and not homes.intersects(spot.buffer(1.0))
                )
                if clear:
                    category, name = names.next()
                    number = int(road.line.project(spot) // 10) * 2 + (1 if side == 1 else 2)
                    taken = numbers.setdefault((road.name, side), set())
                    while number in taken:
                        number += 2
                    taken.add(number)
                    code = f"SH{len(shops) + 1:04d}"
                    shops.append({
                        "code": code, "name": name, "category": category,
                        "address": f"凤县双石铺镇{road.name}{number}号",
                        "owner": people.name(), "owner_phone": people.mobile(), "geometry": spot,
                    })  # fmt: skip
                    fronts.append({"shop_code": code, "geometry": front})
                at += rng.uniform(*SHOP_SPACING)
    return shops, fronts


# ---------------------------------------------------------------- buildings


def make_buildings(rng, communities: list[dict], heads: list[dict]) -> list[dict]:
    """Numbered buildings in rows inside each community (1号楼 … n号楼, n at least the highest
    number a household head names), and each household head bound to its building's code."""
    wanted: dict[str, int] = {}
    for head in heads:
        number = int(re.fullmatch(r"(\d+)号楼", head["building"]).group(1))
        wanted[head["community_code"]] = max(wanted.get(head["community_code"], 0), number)
    rows: list[dict] = []
    for c in communities:
        n = max(wanted.get(c["code"], 0), int(rng.integers(4, 13)))
        shape = c["geometry"]
        if shape.geom_type != "Polygon":  # a point community: its buildings are points on it
            plots = [shape.representative_point()] * n
        else:
            plots = _rows_of_buildings(shape, n)
        for b, plot in enumerate(plots, start=1):
            rows.append({
                "code": f"{c['code']}-{b:02d}", "name": f"{c['name']}{b}号楼",
                "community_code": c["code"], "geometry": plot,
            })  # fmt: skip
    for head in heads:
        number = int(head["building"].removesuffix("号楼"))
        head["building_code"] = f"{head['community_code']}-{number:02d}"
    return rows


def _rows_of_buildings(block: Polygon, n: int) -> list[Polygon]:
    """n building footprints in rows and columns across a (turned) rectangular block, row by row."""
    c0, c1, _, c3 = shapely.get_coordinates(block.exterior)[:4]
    u, v = c1 - c0, c3 - c0  # the block's two sides
    cols = max(1, int(np.ceil(np.sqrt(n * np.hypot(*u) / np.hypot(*v)))))
    rows = int(np.ceil(n / cols))
    out = []
    for k in range(n):
        r, q = divmod(k, cols)
        u0, u1 = 0.05 + 0.9 * (q + 0.15) / cols, 0.05 + 0.9 * (q + 0.85) / cols
        v0, v1 = 0.95 - 0.9 * (r + 0.8) / rows, 0.95 - 0.9 * (r + 0.2) / rows
        corners = [c0 + x * u + y * v for x, y in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))]
        out.append(Polygon(corners))
    return out
