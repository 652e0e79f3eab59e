"""The `gridmap route` command: plan the day's patrols from a CSV of stops and print them as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gridmap.errors import GridmapError

DEFAULT_TIME_LIMIT = 2.0  # seconds; the same as gridmap.routing.tsp.DEFAULT_TIME_LIMIT (checked by a test)


@click.command("route")
@click.argument("points", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--planar", is_flag=True, help="x、y 为平面坐标（米），按直线距离（四舍五入到整米）规划；否则为经纬度，沿路网规划。")
@click.option("--vehicles", type=int, default=1, show_default=True, help="巡查员人数。")
@click.option("--max-length", type=float, default=None, help="每条路线的长度上限（米，含 service 列的现场折算长度）。")
@click.option("--start", default=None, help="出发点位的 id（默认：文件中第一个点位）。")
@click.option("--end", default=None, help="终点点位的 id（需与 --open 一起用）。")
@click.option("--open", "open_path", is_flag=True, help="路线不回到起点（到 --end 结束，未给则在最后一个点位结束）。")
@click.option(
    "--time-limit", type=float, default=DEFAULT_TIME_LIMIT, show_default=True, help="求解时间上限（秒）；小问题会提前结束。"
)
@click.option("--seed", type=int, default=0, show_default=True, help="随机种子：同样的输入和种子给出同样的路线。")
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
        )
    except GridmapError as error:
        click.echo(str(error), err=True)
        sys.exit(2 if error.status == 400 else 1)
    click.echo(json.dumps(result.as_dict(), ensure_ascii=False))


commands = [route]
