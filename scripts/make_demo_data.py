"""Generate the deterministic demo county (凤县, 610330): GeoPackage layers, XLSX tables, README."""

from __future__ import annotations

import argparse
import sys
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pyogrio
import shapely
from openpyxl.writer.excel import ExcelWriter
from pyproj import Transformer
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from shapely import LineString, Point, Polygon

from gridmap.model import LAYERS, LAYERS_FILE, TABLES, TABLES_FILE

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_levels

SEED = 610330
SEAT_LONLAT = (106.52, 33.91)  # 双石铺镇, the county seat: origin of the local metre frame
METRIC_CRS = "EPSG:4545"  # CGCS2000 / 3-degree Gauss-Kruger CM 108E
STORE_CRS = "EPSG:4326"
DECIMALS = 8  # lon/lat decimals written (about 1 mm)
FIXED_DATE = (2024, 1, 1, 0, 0, 0)  # every timestamp inside the written files
TOWN_CODE = "610330100"  # 双石铺镇: the county town lies in it

# code, name, centre in km east/north of the seat (a synthetic layout)
TOWNS = (
    ("610330100", "双石铺镇", (0.0, 0.0)),
    ("610330101", "凤州镇", (9.0, 4.0)),
    ("610330102", "黄牛铺镇", (9.0, 12.0)),
    ("610330103", "红花铺镇", (-1.0, 13.0)),
    ("610330104", "河口镇", (-10.0, 9.0)),
    ("610330105", "唐藏镇", (13.0, -4.0)),
    ("610330106", "平木镇", (-13.0, -2.0)),
    ("610330107", "坪坎镇", (-7.0, -11.0)),
    ("610330108", "留凤关镇", (5.0, -12.0)),
)

# The county town (metres east/north of the seat): a convex built-up area of about 3.1 x 2.0 km.
TOWN_OUTLINE = (
    (-1550, -700), (-1100, -950), (-300, -1000), (500, -980), (1200, -900), (1560, -500),
    (1540, 300), (1450, 900), (700, 1020), (-200, 1000), (-1000, 920), (-1500, 600), (-1580, 0),
)  # fmt: skip

# sequence, name, a point inside it (metres); rows north to south, columns west to east
GRIDS = (
    ("001", "西关网格", (-1150, 700)),
    ("002", "汉中路网格", (-380, 700)),
    ("003", "解放路网格", (380, 700)),
    ("004", "东关网格", (1150, 650)),
    ("005", "安河网格", (-1150, 50)),
    ("006", "老街网格", (-380, 50)),
    ("007", "新建路网格", (380, 50)),
    ("008", "滨江网格", (1150, 50)),
    ("009", "西坝网格", (-1150, -750)),
    ("010", "江南网格", (-380, -800)),
    ("011", "嘉陵网格", (380, -800)),
    ("012", "迎宾网格", (1150, -650)),
)
BIG_GRIDS = ("006", "002", "007")  # the three grids that get three county leaders
COMMUNITY_QUOTA = (9, 10, 9, 9, 9, 10, 10, 9, 9, 10, 9, 9)  # per grid, 112 in all

# Streets, major first: name, kind, shape, names of the two loose ends. Shape is an offset from
# the river's centre line (float, metres to its left), or vertices (x, y) where y may be the
# name of a street drawn before: the point on that street at x.
STREETS = (
    ("滨江路", "主干道", 70.0, ("西坝桥头", "东河口")),
    ("凤州路", "主干道", ((-1700, -60), (-800, -25), (0, 0), (800, 30), (1700, 55)),
     ("城区西入口", "城区东入口")),
    ("新建路", "主干道", ((-1700, 190), (0, 215), (1700, 240)), ("西关村", "东关村")),
    ("汉中路", "主干道", ((-1700, 555), (0, 575), (1700, 600)), ("北坡村", "东沟村")),
    ("嘉陵路", "主干道", ((-1700, -640), (-600, -700), (400, -715), (1700, -640)),
     ("西坝村", "东河村")),
    ("迎宾大道", "主干道", ((1650, -1050), (1060, -560), (1010, 0), (1020, 1200)),
     ("凤县收费站", "北山")),
    ("人民路", "主干道", ((-190, -1200), (-170, 1200)), ("南山脚", "北坡")),
    ("解放路", "次干道", ((-1700, 795), (0, 810), (1700, 830)), ("北坡村", "北山")),
    ("江南路", "次干道", -70.0, ("西坝村", "东河村")),
    ("南环路", "次干道", ((-1000, -870), (300, -900), (1000, -850)), ("西坝村", "东河村")),
    ("西关街", "次干道", ((-1310, -1200), (-1290, 1200)), ("西坝村", "西山")),
    ("紫柏路", "次干道", ((250, -1200), (260, 1200)), ("南山脚", "北山")),
    ("安河路", "次干道", ((-1010, "滨江路"), (-1000, 1200)), ("滨江路", "北坡")),
    ("文化路", "次干道", ((-400, "滨江路"), (-395, 1200)), ("滨江路", "北坡")),
    ("育才路", "次干道", ((500, "滨江路"), (510, 1200)), ("滨江路", "北山")),
    ("秦岭路", "次干道", ((1300, "滨江路"), (1310, 1200)), ("滨江路", "东山")),
    ("西坝路", "次干道", ((-1000, "江南路"), (-995, -1200)), ("江南路", "西坝村")),
    ("车站路", "次干道", ((-620, "江南路"), (-615, -1200)), ("江南路", "南山脚")),
    ("南街", "次干道", ((560, "江南路"), (565, -1200)), ("江南路", "南山脚")),
    ("东河路", "次干道", ((1300, "江南路"), (1305, "嘉陵路")), ("江南路", "嘉陵路")),
    ("老街", "商业大街", ((-650, "滨江路"), (-600, -80), (-560, 60), (-520, "新建路")),
     ("滨江路", "新建路")),
)  # fmt: skip
# Back lanes: name, street a, street b, x (or y) where the lane runs, whether it runs north-south.
LANES = (
    ("书院巷", "汉中路", "解放路", -1150, True),
    ("北坡巷", "汉中路", "解放路", -880, True),
    ("火神庙巷", "汉中路", "解放路", -580, True),
    ("马道巷", "文化路", "人民路", 690, False),
    ("槐树巷", "汉中路", "解放路", 120, True),
    ("学巷", "汉中路", "解放路", 630, True),
    ("东关巷", "汉中路", "解放路", 880, True),
    ("药王巷", "迎宾大道", "秦岭路", 700, False),
    ("水井巷", "凤州路", "新建路", -1150, True),
    ("油坊巷", "滨江路", "凤州路", -880, True),
    ("城隍庙巷", "文化路", "人民路", 100, False),
    ("粮站巷", "凤州路", "新建路", 380, True),
    ("文庙巷", "滨江路", "凤州路", 640, True),
    ("铁匠巷", "凤州路", "新建路", 1160, True),
    ("柳巷", "滨江路", "凤州路", 880, True),
    ("杨家巷", "江南路", "嘉陵路", -1150, True),
    ("王家巷", "嘉陵路", "南环路", -870, True),
    ("南关巷", "江南路", "嘉陵路", -400, True),
    ("纸坊巷", "车站路", "人民路", -800, False),
    ("新民巷", "江南路", "嘉陵路", 110, True),
    ("河坝巷", "嘉陵路", "南环路", 420, True),
    ("东河巷", "江南路", "嘉陵路", 880, True),
)
COMMERCIAL_STREETS = ("老街", "凤州路", "汉中路")

# fmt: off
LEADER_TITLES = (
    "县委书记", "县委副书记、县长", "县人大常委会主任", "县政协主席", "县委副书记",
    "县委常委、常务副县长", "县委常委、县纪委书记、县监委主任", "县委常委、组织部部长",
    "县委常委、宣传部部长", "县委常委、统战部部长", "县委常委、政法委书记",
    "县委常委、县委办公室主任", "县委常委、副县长", "县委常委、县人武部部长",
    "副县长", "副县长、县公安局局长", "副县长", "副县长", "副县长",
    "县人大常委会副主任", "县人大常委会副主任", "县人大常委会副主任",
    "县政协副主席", "县政协副主席", "县政协副主席", "县法院院长", "县检察院检察长",
)
LIAISON_LEADERS = tuple(range(14, 23))  # indexes into LEADER_TITLES, one per town in TOWNS order

# The twelve lead departments, in grid order 001..012.
LEAD_UNITS = (
    "县城管执法局", "县住建局", "县市场监管局", "县发改局", "县农业农村局", "县文化和旅游局",
    "县教育局", "县卫健局", "县民政局", "县交通运输局", "县自然资源局", "县财政局",
)
UNITS = (  # kind, names; unit codes follow this order
    ("党群部门", (
        "县委办公室", "县人大常委会办公室", "县政府办公室", "县政协办公室", "县纪委监委",
        "县委组织部", "县委宣传部", "县委统战部", "县委政法委", "县委编办", "县委网信办",
        "县委老干部局", "县直机关工委", "县委党校", "县委巡察办", "县总工会", "团县委",
        "县妇联", "县科协", "县残联", "县工商联", "县文联", "县红十字会",
    )),
    ("县级部门", (
        "县发改局", "县教育局", "县科技局", "县工信局", "县公安局", "县民政局", "县司法局",
        "县财政局", "县人社局", "县自然资源局", "县住建局", "县交通运输局", "县水利局",
        "县农业农村局", "县商务局", "县文化和旅游局", "县卫健局", "县退役军人事务局",
        "县应急管理局", "县审计局", "县统计局", "县市场监管局", "县医保局", "县林业局",
        "县城管执法局", "县行政审批服务局", "县信访局", "县乡村振兴局", "县国资办",
        "县投资促进局",
    )),
    ("驻县单位", (
        "县公安局交警大队", "县消防救援大队", "县税务局", "县气象局", "县烟草专卖局",
        "市生态环境局凤县分局", "县人民法院", "县人民检察院", "县人武部",
        "县公安局双石铺派出所", "县公安局江南派出所", "县车辆管理所", "县公路管理段",
        "县住房公积金管理部",
    )),
    ("事业单位", (
        "县融媒体中心", "县档案馆", "凤县图书馆", "凤县文化馆", "县博物馆", "县疾控中心",
        "凤县医院", "凤县中医医院", "凤县妇幼保健院", "县社会保险经办中心", "县不动产登记中心",
        "县公共资源交易中心", "凤县政务服务中心", "县环境卫生管理站", "县园林绿化管理站",
        "县市政设施管理所", "县农业技术推广中心", "县就业服务中心", "县社会福利中心",
        "县体育运动中心", "凤县青少年校外活动中心", "凤县新时代文明实践中心",
    )),
    ("学校", (
        "凤县中学", "凤县职业教育中心", "双石铺中学", "双石铺镇中心小学", "凤县西关小学",
        "凤县江南小学", "凤县实验小学", "凤县城关幼儿园", "凤县第二幼儿园", "凤县特殊教育学校",
    )),
    ("国有企业", (
        "国网凤县供电分公司", "中国移动凤县分公司", "中国联通凤县分公司", "中国电信凤县分公司",
        "中国邮政凤县分公司", "县自来水公司", "县燃气公司", "县城投公司", "县公交公司",
        "县旅游投资公司", "中国石化凤县分公司", "中国石油凤县销售站", "县国有资产运营公司",
        "县供销联社", "县粮食储备公司", "中国铁塔凤县分公司", "广电网络凤县支公司",
        "县保安服务公司",
    )),
    ("金融机构", (
        "工商银行凤县支行", "农业银行凤县支行", "建设银行凤县支行", "中国银行凤县支行",
        "邮储银行凤县支行", "凤县农商银行", "人保财险凤县支公司", "中国人寿凤县支公司",
        "人民银行凤县支行",
    )),
    ("镇（街道）社区", (
        "双石铺镇人民政府", "西关社区居委会", "东关社区居委会", "滨江社区居委会",
        "江南社区居委会", "老街社区居委会",
    )),
)

# Inspection point categories: category, count, how placed, names. How: "road" on a street
# segment, "roadside" beside one, "community" in a residential community, "edge" near the edge
# of town, "place" anywhere free in a grid. A place whose name starts with a unit's name lies in
# that unit's grid and belongs to it.
CATEGORIES = (
    ("农贸市场", 4, "place", ("双石铺农贸市场", "西关农贸市场", "江南农贸市场", "东关便民市场")),
    ("学校", 10, "place", UNITS[4][1]),
    ("医院", 4, "place", ("凤县医院", "凤县中医医院", "凤县妇幼保健院", "双石铺镇卫生院")),
    ("公交站点", 10, "roadside", ()),
    ("公共厕所", 9, "roadside", ()),
    ("背街小巷", 10, "road", ()),
    ("主次干道", 10, "road", ()),
    ("商业大街", 3, "road", ()),
    ("居民小区", 14, "community", ()),
    ("窗口单位", 8, "place", (
        "县不动产登记中心", "县社会保险经办中心", "县住房公积金管理部", "县车辆管理所",
        "县税务局办税服务厅", "县公安局户政服务大厅", "县医保局服务大厅", "国网凤县供电分公司营业厅",
    )),
    ("车站", 2, "place", ("凤县汽车客运站", "凤县城乡公交枢纽站")),
    ("广场", 3, "place", ("凤凰广场", "嘉陵江广场", "文化广场")),
    ("公园", 3, "place", ("凤凰湖公园", "滨江公园", "西山森林公园")),
    ("景区", 2, "place", ("嘉陵江滨水景区", "凤凰湖景区")),
    ("图书馆", 1, "place", ("凤县图书馆",)),
    ("文化馆", 1, "place", ("凤县文化馆",)),
    ("新时代文明实践所", 3, "place", (
        "凤县新时代文明实践中心", "双石铺镇新时代文明实践所", "江南社区新时代文明实践站",
    )),
    ("社区服务中心", 6, "place", (
        "西关社区服务中心", "东关社区服务中心", "滨江社区服务中心", "江南社区服务中心",
        "新建路社区服务中心", "老街社区服务中心",
    )),
    ("建筑工地", 5, "place", (
        "滨江花园二期项目工地", "县医院综合楼项目工地", "江南安置小区项目工地",
        "迎宾大道改造工程工地", "县职教中心实训楼项目工地",
    )),
    ("餐饮街区", 3, "place", ("老街美食街", "滨江夜市", "嘉陵江美食城")),
    ("宾馆酒店", 6, "place", (
        "凤县宾馆", "嘉陵江大酒店", "凤凰大酒店", "秦岭假日酒店", "滨江商务酒店", "紫柏山庄酒店",
    )),
    ("银行网点", 6, "place", UNITS[6][1][:6]),
    ("政务服务中心", 1, "place", ("凤县政务服务中心",)),
    ("加油站", 3, "place", ("中国石化城区加油站", "中国石油迎宾加油站", "中国石化江南加油站")),
    ("停车场", 4, "place", ("老街停车场", "县医院停车场", "滨江公共停车场", "汽车站停车场")),
    ("城乡结合部", 3, "edge", ("西坝村城乡结合部", "东沟村城乡结合部", "北坡村城乡结合部")),
    ("网吧", 3, "place", ("飞扬网咖", "星际网吧", "极速网咖")),
    ("未成年人活动场所", 2, "place", ("凤县青少年校外活动中心", "凤县未成年人心理辅导站")),
)
# The unit that answers for a category in a grid where that unit works.
THEME_UNIT = {
    "农贸市场": "县市场监管局", "医院": "县卫健局", "餐饮街区": "县市场监管局",
    "宾馆酒店": "县文化和旅游局", "网吧": "县文化和旅游局", "景区": "县文化和旅游局",
    "建筑工地": "县住建局", "加油站": "县应急管理局", "停车场": "县公安局交警大队",
    "车站": "县交通运输局", "广场": "县城管执法局", "公园": "县园林绿化管理站",
    "社区服务中心": "县民政局", "城乡结合部": "双石铺镇人民政府",
}
# Street kinds a point of a street category sits on.
STREET_KINDS = {
    "公交站点": ("主干道", "次干道"), "主次干道": ("主干道", "次干道"), "背街小巷": ("背街小巷",),
    "公共厕所": ("主干道", "次干道", "背街小巷", "商业大街"),
}

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶贺顾毛郝"
)
GIVEN = (
    "建国军伟强磊勇涛明华平刚斌辉鹏超峰波杰亮红芳丽敏静娟霞燕莉艳宏文海林宁晓志永春玉兰荣德"
    "利新卫东生俊瑞博浩雪梅婷琳慧萍彬岚凯帆群英忠诚安康颖洁嘉怡振兴"
)
MOBILE_PREFIXES = (
    "139", "138", "137", "135", "158", "159", "150", "151", "187", "188", "182",
    "130", "131", "155", "156", "186", "133", "153", "180", "189", "177", "199",
)
COMPANIES = (  # fictitious property management companies
    "凤县嘉和物业服务有限公司", "凤县凤鸣物业管理有限公司", "宝鸡秦岭物业服务有限公司",
    "宝鸡恒信物业服务有限公司", "凤县安泰物业服务有限公司", "凤县锦华物业管理有限公司",
    "宝鸡万家物业服务有限公司", "凤县城投物业服务有限公司",
)
ESTATE_PREFIXES = (
    "凤凰", "紫柏", "秦岭", "锦绣", "阳光", "金色", "翠苑", "盛世", "幸福", "和谐", "御景",
    "碧水", "福苑", "祥和", "康乐", "明珠", "怡景", "绿洲", "兴盛", "嘉陵", "滨江", "江南",
)
ESTATE_SUFFIXES = ("花园", "小区", "家园", "华庭", "名居", "佳苑", "新城", "雅居", "嘉园", "丽景")
COMPOUNDS = (  # old staff compounds, typically without a property company
    "县医院家属院", "供电家属院", "粮站家属院", "农行家属院", "教育局家属院", "水电局家属院",
    "林业局家属院", "交通局家属院", "邮电家属院", "税务家属院", "二轻局家属院", "物资局家属院",
    "县委家属院", "政府家属院", "商业局家属院", "供销社家属院", "卫生局家属院", "公路段家属院",
)
# fmt: on


# ---------------------------------------------------------------- geometry helpers


def _wiggle(line: LineString, rng: np.random.Generator, *, amplitude: float, spacing: float):
    """Bend a straight line with smooth noise across it; both end points stay exactly put."""
    xy = shapely.get_coordinates(shapely.segmentize(line, spacing))
    t = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
    t /= t[-1]
    p = rng.uniform(0.0, 2 * np.pi, 2)
    wave = 0.6 * np.sin(3 * np.pi * t + p[0]) + 0.4 * np.sin(7 * np.pi * t + p[1])
    shift = amplitude * np.sin(np.pi * t) * wave
    shift[[0, -1]] = 0.0  # exactly: the ends are nodes shared with other lines
    along = (xy[-1] - xy[0]) / np.hypot(*(xy[-1] - xy[0]))
    return LineString(xy + shift[:, None] * np.array([-along[1], along[0]]))


def _tile(outline: Polygon, cuts: list[LineString], anchors) -> list[Polygon]:
    """The outline cut by lines into faces that share every boundary vertex; one per anchor."""
    noded = shapely.unary_union([outline.exterior, *cuts])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.contains(outline, shapely.point_on_surface(faces))]
    order = [int(np.flatnonzero(shapely.contains_xy(faces, x, y))[0]) for x, y in anchors]
    if sorted(order) != list(range(len(faces))):
        msg = f"{len(faces)} faces do not pair with {len(anchors)} anchors"
        raise RuntimeError(msg)
    return [faces[i] for i in order]


def _river_y(x):
    """The 嘉陵江's centre line through town: y as a function of x (metres)."""
    return -330.0 + 120.0 * np.sin(2 * np.pi * np.asarray(x) / 3200.0 + 0.6)


def _to_lonlat(geoms: list, origin: tuple[float, float]) -> np.ndarray:
    """Local metres east/north of the seat to EPSG:4326 lon/lat, rounded to DECIMALS."""
    back = Transformer.from_crs(METRIC_CRS, STORE_CRS, always_xy=True)

    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = back.transform(xy[:, 0] + origin[0], xy[:, 1] + origin[1])
        return np.round(np.column_stack([lon, lat]), DECIMALS)

    return shapely.transform(np.asarray(geoms, dtype=object), convert)


# ---------------------------------------------------------------- county, towns, river, grids


def make_towns(rng: np.random.Generator) -> list[Polygon]:
    """Nine towns tiling a synthetic county of about 40 x 40 km: Voronoi cells, bent borders."""
    angle = np.linspace(0.0, 2 * np.pi, 40, endpoint=False)
    p = rng.uniform(0.0, 2 * np.pi, 2)
    radius = 19500 + 1800 * np.sin(2 * angle + p[0]) + 900 * np.sin(5 * angle + p[1])
    county = Polygon(np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]))
    centres = [(x * 1000, y * 1000) for _, _, (x, y) in TOWNS]
    cells = shapely.voronoi_polygons(shapely.MultiPoint(centres), extend_to=county.buffer(5000))
    edges = shapely.get_parts(shapely.unary_union(shapely.boundary(shapely.get_parts(cells))))
    bent = [_wiggle(e, rng, amplitude=min(700.0, 0.08 * e.length), spacing=400.0) for e in edges]
    towns = _tile(county, bent, centres)
    if not towns[0].buffer(-1000).contains(Polygon(TOWN_OUTLINE)):
        raise RuntimeError("the county town must lie well inside 双石铺镇")
    return towns


def make_rivers() -> tuple[dict[str, Polygon], LineString]:
    """The 嘉陵江 (80 m wide) through town, the 安河 (50 m) joining it west of town; centre line."""
    x = np.arange(-4000.0, 4000.1, 50.0)
    centre = LineString(np.column_stack([x, _river_y(x)]))
    anhe = LineString([(-3600, 1900), (-2600, 950), (-2000, 250), (-1750, float(_river_y(-1750)))])
    jialing = centre.buffer(40.0, cap_style="flat")
    return {"嘉陵江": jialing, "安河": anhe.buffer(25.0, cap_style="flat").difference(jialing)}, centre


def make_grids(rng: np.random.Generator, river: LineString) -> tuple[list[Polygon], object]:
    """Twelve grids tiling the county town, cut by the river and four bent lines; inner borders."""
    cuts = [river, _wiggle(LineString([(-1800, 400), (1800, 410)]), rng, amplitude=25, spacing=150)]
    for x0 in (-750, 0, 750):
        line = LineString([(x0, -1300), (x0 + 10, 1300)])
        cuts.append(_wiggle(line, rng, amplitude=25, spacing=150))
    town = Polygon(TOWN_OUTLINE)
    grids = _tile(town, cuts, [anchor for _, _, anchor in GRIDS])
    return grids, shapely.intersection(shapely.union_all(cuts), town)


# ---------------------------------------------------------------- streets


@dataclass(frozen=True)
class Road:
    """A named street before noding: its line in local metres and names for its loose ends."""

    name: str
    kind: str  # 主干道 | 次干道 | 商业大街 | 背街小巷
    line: LineString
    ends: tuple[str, str]


@dataclass
class Segment:
    """A responsibility segment: a piece of a road between two nodes, inside one grid."""

    road: int
    order: int  # position along the road
    line: LineString
    grid: int = -1
    from_name: str = ""
    to_name: str = ""
    code: str = ""
    unit: str = ""


def _extend(line: LineString, over: float) -> LineString:
    """The line drawn `over` metres past both ends, so that it properly crosses what it meets."""
    xy = shapely.get_coordinates(line)
    head, tail = xy[0] - xy[1], xy[-1] - xy[-2]
    xy[0] += over * head / np.hypot(*head)
    xy[-1] += over * tail / np.hypot(*tail)
    return LineString(xy)


def _cross(line: LineString, at: float, *, vertical: bool = True) -> np.ndarray:
    """Where a line crosses x=at (or y=at when not vertical)."""
    probe = LineString([(at, -9000), (at, 9000)] if vertical else [(-9000, at), (9000, at)])
    return shapely.get_coordinates(shapely.intersection(line, probe))[0]


def make_roads(river: LineString) -> list[Road]:
    """The named streets and lanes of the county town, clipped to its outline."""
    lines: dict[str, LineString] = {}
    for name, _, shape, _ in STREETS:
        if isinstance(shape, float):
            lines[name] = river.offset_curve(shape)
        else:
            xy = [(x, y if isinstance(y, int) else _cross(lines[y], x)[1]) for x, y in shape]
            lines[name] = _extend(LineString(xy), 8.0)
    for name, a, b, at, vertical in LANES:
        ends = [_cross(lines[street], at, vertical=vertical) for street in (a, b)]
        lines[name] = _extend(LineString(ends), 8.0)
    specs = [(name, kind, ends) for name, kind, _, ends in STREETS]
    specs += [(name, "背街小巷", (a, b)) for name, a, b, _, _ in LANES]
    town = Polygon(TOWN_OUTLINE)
    return [Road(name, kind, lines[name].intersection(town), ends) for name, kind, ends in specs]


def _crossings(a, b) -> list[tuple[float, float]]:
    """Points where two lines cross, rounded to the millimetre; a shared stretch is an error."""
    parts = [p for p in shapely.get_parts(shapely.intersection(a, b)) if not p.is_empty]
    if any(p.geom_type != "Point" for p in parts):
        msg = f"lines overlap along a stretch near {parts[0].representative_point()}"
        raise RuntimeError(msg)
    return [tuple(np.round(p.coords[0], 3).tolist()) for p in parts]


def _split(line: LineString, points: list[tuple[float, float]]) -> list[LineString]:
    """Cut a line at points on it; each cut point's coordinates end both pieces exactly."""
    xy = shapely.get_coordinates(line)
    s = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
    d = shapely.line_locate_point(line, shapely.points(points)) if points else np.empty(0)
    keep = np.all(np.abs(s[:, None] - d[None, :]) > 0.01, axis=1)
    events = sorted(
        [(si, False, tuple(c)) for si, c, k in zip(s.tolist(), xy.tolist(), keep) if k]
        + [(di, True, c) for di, c in zip(d.tolist(), points)]
    )
    pieces, current = [], []
    for _, is_cut, c in events:
        current.append(c)
        if is_cut:
            if len(current) >= 2:
                pieces.append(LineString(current))
            current = [c]
    if len(current) >= 2:
        pieces.append(LineString(current))
    return pieces


def _node(lines: list[LineString], borders) -> list[list[LineString]]:
    """Split every line where it crosses another line or a grid border."""
    cuts: list[set] = [set(_crossings(line, borders)) for line in lines]
    left, right = shapely.STRtree(lines).query(lines, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist()):
        if i < j:
            points = _crossings(lines[i], lines[j])
            cuts[i].update(points)
            cuts[j].update(points)
    return [_split(line, sorted(c)) for line, c in zip(lines, cuts)]


def _drop_stubs(segs: list[Segment], shorter_than: float) -> list[Segment]:
    """Drop short loose ends: streets are drawn a little past the street they meet."""
    while True:
        degree: dict = defaultdict(int)
        for s in segs:
            degree[s.line.coords[0]] += 1
            degree[s.line.coords[-1]] += 1
        loose = [min(degree[s.line.coords[0]], degree[s.line.coords[-1]]) == 1 for s in segs]
        kept = [s for s, end in zip(segs, loose) if s.line.length >= shorter_than or not end]
        if len(kept) == len(segs):
            return segs
        segs = kept


def _check_connected(segs: list[Segment]) -> None:
    """The street graph (nodes: segment ends) must be one connected component."""
    nodes: dict = {}
    a, b = np.array([[nodes.setdefault(s.line.coords[k], len(nodes)) for k in (0, -1)] for s in segs]).T
    graph = coo_array((np.ones(len(a)), (a, b)), shape=(len(nodes), len(nodes)))
    n, _ = connected_components(graph, directed=False)
    if n != 1:
        msg = f"the street graph falls into {n} pieces"
        raise RuntimeError(msg)


def make_segments(roads: list[Road], grids: list[Polygon], borders) -> list[Segment]:
    """Noded street pieces, each inside one grid, with the names of what their ends meet."""
    pieces = _node([r.line for r in roads], borders)
    segs = [Segment(i, k, piece) for i, parts in enumerate(pieces) for k, piece in enumerate(parts)]
    segs = _drop_stubs(segs, shorter_than=15.0)
    lines = [s.line for s in segs]
    middle, grid = shapely.STRtree(grids).query(
        shapely.line_interpolate_point(lines, 0.5, normalized=True), predicate="within"
    )
    if middle.tolist() != list(range(len(segs))):
        raise RuntimeError("every street piece must lie in exactly one grid")
    if not shapely.covers(shapely.buffer(np.asarray(grids)[grid], 0.01), lines).all():
        raise RuntimeError("a street piece crosses a grid border")
    for s, g in zip(segs, grid.tolist()):
        s.grid = g
    _name_ends(segs, roads)
    _check_connected(segs)
    return segs


def _name_ends(segs: list[Segment], roads: list[Road]) -> None:
    """from/to names: the crossing street, the neighbouring grid, or the street's own end."""
    at_node: dict = defaultdict(list)
    for s in segs:
        at_node[s.line.coords[0]].append(s)
        at_node[s.line.coords[-1]].append(s)
    for s in segs:
        names = []
        for c in (s.line.coords[0], s.line.coords[-1]):
            others = sorted({o.road for o in at_node[c]} - {s.road})
            grids = sorted({o.grid for o in at_node[c]} - {s.grid})
            if others:
                names.append(f"{roads[others[0]].name}口")
            elif grids:
                names.append(f"{GRIDS[grids[0]][1]}界")
            elif len(at_node[c]) == 1:
                road = roads[s.road]
                names.append(road.ends[0 if c == road.line.coords[0] else 1])
            else:
                msg = f"{roads[s.road].name} is cut at a point where nothing meets it"
                raise RuntimeError(msg)
        s.from_name, s.to_name = names


# ---------------------------------------------------------------- units and who takes what


@dataclass(frozen=True)
class Unit:
    """A responsible unit and the grid it works in."""

    code: str
    name: str
    kind: str
    grid: int


def make_units(rng: np.random.Generator) -> list[Unit]:
    """132 units: the twelve lead departments one per grid, the others dealt ten to a grid."""
    names = [(name, kind) for kind, group in UNITS for name in group]
    grid_of = {names.index((name, "县级部门")): g for g, name in enumerate(LEAD_UNITS)}
    others = [i for i in range(len(names)) if i not in grid_of]
    for k, i in enumerate(rng.permutation(others).tolist()):
        grid_of[i] = k % len(GRIDS)
    return [Unit(f"U{i + 1:03d}", name, kind, grid_of[i]) for i, (name, kind) in enumerate(names)]


def assign_segments(segs: list[Segment], units: list[Unit]) -> list[Segment]:
    """Deal each grid's segments, street by street, in runs to that grid's units; number them."""
    segs = sorted(segs, key=lambda s: (s.grid, s.road, s.order))
    for g in range(len(GRIDS)):
        mine = [s for s in segs if s.grid == g]
        crew = [u for u in units if u.grid == g]
        crew.sort(key=lambda u: (u.name not in LEAD_UNITS, u.code))  # the lead department first
        if len(mine) < len(crew):
            msg = f"{GRIDS[g][1]} has {len(mine)} segments for {len(crew)} units"
            raise RuntimeError(msg)
        for unit, run in zip(crew, np.array_split(np.arange(len(mine)), len(crew))):
            for i in run.tolist():
                mine[i].unit = unit.code
    for n, s in enumerate(segs, start=1):
        s.code = f"S{n:04d}"
    return segs


# ---------------------------------------------------------------- communities and points


def _blocks(rng: np.random.Generator, bounds, n: int) -> np.ndarray:
    """n blocks of 60-150 by 60-130 m, turned by up to 8 degrees, centred within bounds."""
    minx, miny, maxx, maxy = bounds
    centre = np.column_stack([rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)])
    half = np.column_stack([rng.uniform(30, 75, n), rng.uniform(30, 65, n)])
    turn = np.radians(rng.uniform(-8, 8, n))[:, None]
    corner = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)], dtype=float)
    x, y = corner[None, :, 0] * half[:, :1], corner[None, :, 1] * half[:, 1:]
    cos, sin = np.cos(turn), np.sin(turn)
    turned = np.stack([x * cos - y * sin, x * sin + y * cos], -1)
    return shapely.polygons(turned + centre[:, None, :])


def make_communities(rng, grids, blocked, units, segs, roads) -> list[dict]:
    """112 residential blocks clear of streets, water and each other, each inside one grid."""
    nearest = shapely.STRtree([s.line for s in segs])
    estates = iter(rng.permutation([a + b for a in ESTATE_PREFIXES for b in ESTATE_SUFFIXES]))
    compounds = iter(COMPOUNDS)
    numbered: dict[str, int] = defaultdict(int)
    out: list[dict] = []
    for g, (grid, quota) in enumerate(zip(grids, COMMUNITY_QUOTA)):
        room = shapely.difference(grid.buffer(-8.0), blocked)
        candidates = _blocks(rng, grid.bounds, 4000)
        placed: list[Polygon] = []
        for block in candidates[shapely.contains(room, candidates)]:
            if len(placed) < quota and all(block.distance(p) >= 12.0 for p in placed):
                placed.append(block)
        if len(placed) < quota:
            msg = f"only {len(placed)} communities fit in {GRIDS[g][1]}"
            raise RuntimeError(msg)
        crew = [u.code for u in units if u.grid == g]
        for block in placed:
            managed = str(rng.choice(["物业公司", "无物业", "社区代管"], p=[0.7, 0.15, 0.15]))
            if managed == "物业公司":
                name, company = str(next(estates)), str(rng.choice(COMPANIES))
                density = rng.uniform(120, 320)
            else:
                name, company, density = next(compounds, None), managed, rng.uniform(50, 120)
            if name is None:  # compounds used up: name it by its street number
                road = roads[segs[nearest.nearest(block.centroid)].road].name
                numbered[road] += 1
                name = f"{road}{numbered[road] * 7 + 3}号院"
            out.append({
                "code": f"C{len(out) + 1:03d}",
                "name": name,
                "property_company": company,
                "households": int(block.area / 1e4 * density) + 12,
                "unit_code": str(rng.choice(crew)),
                "geometry": block,
            })  # fmt: skip
    return out


class _Points:
    """Inspection points as they are placed, kept apart from each other."""

    def __init__(self, rng, segs: list[Segment], roads: list[Road]) -> None:
        self.rng, self.segs, self.roads = rng, segs, roads
        self.nearest = shapely.STRtree([s.line for s in segs])
        self.rows: list[dict] = []

    def add(self, name: str, category: str, point: Point, unit: str, address: str = "") -> None:
        if not address:  # the nearest street, with a house number from the distance along it
            road = self.roads[self.segs[self.nearest.nearest(point)].road]
            address = f"凤县双石铺镇{road.name}{int(road.line.project(point) // 15) + 1}号"
        self.rows.append({
            "code": f"P{len(self.rows) + 1:03d}", "name": name, "category": category,
            "address": address, "unit_code": unit, "geometry": point,
        })  # fmt: skip

    def free_spot(self, room) -> Point:
        minx, miny, maxx, maxy = room.bounds
        for _ in range(5000):
            p = Point(self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy))
            if room.contains(p) and all(p.distance(r["geometry"]) >= 25.0 for r in self.rows):
                return p
        raise RuntimeError("no room left for an inspection point")


def _street_points(points: _Points, category: str, count: int, how: str, rooms, usable) -> None:
    """Points on (or 12 m beside) street segments well inside their grid, one per segment."""
    roads = points.roads
    if category == "商业大街":
        pool = [s for s in usable if roads[s.road].name in COMMERCIAL_STREETS]
    else:
        pool = [s for s in usable if roads[s.road].kind in STREET_KINDS[category]]
    toilets: dict[str, int] = defaultdict(int)
    placed = 0
    for i in points.rng.permutation(len(pool)).tolist():
        s, road = pool[i], roads[pool[i].road].name
        if placed == count:
            break
        if how == "road":
            mid = s.line.interpolate(0.5, normalized=True)
            points.add(f"{road}（{s.from_name}至{s.to_name}）", category, mid, s.unit, f"凤县双石铺镇{road}")
        else:
            near = shapely.line_interpolate_point(s.line, [0.45, 0.55], normalized=True)
            a, b = shapely.get_coordinates(near)
            along = (b - a) / np.hypot(*(b - a))
            spot = Point(*((a + b) / 2 + 12.0 * np.array([-along[1], along[0]])))
            if not rooms[s.grid].contains(spot):
                continue
            if category == "公交站点":
                name = f"{road}{s.from_name}站" if s.from_name.endswith("口") else f"{road}站"
            else:
                toilets[road] += 1
                name = f"{road}{toilets[road]}号公厕"
            points.add(name, category, spot, s.unit)
        usable.remove(s)
        placed += 1
    if placed < count:
        msg = f"not enough street segments for {category}"
        raise RuntimeError(msg)


def make_points(rng, grids, free, units, segs, roads, communities) -> list[dict]:
    """139 inspection points in 28 categories, each well inside one grid, with a unit of it."""
    points = _Points(rng, segs, roads)
    rooms = [shapely.intersection(grid.buffer(-20.0), free) for grid in grids]
    edge_band = Polygon(TOWN_OUTLINE).exterior.buffer(150.0)
    edges = [shapely.intersection(room, edge_band) for room in rooms]
    middles = shapely.line_interpolate_point([s.line for s in segs], 0.5, normalized=True)
    inset = shapely.distance(shapely.boundary([grids[s.grid] for s in segs]), middles) >= 20.0
    usable = [s for s, ok in zip(segs, inset.tolist()) if ok and s.line.length >= 60.0]
    by_name = {u.name: u for u in units}
    turn = iter(np.tile(rng.permutation(len(GRIDS)), 20).tolist())  # grids in turn, for places
    for category, count, how, names in CATEGORIES:
        if how in ("road", "roadside"):
            _street_points(points, category, count, how, rooms, usable)
        elif how == "community":
            for i in sorted(rng.choice(len(communities), count, replace=False).tolist()):
                c = communities[i]
                points.add(c["name"], category, c["geometry"].point_on_surface(), c["unit_code"])
        else:
            for name in names:
                owners = [u for u in units if name.startswith(u.name)]
                owner = max(owners, key=lambda u: len(u.name), default=None)
                if owner is not None:
                    g = owner.grid
                else:
                    g = next(k for k in turn if how != "edge" or not edges[k].is_empty)
                    crew = [u for u in units if u.grid == g]
                    theme = by_name.get(THEME_UNIT.get(category, ""))
                    owner = theme if theme in crew else crew[int(rng.integers(len(crew)))]
                spot = points.free_spot((edges if how == "edge" else rooms)[g])
                points.add(name, category, spot, owner.code)
    return points.rows


# ---------------------------------------------------------------- people and tables


class _People:
    """Fictitious personal names and phone numbers, none repeated within the demo."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _fresh(self, make) -> str:
        while (value := make()) in self.used:
            pass
        self.used.add(value)
        return value

    def name(self) -> str:
        def make() -> str:
            given = self.rng.choice(list(GIVEN), size=1 + int(self.rng.random() < 0.7))
            return str(self.rng.choice(list(SURNAMES))) + "".join(given)

        return self._fresh(make)

    def mobile(self) -> str:
        return self._fresh(lambda: str(self.rng.choice(MOBILE_PREFIXES)) + f"{self.rng.integers(10**8):08d}")

    def office(self) -> str:
        return self._fresh(lambda: f"0917-47{self.rng.integers(10**5):05d}")


def make_tables(rng: np.random.Generator, units: list[Unit], communities: list[dict]) -> dict:
    """The seven responsibility tables by TableSpec name; each row a dict by column name."""
    people = _People(rng)
    grid_codes = [TOWN_CODE + seq for seq, _, _ in GRIDS]
    leaders = [
        {"code": f"L{i + 1:02d}", "name": people.name(), "title": title, "phone": people.office()}
        for i, title in enumerate(LEADER_TITLES)
    ]
    # by rank, leaders take the grids in turn: the big grids first, so they get a third leader
    turn = sorted(grid_codes, key=lambda code: (code[-3:] not in BIG_GRIDS, code))
    grid_leaders = [
        {"grid_code": turn[k % len(turn)], "leader_code": row["code"]} for k, row in enumerate(leaders)
    ]
    grid_leaders.sort(key=lambda row: (row["grid_code"], row["leader_code"]))
    lead = {u.grid: u.code for u in units if u.name in LEAD_UNITS}
    heads: list[dict] = []
    for c in communities:
        buildings = rng.choice(np.arange(1, 13), size=int(rng.integers(1, 4)), replace=False)
        for b in sorted(buildings.tolist()):
            heads.append({
                "code": f"H{len(heads) + 1:04d}", "name": people.name(), "phone": people.mobile(),
                "community_code": c["code"], "building": f"{b}号楼",
            })  # fmt: skip
    # three patrollers per grid, and ten campaign inspectors who each visit two neighbouring grids
    patrols = [(g,) for g in range(len(GRIDS)) for _ in range(3)] + [(g, g + 1) for g in range(10)]
    patrols.sort()
    return {
        "leaders": leaders,
        "units": [
            {
                "code": u.code,
                "name": u.name,
                "kind": u.kind,
                "contact": people.name(),
                "phone": people.office(),
            }
            for u in units
        ],
        "grid_roles": [
            {
                "grid_code": code,
                "grid_head": people.name(),
                "grid_head_phone": people.mobile(),
                "lead_unit_code": lead[g],
            }
            for g, code in enumerate(grid_codes)
        ],
        "grid_leaders": grid_leaders,
        "town_leaders": [
            {"town_code": town[0], "leader_code": leaders[i]["code"]}
            for town, i in zip(TOWNS, LIAISON_LEADERS)
        ],
        "household_heads": heads,
        "inspectors": [
            {
                "code": f"I{i + 1:02d}",
                "name": people.name(),
                "phone": people.mobile(),
                "grid_codes": "、".join(grid_codes[g] for g in grids),
            }
            for i, grids in enumerate(patrols)
        ],
    }


def make_levels(towns, grids, segs, roads, water, communities, tables) -> demo_levels.Levels:
    """Village, group and sub-grids, their people, shops with frontages, buildings (own seeds).

    Sets each household head's building_code and adds the grid_people table to ``tables``.
    """
    rng = [np.random.default_rng([SEED, stage]) for stage in range(6, 11)]
    people = _People(rng[0])
    keys = ("name", "phone", "contact", "grid_head", "grid_head_phone")
    people.used = {r[k] for rows in tables.values() for r in rows for k in keys if k in r}
    grid_codes = [TOWN_CODE + seq for seq, _, _ in GRIDS]
    town_codes = [code for code, _, _ in TOWNS]
    out = demo_levels.Levels()
    out.subgrids = demo_levels.make_subgrids(
        rng[1],
        towns=towns,
        town_codes=town_codes,
        county_town=Polygon(TOWN_OUTLINE),
        grids=grids,
        grid_codes=grid_codes,
        grid_names=[name for _, name, _ in GRIDS],
    )
    out.grid_people = demo_levels.make_grid_people(
        rng[2], people, town_codes=town_codes, grid_codes=grid_codes, subgrids=out.subgrids
    )
    out.shops, out.frontages = demo_levels.make_shops(
        rng[3],
        people,
        segs=segs,
        roads=roads,
        grids=grids,
        water=water,
        communities=communities,
        streets=COMMERCIAL_STREETS,
        surnames=SURNAMES,
    )
    out.buildings = demo_levels.make_buildings(rng[4], communities, tables["household_heads"])
    tables["grid_people"] = out.grid_people
    return out


# ---------------------------------------------------------------- assembling and writing


def build() -> tuple[dict[str, gpd.GeoDataFrame], dict[str, list[dict]]]:
    """Every layer (GeoDataFrames in EPSG:4326, columns as in the model) and every table."""
    rng = [np.random.default_rng([SEED, stage]) for stage in range(6)]
    towns = make_towns(rng[0])
    rivers, river = make_rivers()
    grids, borders = make_grids(rng[1], river)
    roads = make_roads(river)
    units = make_units(rng[2])
    segs = assign_segments(make_segments(roads, grids, borders), units)
    water = shapely.union_all(list(rivers.values()))
    streets = shapely.union_all([s.line for s in segs])
    blocked = shapely.union_all([streets.buffer(14.0), water.buffer(12.0)])
    communities = make_communities(rng[3], grids, blocked, units, segs, roads)
    homes = shapely.union_all([c["geometry"] for c in communities]).buffer(5.0)
    taken = shapely.union_all([streets.buffer(10.0), water.buffer(10.0), homes])
    free = Polygon(TOWN_OUTLINE).difference(taken)
    points = make_points(rng[4], grids, free, units, segs, roads, communities)
    tables = make_tables(rng[5], units, communities)
    levels = make_levels(towns, grids, segs, roads, water, communities, tables)

    rows = {
        "towns": [{"code": code, "name": name, "geometry": t} for (code, name, _), t in zip(TOWNS, towns)],
        "grids": [
            {"code": TOWN_CODE + seq, "name": name, "town_code": TOWN_CODE, "geometry": g}
            for (seq, name, _), g in zip(GRIDS, grids)
        ],
        "segments": [
            {
                "code": s.code,
                "road_name": roads[s.road].name,
                "from_name": s.from_name,
                "to_name": s.to_name,
                "unit_code": s.unit,
                "geometry": s.line,
            }
            for s in segs
        ],
        "points": points,
        "communities": communities,
        "rivers": [{"name": name, "geometry": shape} for name, shape in rivers.items()],
        "subgrids": levels.subgrids,
        "shops": levels.shops,
        "frontages": levels.frontages,
        "buildings": levels.buildings,
    }
    origin = Transformer.from_crs(STORE_CRS, METRIC_CRS, always_xy=True).transform(*SEAT_LONLAT)
    layers = {}
    for spec in LAYERS:
        records = rows[spec.name]
        layers[spec.name] = gpd.GeoDataFrame(
            {c.name: [r[c.name] for r in records] for c in spec.columns},
            geometry=_to_lonlat([r["geometry"] for r in records], origin),
            crs=STORE_CRS,
        )
    return layers, tables


def write_layers(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """All layers into one new GeoPackage, with GDAL's timestamps fixed."""
    path.unlink(missing_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2024-01-01T00:00:00.000Z"})
    try:
        for name, frame in layers.items():
            frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


class _FixedTimeZip(zipfile.ZipFile):
    """A zip archive whose members all carry FIXED_DATE: equal content gives equal bytes."""

    def writestr(self, name, data, compress_type=None, compresslevel=None):
        if isinstance(name, str):
            name = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            name.compress_type = self.compression
        super().writestr(name, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        data = Path(filename).read_bytes()
        self.writestr(arcname or Path(filename).name, data, compress_type, compresslevel)


def write_tables(path: Path, tables: dict[str, list[dict]]) -> None:
    """One sheet per table with Chinese sheet names and headers; every cell is text."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for spec in TABLES:
        sheet = book.create_sheet(spec.label)
        sheet.append([c.label for c in spec.columns])
        for row in tables[spec.name]:
            sheet.append([row[c.name] for c in spec.columns])
        for cells in sheet.iter_cols():
            for cell in cells:
                cell.number_format = "@"
            width = max(len(str(cell.value)) for cell in cells)
            sheet.column_dimensions[cells[0].column_letter].width = min(60, 4 + 2 * width)
        sheet.freeze_panes = "A2"
    book.properties.creator = "scripts/make_demo_data.py"
    book.properties.created = book.properties.modified = datetime(*FIXED_DATE)
    with _FixedTimeZip(path, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).write_data()


def readme(layers: dict[str, gpd.GeoDataFrame], tables: dict[str, list[dict]]) -> str:
    """The provenance note of the demo directory, in Chinese with a short English paragraph."""
    n = {name: len(rows) for name, rows in (layers | tables).items()}
    km = layers["segments"].to_crs(METRIC_CRS).length.sum() / 1000
    categories = layers["points"]["category"].nunique()
    level = layers["subgrids"]["level"].value_counts().to_dict()
    west, south, east, north = layers["grids"].total_bounds
    layer_rows = "\n".join(
        f"| `{s.name}` | {s.label} | {'、'.join(c.name for c in s.columns)} | {n[s.name]} |" for s in LAYERS
    )
    table_rows = "\n".join(
        f"| {s.label} | `{s.name}` | {'、'.join(c.label for c in s.columns)} | {n[s.name]} |" for s in TABLES
    )
    return f"""# 演示数据：凤县县城网格责任地图（合成数据）

本目录的三个文件由 `scripts/make_demo_data.py` 生成，请勿手工修改；需要改动时改脚本后重新生成。

## 来源与性质

- 全部为**合成数据**，由脚本按固定随机种子（{SEED}）确定性生成，与运行时间无关，重复运行得到相同的图层和表格。
- 县名、县代码（{TOWN_CODE[:6]}）和 9 个镇的名称取自凤县公开的行政区划，镇代码为示意编码；
  县城位于双石铺镇（约东经 {SEAT_LONLAT[0]}°、北纬 {SEAT_LONLAT[1]}°）。
  县界、镇界、网格、河道、道路、小区和点位的形状与位置均为虚构，**不代表真实边界或地物**，不得用于勘界、执法或导航。
- 道路、小区、点位和单位名称仿照县城常见叫法，可能与实际单位或地名同名，但包抓关系、所在网格、户数等均为虚构。
- **所有人名和电话号码都是随机生成的虚构信息**，不对应任何真实人员（县级领导、单位联系人、网格长、中心户长、巡查员、网格人员、商户负责人）；
  号码形如 0917-47xxxxx 或 11 位手机号，仅供演示，请勿拨打。

## 坐标系

- 所有图层均为 EPSG:4326（WGS 84 经纬度，经度在前）。CGCS2000（EPSG:4490）与之在本图精度内视为相同（相差厘米级）。
- 面积、长度、距离须在平面坐标系中量算，推荐 EPSG:4545（CGCS2000 / 3 度带高斯-克吕格，中央经线 108°E）。
  脚本即在 EPSG:4545 中构图，再转换为经纬度，坐标保留 {DECIMALS} 位小数（约 1 毫米）。
- 县城（12 个网格）范围：经度 {west:.4f}–{east:.4f}，纬度 {south:.4f}–{north:.4f}。

## 图层（`{LAYERS_FILE}`）

| 图层 | 中文名 | 字段 | 要素数 |
|---|---|---|---|
{layer_rows}

- 9 个镇无缝铺满约 40×40 km 的虚构县域；12 个网格无缝、无重叠地铺满县城（相邻网格共用边界顶点），嘉陵江中心线是南北网格的分界。
- 路段共 {n["segments"]} 段、总长约 {km:.1f} km，在交叉口和网格边界处打断、端点完全重合，可直接构建连通路网；
  每段只在一个网格内，由该网格的一个责任单位包抓；每个网格 11 个单位（含牵头部门），每个单位至少包抓一段。
- 考察点位 {n["points"]} 个，分 {categories} 类，距网格边界不少于 20 米；小区 {n["communities"]} 个，不压道路和河道，互不重叠。
- 下级网格（县镇村三级网格，演示数据）：{level.get("村", 0)} 个村网格（上级编码为镇代码，编码 = 镇代码 + 201 起的三位序号，
  县城所在的双石铺镇的村网格避开县城），{level.get("组", 0)} 个组网格（上级为村网格，编码 = 村网格编码 + 两位序号），
  {level.get("子网格", 0)} 个子网格（在部分县城网格内，编码 = 网格编码 + 两位序号）。下级网格都在上级之内、互不重叠，
  且有意不铺满上级：村网格之间、组网格之间留有空隙，落在空隙里的位置由上一级兜底。
- 商户 {n["shops"]} 个，沿商业街（{"、".join(COMMERCIAL_STREETS)}）两侧，每个商户有一块门前五包范围（门口到路缘石之间的人行道，面）；
  商户负责人电话仅办公室可见。楼栋 {n["buildings"]} 栋，成排位于各小区内；中心户长按“楼栋编号”绑定楼栋，
  楼栋名称 = 小区名称 + 中心户长表中的“楼栋”。“网格人员”表列出镇干部、县城网格的网格员、村书记和网格员、组和子网格的网格员和志愿者。

## 责任表（`{TABLES_FILE}`）

表头为中文字段名，编码和电话均存为文本单元格。

| 工作表 | 表名 | 表头 | 行数 |
|---|---|---|---|
{table_rows}

## 重新生成

```
.venv/bin/python scripts/make_demo_data.py                  # 写入 geodata/demo
.venv/bin/python scripts/make_demo_data.py --out /tmp/demo  # 写到别处
.venv/bin/python -m pytest tests/test_demo_data.py -q       # 检查数量、拓扑和可重复性
```

## English

Synthetic demo data for gridmap, generated by `scripts/make_demo_data.py` with fixed seeds:
re-running it gives the same layers and tables. The county (Feng County 凤县, 610330) and its nine
town names are real; every shape, street, community, point and assignment is invented, and every
personal name and phone number is fictitious and belongs to no real person. Layers are in EPSG:4326
(CGCS2000 treated as equal); measure in EPSG:4545. The twelve grids tile the county town exactly;
street segments are noded into one connected network, each lies in one grid and belongs to one unit
of that grid. Grid levels (demo data): village grids in every town, group grids in every village and
sub-grids in some county-town grids, each inside its parent, apart from its siblings, and leaving part
of the parent uncovered so that the parent's fallback is reachable; shops along the commercial streets,
each with its 门前五包 frontage; numbered buildings in every community, household heads bound to them.
"""


def main(argv: list[str] | None = None) -> int:
    """Build the demo county and write it to --out."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "geodata" / "demo",
        help="directory for layers.gpkg, responsibility.xlsx and README.md (default: geodata/demo)",
    )
    args = parser.parse_args(argv)
    layers, tables = build()
    args.out.mkdir(parents=True, exist_ok=True)
    write_layers(args.out / LAYERS_FILE, layers)
    write_tables(args.out / TABLES_FILE, tables)
    (args.out / "README.md").write_text(readme(layers, tables), encoding="utf-8")
    counts = ", ".join(f"{len(frame)} {name}" for name, frame in layers.items())
    print(f"wrote {args.out}: {counts}, {len(tables['household_heads'])} household heads")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
