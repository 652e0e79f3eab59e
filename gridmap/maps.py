"""Interactive Folium maps of the responsibility model: county, grid, unit and leader views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from jinja2 import Template

from gridmap import safe
from gridmap.basemaps import BASEMAPS as BASEMAPS  # re-exported: maps.BASEMAPS, maps.add_basemap
from gridmap.basemaps import TIANDITU_LABELS as TIANDITU_LABELS
from gridmap.basemaps import add_basemap as add_basemap
from gridmap.basemaps import basemap_sources as basemap_sources
from gridmap.crs import convert_geoseries
from gridmap.levelmap import add_levels
from gridmap.mapcontrols import Drawer, Interactions
from gridmap.mapelements import AWESOME_HEX, FitView, TiledLayers
from gridmap.mapelements import FeatureText as FeatureText  # re-exported: maps.FeatureText
from gridmap.mapelements import JsonMarkers as JsonMarkers
from gridmap.mapelements import map_parts as map_parts
from gridmap.popups import point_popup, segment_popup
from gridmap.responsibility import ResponsibilityModel
from gridmap.vectortiles import GRID_COLORS as GRID_COLORS  # re-exported: maps.GRID_COLORS
from gridmap.vectortiles import LAYERS as TILE_LAYERS
from gridmap.vectortiles import bounds as county_bounds
from gridmap.vectortiles import unit_color as unit_color

# Category -> (Font Awesome icon, awesome-markers colour). Unknown categories get a pin.
CATEGORY_ICONS: dict[str, tuple[str, str]] = {
    "农贸市场": ("store", "orange"),
    "学校": ("school", "blue"),
    "医院": ("hospital", "red"),
    "公交站点": ("bus", "green"),
    "公共厕所": ("restroom", "cadetblue"),
    "背街小巷": ("road", "gray"),
    "主次干道": ("road", "darkblue"),
    "商业大街": ("shopping-bag", "purple"),
    "居民小区": ("home", "darkgreen"),
    "窗口单位": ("building", "darkpurple"),
    "车站": ("bus", "darkred"),
    "广场": ("square", "lightblue"),
    "公园": ("tree", "green"),
    "景区": ("mountain", "darkgreen"),
    "图书馆": ("book", "blue"),
    "文化馆": ("theater-masks", "purple"),
    "新时代文明实践所": ("flag", "red"),
    "社区服务中心": ("hands-helping", "cadetblue"),
    "建筑工地": ("hard-hat", "orange"),
    "餐饮街区": ("utensils", "darkred"),
    "宾馆酒店": ("bed", "lightred"),
    "银行网点": ("university", "darkblue"),
    "政务服务中心": ("landmark", "darkpurple"),
    "加油站": ("gas-pump", "black"),
    "停车场": ("parking", "blue"),
    "城乡结合部": ("map", "gray"),
    "网吧": ("desktop", "black"),
    "未成年人活动场所": ("child", "pink"),
}
_DEFAULT_ICON = ("map-marker", "gray")

# folium.Map's own scripts and styles that a page drawn from vector tiles keeps (by folium's names)
TILED_PAGE_JS = frozenset({"leaflet"})
TILED_PAGE_CSS = frozenset({"leaflet_css", "bootstrap_css", "awesome_markers_font_css"})


@dataclass(frozen=True)
class MapOptions:
    """How a map is drawn: basemap, its token, and the URLs the page's scripts call."""

    basemap: str = "none"
    tianditu_token: str = ""
    api_base: str = "/api"
    page_base: str = ""
    # above this many grids, segments, points and communities the layers come from vector tiles
    # (GRIDMAP_EMBED_MAX_FEATURES) at ``tile_url`` ("{layer}", "{z}", "{x}", "{y}"); None: always embed
    embed_max_features: int | None = None
    tile_url: str = ""

    def tiled(self, model: ResponsibilityModel) -> bool:
        """Whether a map of this model draws its layers from vector tiles instead of embedding them."""
        if self.embed_max_features is None or not self.tile_url:
            return False
        total = len(model.grids) + len(model.segments) + len(model.points) + len(model.communities)
        return total > self.embed_max_features

    @property
    def display_crs(self) -> str:
        """Overlays are drawn in GCJ-02 on Amap tiles, in WGS84 everywhere else."""
        return "gcj02" if self.basemap == "amap" else "wgs84"


def _display(gdf: gpd.GeoDataFrame, opts: MapOptions) -> gpd.GeoDataFrame:
    if opts.display_crs == "gcj02":
        gdf = gdf.copy()
        gdf.geometry = convert_geoseries(gdf.geometry, source="wgs84", target="gcj02")
    return gdf


def _geojson_layer(
    gdf: gpd.GeoDataFrame,
    popups: list[str] | None,
    *,
    name: str,
    style: list[dict],
    show: bool = True,
    highlight: dict | None = None,
    tooltip_field: str | None = None,
) -> folium.FeatureGroup:
    """One FeatureGroup with a GeoJSON layer.

    With ``popups`` (HTML built with gridmap.safe) a click opens the feature's own popup and
    stops there; without, the click falls through to the map, which answers with whois for the
    spot. Tooltips are the plain text of ``tooltip_field``, put in with ``textContent``.
    """
    group = folium.FeatureGroup(name=name, show=show)
    features = []
    geoms = shapely.set_precision(gdf.geometry.values, 1e-7, mode="pointwise")
    labels: list[str | None] = gdf[tooltip_field].tolist() if tooltip_field else [None] * len(gdf)
    if popups is not None:
        style = [dict(st, bubblingMouseEvents=False) for st in style]
    popup_html: list[str | None] = list(popups) if popups is not None else [None] * len(gdf)
    for geom, popup, st, label, code in zip(geoms, popup_html, style, labels, gdf.index):
        properties = {"style": st, "code": str(code)}
        if tooltip_field:
            properties["label"] = safe.text(label, missing=safe.MISSING)
        if popup is not None:
            properties["popup"] = popup
        features.append(
            {
                "type": "Feature",
                "id": str(code),
                "geometry": shapely.geometry.mapping(geom),
                "properties": properties,
            }
        )
    data = {"type": "FeatureCollection", "features": features}
    if not features:
        return group
    layer = folium.GeoJson(
        data,
        name=name,
        style_function=lambda f: f["properties"]["style"],
        highlight_function=(lambda f: highlight) if highlight else None,
        zoom_on_click=False,
    )
    layer.add_child(FeatureText(tooltip=bool(tooltip_field), popup=popups is not None))
    layer.add_to(group)
    return group


def build_map(
    model: ResponsibilityModel,
    opts: MapOptions,
    *,
    grid_codes: list[str] | None = None,
    unit_code: str | None = None,
    title: str = "网格责任地图",
    extra: Callable[[folium.Map], object] | None = None,
) -> folium.Map:
    """A map of the county, or of some grids, or of one unit's sections and points.

    ``extra(m)``, if given, adds more layers (e.g. the problem overlay) before the layer control.
    """
    grids = model.grids
    segments, points, communities = model.segments, model.points, model.communities
    focus = None
    if grid_codes is not None:
        segments = segments[segments["grid_code"].isin(grid_codes)]
        points = points[points["grid_code"].isin(grid_codes)]
        communities = communities[communities["grid_code"].isin(grid_codes)]
        focus = grids.loc[grids.index.isin(grid_codes)]
    if unit_code is not None:
        segments = segments[segments["unit_code"] == unit_code]
        points = points[points["unit_code"] == unit_code]
        communities = communities[communities["unit_code"] == unit_code]
        parts = [g for g in (segments, points) if len(g)]
        focus = (
            gpd.GeoDataFrame(geometry=np.concatenate([p.geometry.values for p in parts]), crs="EPSG:4326")
            if parts
            else None
        )

    m = folium.Map(
        tiles=None,
        control_scale=False,
        prefer_canvas=False,
        zoom_start=14,
        location=[33.91, 106.52],
        max_zoom=19,
        maxZoom=19,
    )
    if opts.tiled(model):
        if opts.basemap != "none":  # no street base: it holds every road, and the road tiles draw them
            add_basemap(m, opts)
        return _tiled_map(
            m, model, opts, grid_codes=grid_codes, unit_code=unit_code, focus=focus, extra=extra
        )
    add_basemap(m, opts)

    towns = _display(model.towns, opts)
    town_styles = [
        {"color": "#555", "weight": 2, "dashArray": "6 4", "fillOpacity": 0.02, "fillColor": "#999"}
    ] * len(towns)
    _geojson_layer(towns, None, name="镇（街道）", style=town_styles, tooltip_field="name").add_to(m)

    if len(model.rivers):
        rivers = _display(model.rivers, opts)
        river_styles = [{"color": "#6fa8dc", "weight": 6, "fillColor": "#9fc5e8", "fillOpacity": 0.8}] * len(
            rivers
        )
        _geojson_layer(rivers, None, name="河流", style=river_styles, tooltip_field="name").add_to(m)

    grid_disp = _display(grids, opts)
    grid_styles = []
    for i, code in enumerate(grids.index):
        color = GRID_COLORS[i % len(GRID_COLORS)]
        faded = grid_codes is not None and code not in grid_codes
        grid_styles.append(
            {
                "color": color,
                "weight": 1 if faded else 3,
                "fillColor": color,
                "fillOpacity": 0.03 if faded else 0.15,
                "opacity": 0.4 if faded else 1,
            }
        )
    _geojson_layer(
        grid_disp,
        None,
        name="网格",
        style=grid_styles,
        highlight={"weight": 5, "fillOpacity": 0.3},
        tooltip_field="name",
    ).add_to(m)

    labels = folium.FeatureGroup(name="网格名称")
    centres = _display(
        gpd.GeoDataFrame(geometry=grids.geometry.representative_point(), crs="EPSG:4326"), opts
    )
    labels.add_child(
        JsonMarkers(
            [
                {
                    "at": [round(pt.y, 7), round(pt.x, 7)],
                    "text": safe.text(name, missing=safe.MISSING),
                    "text_class": "gm-grid-label",
                    "size": [120, 20],
                    "anchor": [60, 10],
                    "interactive": False,
                }
                for name, pt in zip(grids["name"], centres.geometry)
            ]
        )
    )
    labels.add_to(m)

    seg_disp = _display(segments, opts)
    seg_styles = [{"color": unit_color(u), "weight": 5, "opacity": 0.9} for u in segments["unit_code"]]
    _geojson_layer(
        seg_disp,
        [segment_popup(model, c, page_base=opts.page_base) for c in segments.index],
        name="责任路段（按单位着色）",
        style=seg_styles,
        highlight={"weight": 9},
        tooltip_field="road_name",
    ).add_to(m)

    comm_disp = _display(communities, opts)
    comm_styles = [{"color": "#2e7d32", "weight": 1, "fillColor": "#81c784", "fillOpacity": 0.45}] * len(
        communities
    )
    _geojson_layer(
        comm_disp,
        None,
        name="小区",
        style=comm_styles,
        tooltip_field="name",
    ).add_to(m)

    from folium.plugins import MarkerCluster

    point_group = folium.FeatureGroup(name="实地考察点位")
    cluster = MarkerCluster(name="实地考察点位", options={"maxClusterRadius": 40})
    pts_disp = _display(points, opts)
    items = []
    for code, geom in zip(points.index, pts_disp.geometry):
        category = points.loc[code, "category"]
        icon, color = CATEGORY_ICONS.get(category, _DEFAULT_ICON)
        pt = geom if geom.geom_type == "Point" else geom.representative_point()
        items.append(
            {
                "at": [round(pt.y, 7), round(pt.x, 7)],
                "fa": icon,
                "color": color,
                "tip": safe.text(points.loc[code, "name"], missing=safe.MISSING),
                "popup": point_popup(model, code, page_base=opts.page_base),
            }
        )
    cluster.add_child(JsonMarkers(items))
    cluster.add_to(point_group)
    point_group.add_to(m)

    if extra is not None:  # hook: overlays of other modules (problems, issue 3)
        extra(m)
    county_view = grid_codes is None and unit_code is None
    layer_control = folium.LayerControl(collapsed=False)  # lives in the drawer (mapcontrols.Drawer)
    layer_control.add_to(m)
    bounds_frame = focus if focus is not None and len(focus) else (grids if len(grids) else model.towns)
    if len(bounds_frame):
        minx, miny, maxx, maxy = _display(
            gpd.GeoDataFrame(geometry=bounds_frame.geometry.values, crs="EPSG:4326"), opts
        ).total_bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(20, 20))
    m.add_child(_Legend(model, points))
    m.add_child(Interactions(api_base=opts.api_base, page_base=opts.page_base, crs=opts.display_crs))
    if county_view:  # village, group and sub-grids, the level switch and drill-down
        add_levels(m, model, display=lambda g: _display(g, opts), page_base=opts.page_base, tiled=False)
    m.add_child(Drawer(layer_control=layer_control, open_wide=county_view))  # last: sees every control
    return m


def _tiled_map(
    m: folium.Map,
    model: ResponsibilityModel,
    opts: MapOptions,
    *,
    grid_codes: list[str] | None,
    unit_code: str | None,
    focus: gpd.GeoDataFrame | None,
    extra: Callable[[folium.Map], object] | None,
) -> folium.Map:
    """build_map for a county too big to embed: the layers come from vector tiles, the page holds
    only the view (the county's or the focus's bounds), the styles and the scripts."""
    # only what a tiled page uses, so that its tiles are asked for sooner: no jQuery, Bootstrap's
    # script, awesome markers or glyphicons (Bootstrap's and Font Awesome's styles stay: page, legend)
    m.default_js = [pair for pair in m.default_js if pair[0] in TILED_PAGE_JS]
    m.default_css = [pair for pair in m.default_css if pair[0] in TILED_PAGE_CSS]
    # the view first: a tiled layer added before it (the problems') would fetch the default view's tiles
    if focus is not None and len(focus):
        box: tuple[float, float, float, float] | None = tuple(focus.total_bounds)
    else:
        box = county_bounds(model)
    if box is not None:
        minx, miny, maxx, maxy = _display(
            gpd.GeoDataFrame(geometry=[shapely.box(*box)], crs="EPSG:4326"), opts
        ).total_bounds
        m.add_child(FitView([[float(miny), float(minx)], [float(maxy), float(maxx)]], padding=(20, 20)))
    if extra is not None:
        extra(m)
    layer_control = folium.LayerControl(collapsed=False)
    layer_control.add_to(m)
    point_colors = {c: AWESOME_HEX.get(CATEGORY_ICONS[c][1], "#575757") for c in CATEGORY_ICONS}
    config = {
        "url": opts.tile_url,
        "layers": [
            {"name": s.name, "label": s.label, "min_zoom": s.min_zoom, "show": True}
            for s in TILE_LAYERS.values()
        ],
        "focus_grids": list(grid_codes) if grid_codes is not None else None,
        "unit": unit_code,
        "pages": opts.page_base,
        "point_colors": point_colors,
    }
    m.add_child(TiledLayers(config, layer_control=layer_control))
    m.add_child(_Legend(model, model.points if unit_code is None else model.points.iloc[:0]))
    m.add_child(Interactions(api_base=opts.api_base, page_base=opts.page_base, crs=opts.display_crs))
    county_view = grid_codes is None and unit_code is None
    if county_view:
        add_levels(m, model, display=lambda g: _display(g, opts), page_base=opts.page_base, tiled=True)
    m.add_child(Drawer(layer_control=layer_control, open_wide=county_view))
    return m


class _Legend(MacroElement):
    """The legend: grid colours, road colouring, point categories; shown in the map's drawer."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
          var map = {{ this._parent.get_name() }};
          var div = L.DomUtil.create('div', 'gm-legend');
          div.innerHTML = {{ this.html|tojson }};
          var slot = document.querySelector('#' + {{ (this._parent.get_name() ~ '_drawer')|tojson }} + ' [data-slot=legend]');
          if (slot) {
            slot.appendChild(div);  // in the map's drawer (mapcontrols.Drawer)
          } else {
            var legend = L.control({position: 'bottomright'});
            legend.onAdd = function() {
              L.DomEvent.disableScrollPropagation(div);
              L.DomEvent.disableClickPropagation(div);
              return div;
            };
            legend.addTo(map);
          }
          L.control.scale({imperial: false, maxWidth: 120}).addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, model: ResponsibilityModel, points: gpd.GeoDataFrame, *, expanded: bool = True
    ) -> None:
        super().__init__()
        self._name = "Legend"
        rows = [f"<details{' open' if expanded else ''}><summary class='gm-legend-title'>图例</summary>"]
        rows.append("<div><span class='gm-sw' style='border:2px dashed #555'></span>镇（街道）界</div>")
        rows.append(
            "<div><span class='gm-sw' style='background:#e6194b33;border:2px solid #e6194b'>"
            "</span>网格（各网格不同颜色）</div>"
        )
        rows.append(
            "<div><span class='gm-line' style='background:linear-gradient(90deg,#c0392b,#27ae60,"
            "#2980b9)'></span>责任路段（颜色区分包段单位）</div>"
        )
        rows.append(
            "<div><span class='gm-sw' style='background:#81c784;border:1px solid #2e7d32'></span>小区</div>"
        )
        rows.append("<div><span class='gm-line' style='background:#6fa8dc'></span>河流</div>")
        categories = sorted(points["category"].dropna().unique())
        if categories:
            rows.append("<div class='gm-legend-title'>考察点位类别</div><div class='gm-cats'>")
            for category in categories:
                icon, color = CATEGORY_ICONS.get(category, _DEFAULT_ICON)
                rows.append(
                    f"<div><i class='fa fa-{icon} gm-ic-{color}'></i> {safe.html_text(category)}</div>"
                )
            rows.append("</div>")
        rows.append("</details>")
        self.html = "".join(rows)
