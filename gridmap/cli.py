"""The `gridmap` command line: load, audit, whois, serve and the commands of later modules."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from gridmap.cliopen import open_reference, open_store
from gridmap.errors import GridmapError
from gridmap.passwords import secret_key
from gridmap.settings import load_settings


def _fail(error: GridmapError) -> None:
    click.echo(str(error), err=True)
    sys.exit(2 if error.status == 400 else 1)


class _Group(click.Group):
    """A group that turns domain errors into a clear message and a non-zero exit."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GridmapError as error:
            _fail(error)


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(cls=_Group)
@click.version_option(package_name="gridmap")
def main() -> None:
    """网格责任地图 gridmap：网格责任体系的数据、地图与服务。"""


@main.command("init-db")
def init_db() -> None:
    """创建或升级数据库结构。"""
    store = open_store()
    click.echo(f"数据库已就绪：{store.url}（结构版本 {store.migrate()}）")


@main.command("load")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--if-empty", is_flag=True, help="仅当数据库中还没有网格数据时才导入。")
def load(directory: Path, if_empty: bool) -> None:
    """导入数据目录（layers.gpkg + responsibility.xlsx），整体替换现有参考数据。"""
    from gridmap.reference import load_directory

    store = open_store()
    if if_empty and store.has_reference():
        click.echo("数据库中已有网格数据，跳过导入。")
        return
    result = load_directory(store, directory)
    counts = result.counts
    click.echo(
        f"已导入 {directory}（数据版本 {result.version}）：镇 {counts['towns']} 个，"
        f"网格 {counts['grids']} 个，路段 {counts['segments']} 条，考察点位 {counts['points']} 个，"
        f"小区 {counts['communities']} 个，县级领导 {counts['leaders']} 名，"
        f"责任单位 {counts['units']} 个"
    )
    for warning in result.warnings:
        click.echo(f"  {warning}")
    click.echo("审核：" + result.audit.to_text())


@main.command("audit")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.option(
    "--tolerance",
    default=None,
    type=float,
    help="缝隙/重叠的面积容差（平方米）。  [默认：设置 GRIDMAP_COVERAGE_TOLERANCE_M2]",
)
def audit(directory: Path | None, as_json: bool, tolerance: float | None) -> None:
    """审核网格责任图：网格缝隙、重叠、未落实责任的路段/点位/小区、错误引用。"""
    from gridmap.audit import audit_model
    from gridmap.io.read import read_dataset
    from gridmap.responsibility import build_model

    dataset = read_dataset(directory) if directory else open_store().read_dataset()
    report = audit_model(build_model(dataset), tolerance_m2=tolerance, settings=load_settings())
    if as_json:
        _echo_json(report.as_dict())
    else:
        click.echo(report.to_text())
    sys.exit(0 if report.ok else 1)


@main.command("whois")
@click.argument("lon")
@click.argument("lat")
def whois(lon: str, lat: str) -> None:
    """查询某一位置由谁负责（经度 纬度，EPSG:4326）。"""
    _echo_json(open_reference().whois().lookup(lon, lat))


@main.command("serve")
@click.option("--port", type=int, default=None, help="端口（默认取 PORT 设置，5000）。")
@click.option("--host", default=None, help="监听地址（默认取 GRIDMAP_HOST，127.0.0.1）。")
@click.option("--workers", type=int, default=None, help="工作进程数（默认取 GRIDMAP_WORKERS）。")
def serve(port: int | None, host: str | None, workers: int | None) -> None:
    """用 gunicorn（gevent 工作进程）启动网页服务。"""
    import shutil

    from gridmap.serving import gunicorn_argv

    settings = load_settings()
    port = port or settings["PORT"]
    host = host or settings["GRIDMAP_HOST"]
    workers = workers or settings["GRIDMAP_WORKERS"]
    store = open_store(settings)  # migrate once, before workers fork
    secret_key(settings, store)  # generated once into the database when not configured
    if not store.has_reference():
        click.echo("提示：数据库中还没有网格数据，请先运行 `gridmap load geodata/demo`。", err=True)
    click.echo(f"网格责任地图服务：http://{host}:{port}/  （数据库 {store.url}）")
    # maps drawn by an earlier version of the code are not served again
    shutil.rmtree(Path(settings["GRIDMAP_INSTANCE_DIR"]) / "print-cache", ignore_errors=True)
    env = dict(os.environ, PORT=str(port))
    argv = gunicorn_argv(host=host, port=port, workers=workers)
    sys.stdout.flush()
    os.execve(sys.executable, argv, env)


# Modules that add commands: each has `commands`, a list of click commands. Add yours here.
COMMAND_MODULES: tuple[str, ...] = (
    "gridmap.routing.cli",
    "gridmap.importer_cli",
    "gridmap.problems.cli",
    "gridmap.printmap.cli",
    "gridmap.basemap_cli",
    "gridmap.notify_cli",
    "gridmap.evaluation.cli",
    "gridmap.notice.cli",
)


def _register_commands() -> None:
    import importlib

    for module in COMMAND_MODULES:
        for command in importlib.import_module(module).commands:
            main.add_command(command)


_register_commands()

if __name__ == "__main__":
    main()
