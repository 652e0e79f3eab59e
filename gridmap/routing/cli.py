"""Patrol commands: `gridmap route` (a CSV of stops → JSON), `import-streets`, and `patrol-day` (the county's day)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from gridmap.errors import GridmapError

DEFAULT_TIME_LIMIT = 2.0  # seconds; the same as gridmap.routing.tsp.DEFAULT_TIME_LIMIT (checked by a test)


@click.command("route")
@click.argument("points", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--planar",
    is_flag=True,
    help="x、y 为平面坐标（米），按直线距离（四舍五入到整米）规划；否则为经纬度，沿路网规划。",
)
@click.option("--vehicles", type=int, default=1, show_default=True, help="巡查员人数。")
@click.option(
    "--max-length", type=float, default=None, help="每条路线的长度上限（米，含 service 列的现场折算长度）。"
)
@click.option("--start", default=None, help="出发点位的 id（默认：文件中第一个点位）。")
@click.option("--end", default=None, help="终点点位的 id（需与 --open 一起用）。")
@click.option(
    "--open", "open_path", is_flag=True, help="路线不回到起点（到 --end 结束，未给则在最后一个点位结束）。"
)
@click.option(
    "--time-limit",
    type=float,
    default=DEFAULT_TIME_LIMIT,
    show_default=True,
    help="求解时间上限（秒）；小问题会提前结束。",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="随机种子：同样的输入和种子给出同样的路线。"
)
def route(
    points: Path,
    planar: bool,
    vehicles: int,
    max_length: float | None,
    start: str | None,
    end: str | None,
    open_path: bool,
    time_limit: float,
    seed: int,
) -> None:
    """规划巡查路线：POINTS.csv 每行一个点位，列为 id,x,y（可选 mandatory,prize,service）。

    输出 JSON：{"routes": [{"stops": [...], "length": L}], "total_length": T, "dropped": [...]}。
    闭合路线的 stops 以起点开头、不重复列出终点，length 含返回起点的一段。
    mandatory 为 0 的点位可在预算不足时舍去（列在 dropped 中），prize 为它值得绕行的米数。
    """
    from gridmap.routing.plan import plan_patrols  # the solvers load only when a route is asked for
    from gridmap.routing.stops import read_stops

    try:
        stops = read_stops(points, planar=planar)
        network, snap = (None, None) if planar else _street_network()
        result = plan_patrols(
            stops,
            planar=planar,
            vehicles=vehicles,
            max_length=max_length,
            start=start,
            end=end,
            open_path=open_path,
            time_limit=time_limit,
            seed=seed,
            network=network,
            max_snap_m=snap,
        )
    except GridmapError as error:
        _fail(error)
    click.echo(json.dumps(result.as_dict(), ensure_ascii=False))


def _fail(error: GridmapError) -> NoReturn:
    click.echo(str(error), err=True)
    sys.exit(2 if error.status == 400 else 1)


def _settings_and_store():
    from gridmap.cliopen import open_store
    from gridmap.settings import load_settings

    settings = load_settings()
    return settings, open_store(settings)


def _street_network():
    """The store's street network (imported streets, else the segments layer) and the snap limit."""
    from gridmap.errors import InvalidInput
    from gridmap.routing.sources import load_network

    settings, store = _settings_and_store()
    try:
        network = load_network(store)
    except GridmapError as error:  # no streets at all: say what to do (exit 2, like other bad input)
        raise InvalidInput(error.message) from None
    return network, settings["GRIDMAP_PATROL_MAX_SNAP_M"]


@click.command("import-streets")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--clear", is_flag=True, help="删除已导入的路网，改用责任路段图层（segments）规划。")
def import_streets(file: Path | None, clear: bool) -> None:
    """导入 OpenStreetMap 路网（FILE.osm 或 FILE.osm.pbf，也可为 .osm.bz2/.osm.gz），供巡查路线使用。

    只取可步行或骑行的道路（highway=*，不含高速公路等），在共用节点处断开成路网；
    整体替换之前导入的路网。未导入时，巡查路线沿责任路段图层规划。
    """
    from gridmap.routing import sources

    try:
        _, store = _settings_and_store()
        if clear:
            sources.clear_streets(store)
            click.echo("已删除导入的路网：巡查路线改用责任路段图层（segments）。")
            return
        if file is None:
            raise click.UsageError("请给出路网文件 FILE（.osm 或 .osm.pbf），或用 --clear 删除已导入的路网")
        shown = file.name
        summary = sources.import_streets(store, file)
    except GridmapError as error:
        _fail(error)
    click.echo(
        f"已导入路网 {shown}：道路 {summary['ways']} 条，断开为 {summary['edges']} 段，"
        f"路口 {summary['nodes']} 个，总长 {summary['km']:.1f} 公里。"
    )
    if summary["components"] > 1:
        click.echo(
            f"注意：路网由 {summary['components']} 个互不连通的部分组成，最大的部分占总长的 "
            f"{summary['largest_share'] * 100:.1f}%。不在同一部分的点位之间无法规划路线，规划时会逐个列出。"
        )
    else:
        click.echo("路网连通：任意两点之间都有路可走。")


def _lonlat(text: str | None, what: str):
    if not text:
        return None
    parts = [p for p in text.replace("，", ",").split(",") if p.strip()]
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        raise click.BadParameter(f"{what} 应为“经度,纬度”，如 106.52,33.91，实际为“{text}”") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise click.BadParameter(f"{what} 的经纬度超出范围：{text}")
    return (lon, lat)


def _read_starts(path: Path) -> dict:
    """code,lon,lat[,end_lon,end_lat] per inspector."""
    import csv

    from gridmap.errors import InvalidInput
    from gridmap.io.encoding import decode_text

    try:
        text = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"无法读取出发点文件 {path}：{error.strerror or error}") from error
    decoded = decode_text(text, name=path.name, lenient=True, error=InvalidInput).text
    out = {}
    rows = list(csv.DictReader(decoded.splitlines()))
    for number, row in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        code = row.get("code") or row.get("编号")
        try:
            start = (float(row["lon"]), float(row["lat"]))
            end = (float(row["end_lon"]), float(row["end_lat"])) if row.get("end_lon") else None
        except (KeyError, ValueError):
            raise InvalidInput(
                f"出发点文件 {path.name} 第 {number} 行有误：应有列 code,lon,lat（可选 end_lon,end_lat），且为数字"
            ) from None
        if not code:
            raise InvalidInput(f"出发点文件 {path.name} 第 {number} 行缺少巡查员编号 code")
        out[code] = (start, end)
    return out


@click.command("patrol-day")
@click.option("--day", default=None, help="日期 YYYY-MM-DD（默认今天，北京时间）。")
@click.option("--inspector", "inspectors", multiple=True, help="只规划这些巡查员（编号，可重复）；默认全部。")
@click.option(
    "--mode", type=click.Choice(["walk", "bike"]), default=None, help="步行 walk 或骑行 bike（默认取设置）。"
)
@click.option("--hours", type=float, default=None, help="每人巡查小时数（默认取 GRIDMAP_PATROL_HOURS）。")
@click.option("--stop-minutes", type=float, default=None, help="每站停留分钟数（默认取设置）。")
@click.option(
    "--own-grids/--any-grid", default=None, help="只去本人负责的网格（默认取 GRIDMAP_PATROL_OWN_GRIDS）。"
)
@click.option(
    "--start-at", default=None, help="所有人统一的出发点“经度,纬度”（默认各自第一个网格中心附近的道路）。"
)
@click.option(
    "--starts",
    "starts_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="每人的出发点 CSV：code,lon,lat（可选 end_lon,end_lat 作为终点）。",
)
@click.option("--no-points", is_flag=True, help="不安排考察点位，只安排问题。")
@click.option("--no-problems", is_flag=True, help="不安排问题，只安排考察点位。")
@click.option(
    "--time-limit", type=float, default=None, help="求解时间上限（秒，默认取 GRIDMAP_PATROL_TIME_LIMIT）。"
)
@click.option("--seed", type=int, default=0, show_default=True, help="随机种子。")
@click.option("--save", is_flag=True, help="保存为当天的巡查计划（网页 /patrol 可查看、下载、签到）。")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="把每人的 GPX、KML 和 A4 路线单 PDF 写到这个目录。",
)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
def patrol_day(
    day,
    inspectors,
    mode,
    hours,
    stop_minutes,
    own_grids,
    start_at,
    starts_file,
    no_points,
    no_problems,
    time_limit,
    seed,
    save,
    out_dir,
    as_json,
) -> None:
    """规划全县（或部分巡查员）一天的巡查：必去点位（待核查、已超期的问题）全部安排，
    每人不超过一个工作日，放不下的可选点位列在最后。"""
    from gridmap.routing import county, patrols, routefiles, sources
    from gridmap.routing.options import options_from_settings

    try:
        settings, store = _settings_and_store()
        options = options_from_settings(
            settings,
            mode=mode,
            hours=hours,
            stop_minutes=stop_minutes,
            own_grids=own_grids,
            time_limit=time_limit,
            seed=seed,
        )
        starts = _read_starts(starts_file) if starts_file else None
        plan = county.plan_county_day(
            store,
            settings,
            day=day,
            inspectors=list(inspectors) or None,
            options=options,
            points=not no_points,
            problems=not no_problems,
            starts=starts,
            start_at=_lonlat(start_at, "--start-at"),
        )
        saved = patrols.save_day(store, plan, user=None, system=True) if save else []
    except GridmapError as error:
        _fail(error)
    if as_json:
        body = plan.as_dict()
        body["saved"] = saved
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        click.echo(plan.to_text())
        if saved:
            click.echo(f"已保存 {len(saved)} 份巡查计划（{plan.day}），可在网页 /patrol 查看、下载和签到。")
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        network = sources.load_network(store)
        for route_ in plan.routes:
            rec = route_.record(day=plan.day, mode=plan.options.mode)
            (out_dir / routefiles.filename(rec, "gpx")).write_bytes(routefiles.to_gpx(rec))
            (out_dir / routefiles.filename(rec, "kml")).write_bytes(routefiles.to_kml(rec))
            (out_dir / routefiles.filename(rec, "pdf")).write_bytes(
                routefiles.route_sheet(rec, streets=network.geoms, crs=network.crs)
            )
        click.echo(f"已写出 {len(plan.routes)} 人的 GPX、KML 和路线单 PDF 到 {out_dir}", err=as_json)


commands = [route, import_streets, patrol_day]
