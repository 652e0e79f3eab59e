"""The domain schema: reference layers and responsibility tables, and their columns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One attribute column: canonical English name, Chinese label, and whether required."""

    name: str
    label: str
    required: bool = True
    kind: str = "str"  # "str" | "int" | "float"
    aliases: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        """Every header under which this column is accepted (canonical first)."""
        return (self.name, self.label, *self.aliases)


@dataclass(frozen=True)
class LayerSpec:
    """A reference layer in the GeoPackage: geometry types allowed and its columns."""

    name: str
    label: str
    geom_types: tuple[str, ...]
    columns: tuple[Column, ...]
    required: bool = True
    # Columns computed from the other layers and stored beside the spec's columns (never read
    # from files): the grid a segment, point or community lies in.
    derived: tuple[str, ...] = ()

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class TableSpec:
    """A responsibility table: one sheet of the XLSX workbook."""

    name: str
    label: str  # the sheet name in the workbook
    columns: tuple[Column, ...]
    key: str | None = None  # the column that must be unique
    required: bool = True


POLYGON = ("Polygon", "MultiPolygon")
LINE = ("LineString", "MultiLineString")
POINT = ("Point",)

# GeoPackage layers. Geometry in EPSG:4326 (or EPSG:4490, treated as equal to the metre).
LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec(
        "towns",
        "镇/街道",
        POLYGON,
        (Column("code", "镇代码"), Column("name", "镇名称")),
    ),
    LayerSpec(
        "grids",
        "网格",
        POLYGON,
        (
            Column("code", "网格编码"),
            Column("name", "网格名称"),
            Column("town_code", "所属镇代码"),
        ),
    ),
    LayerSpec(
        "segments",
        "责任路段",
        LINE,
        (
            Column("code", "路段编号"),
            Column("road_name", "道路名称"),
            Column("from_name", "起点", required=False),
            Column("to_name", "终点", required=False),
            Column("unit_code", "责任单位代码"),
        ),
        derived=("grid_code",),
    ),
    LayerSpec(
        "points",
        "实地考察点位",
        POINT + POLYGON,
        (
            Column("code", "点位编号"),
            Column("name", "点位名称"),
            Column("category", "点位类别"),
            Column("address", "地址", required=False),
            Column("unit_code", "责任单位代码"),
        ),
        derived=("grid_code",),
    ),
    LayerSpec(
        "communities",
        "小区",
        POLYGON + POINT,
        (
            Column("code", "小区编号"),
            Column("name", "小区名称"),
            Column("property_company", "物业公司", required=False),
            Column("households", "户数", required=False, kind="int"),
            Column("unit_code", "包抓单位代码", required=False),
        ),
        derived=("grid_code",),
    ),
    LayerSpec(
        "rivers",
        "河流",
        POLYGON + LINE,
        (Column("name", "河流名称"),),
        required=False,
    ),
    # Grids below the county town's grids and the towns (县镇村三级网格): a village grid's parent is
    # a town, a group grid's a village grid, a sub-grid's a county-town grid (or another sub-grid).
    LayerSpec(
        "subgrids",
        "下级网格",
        POLYGON,
        (
            Column("code", "网格编码"),
            Column("name", "网格名称"),
            Column("parent_code", "上级编码", aliases=("上级网格编码", "上级代码", "所属上级")),
            Column(
                "level", "网格层级", required=False
            ),  # 村 / 组 / 子网格; derived from the parent when empty
        ),
        required=False,
    ),
    # Shops (商户) and the pavement in front of their doors they answer for (门前五包).
    LayerSpec(
        "shops",
        "商户",
        POINT,
        (
            Column("code", "商户编号"),
            Column("name", "商户名称"),
            Column("category", "经营类别", required=False),
            Column("address", "地址", required=False),
            Column("owner", "负责人", required=False),
            Column("owner_phone", "负责人电话", required=False),  # private: office only
        ),
        required=False,
    ),
    LayerSpec(
        "frontages",
        "门前五包范围",
        POLYGON + LINE,
        (Column("shop_code", "商户编号"),),
        required=False,
    ),
    # Buildings (楼栋) in the communities; household heads (中心户长) are bound to them.
    LayerSpec(
        "buildings",
        "楼栋",
        POLYGON + POINT,
        (
            Column("code", "楼栋编号"),
            Column("name", "楼栋名称"),
            Column("community_code", "小区编号"),
        ),
        required=False,
    ),
)

# Responsibility tables: sheets of the XLSX workbook (Chinese sheet names and headers).
TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "leaders",
        "县级领导",
        (
            Column("code", "编号"),
            Column("name", "姓名"),
            Column("title", "职务"),
            Column("phone", "联系电话", required=False),
        ),
        key="code",
    ),
    TableSpec(
        "units",
        "责任单位",
        (
            Column("code", "单位代码"),
            Column("name", "单位名称"),
            Column("kind", "单位类型", required=False),
            Column("contact", "联系人", required=False),
            Column("phone", "联系电话", required=False),
        ),
        key="code",
    ),
    TableSpec(
        "grid_roles",
        "网格责任",
        (
            Column("grid_code", "网格编码"),
            Column("grid_head", "网格长"),
            Column("grid_head_phone", "网格长电话", required=False),
            Column("lead_unit_code", "牵头部门代码"),
        ),
        key="grid_code",
    ),
    TableSpec(
        "grid_leaders",
        "包片领导",
        (Column("grid_code", "网格编码"), Column("leader_code", "领导编号")),
    ),
    TableSpec(
        "town_leaders",
        "联系镇领导",
        (Column("town_code", "镇代码"), Column("leader_code", "领导编号")),
    ),
    TableSpec(
        "household_heads",
        "中心户长",
        (
            Column("code", "编号"),
            Column("name", "姓名"),
            Column("phone", "联系电话", required=False),
            Column("community_code", "小区编号"),
            Column("building", "楼栋", required=False),
            Column("building_code", "楼栋编号", required=False),
        ),
        key="code",
        required=False,
    ),
    # The people of every grid level (town cadres, village secretaries, grid members, volunteers):
    # grid_code is a town code, a county-town grid code or a sub-grid code.
    TableSpec(
        "grid_people",
        "网格人员",
        (
            Column("grid_code", "网格编码"),
            Column("name", "姓名"),
            Column("role", "职责"),
            Column("phone", "联系电话", required=False),
        ),
        required=False,
    ),
    TableSpec(
        "inspectors",
        "巡查员",
        (
            Column("code", "编号"),
            Column("name", "姓名"),
            Column("phone", "联系电话", required=False),
            Column("grid_codes", "负责网格", required=False),  # codes joined by 、 or ,
        ),
        key="code",
        required=False,
    ),
)

# Grid levels below a town or a county-town grid (subgrids.level), each named after its parent's level.
GRID_LEVELS: dict[str, str] = {"村": "村网格", "组": "组网格", "子网格": "子网格"}
# Every level of a whois chain, smallest first (the county-town grid is 网格, the town 镇).
CHAIN_LEVELS: tuple[str, ...] = ("组", "子网格", "村", "网格", "镇", "县")
GRID_ROLES: tuple[str, ...] = ("镇干部", "村书记", "村主任", "网格长", "网格员", "志愿者")

LAYER_BY_NAME = {spec.name: spec for spec in LAYERS}
# The layers whose stored rows carry the code of the grid they lie in (LayerSpec.derived).
GRID_CODE_LAYERS: tuple[str, ...] = tuple(spec.name for spec in LAYERS if "grid_code" in spec.derived)
TABLE_BY_NAME = {spec.name: spec for spec in TABLES}

# File names of a dataset directory (the demo's layout).
LAYERS_FILE = "layers.gpkg"
TABLES_FILE = "responsibility.xlsx"

# Where a problem report comes from: the problem workflow files it under one, and an Open311
# partner's api key names the one its reports are filed as.
REPORT_SOURCES: dict[str, str] = {
    "inspector": "巡查员",
    "citizen": "市民随手拍",
    "assessment": "测评反馈",
    "media": "媒体曝光",
}
