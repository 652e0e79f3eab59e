"""Commands for users, API keys and past cases: `gridmap user …`, `gridmap apikey …`, `gridmap import-problems`."""

from __future__ import annotations

from pathlib import Path

import click

from gridmap import auth
from gridmap.cliopen import open_store


def _setting(name: str):
    from gridmap.settings import load_settings

    return load_settings()[name]


@click.group("user")
def user() -> None:
    """管理用户（创建办、包片领导、责任单位、巡查员）。"""


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(sorted(auth.ROLES)),
    help="角色：office 创建办（管理员）、leader 包片领导、unit 责任单位、inspector 巡查员。",
)
@click.option("--unit", "unit_code", default=None, help="责任单位用户的单位代码。")
@click.option("--leader", "leader_code", default=None, help="包片领导用户的领导编号。")
@click.option(
    "--password",
    prompt="密码",
    hide_input=True,
    confirmation_prompt="再输入一次密码",
    help="密码（至少 8 个字符；不写则交互输入）。",
)
def user_add(name: str, role: str, unit_code: str | None, leader_code: str | None, password: str) -> None:
    """创建用户 NAME。系统没有默认密码。"""
    created = auth.add_user(
        open_store(),
        username=name,
        role=role,
        password=password,
        unit_code=unit_code,
        leader_code=leader_code,
    )
    extra = f"，单位 {created.unit_code}" if created.unit_code else ""
    extra += f"，领导 {created.leader_code}" if created.leader_code else ""
    click.echo(f"已创建用户 {created.username}（{created.role_label}{extra}）")


@user.command("token")
@click.argument("name")
@click.option("--days", type=float, default=None, help="有效天数（默认按设置 GRIDMAP_TOKEN_DAYS，90 天）。")
def user_token(name: str, days: float | None) -> None:
    """为用户 NAME 签发接口访问令牌（Bearer），只显示这一次。"""
    days = days if days is not None else _setting("GRIDMAP_TOKEN_DAYS")
    token = auth.issue_token(open_store(), username=name, days=days)
    click.echo(token)
    click.echo(
        f"请妥善保存：令牌只显示这一次，{days:g} 天后失效。调用接口时加请求头 "
        "Authorization: Bearer <令牌>；吊销用 `gridmap user revoke 用户名`",
        err=True,
    )


@user.command("password")
@click.argument("name")
@click.option("--password", prompt="新密码", hide_input=True, confirmation_prompt="再输入一次新密码")
def user_password(name: str, password: str) -> None:
    """修改用户 NAME 的密码（该用户已登录的会话和接口令牌随即失效）。"""
    auth.set_password(open_store(), username=name, password=password)
    click.echo(f"已修改用户 {name} 的密码；其已登录的会话和接口令牌均已失效")


@user.command("revoke")
@click.argument("name")
def user_revoke(name: str) -> None:
    """吊销用户 NAME 的全部接口令牌并结束其全部登录会话（密码不变）。"""
    sessions, tokens = auth.revoke(open_store(), username=name)
    click.echo(f"已吊销用户 {name} 的 {tokens} 个接口令牌，结束 {sessions} 个登录会话")


@user.command("disable")
@click.argument("name")
def user_disable(name: str) -> None:
    """停用用户 NAME：立即不能登录，已登录的会话和接口令牌随即失效。"""
    auth.set_active(open_store(), username=name, active=False)
    click.echo(f"已停用用户 {name}；其会话和接口令牌均已失效（恢复用 `gridmap user enable {name}`）")


@user.command("enable")
@click.argument("name")
def user_enable(name: str) -> None:
    """恢复已停用的用户 NAME（需要重新登录；接口令牌需重新签发）。"""
    auth.set_active(open_store(), username=name, active=True)
    click.echo(f"已恢复用户 {name}")


@user.command("list")
def user_list() -> None:
    """列出所有用户。"""
    for u in auth.list_users(open_store()):
        state = "" if u.active else "\t已停用"
        click.echo(f"{u.username}\t{u.role_label}\t{u.unit_code or u.leader_code or ''}{state}")


@click.group("apikey")
def apikey() -> None:
    """管理 Open311 接口密钥（api_key）。"""


def _sources() -> list[str]:
    from gridmap.problems.states import SOURCES

    return list(SOURCES)


@apikey.command("add")
@click.argument("name")
@click.option(
    "--source",
    type=click.Choice(_sources()),
    default="citizen",
    show_default=True,
    help="经此密钥上报的问题一律记为这个来源：citizen 市民、inspector 巡查员、"
    "assessment 测评反馈、media 媒体曝光；对方系统不能改。",
)
@click.option("--days", type=float, default=None, help="有效天数（默认按设置 GRIDMAP_APIKEY_DAYS，365 天）。")
def apikey_add(name: str, source: str, days: float | None) -> None:
    """为外部系统 NAME（如 12345 热线）签发 Open311 api_key，只显示这一次。"""
    days = days if days is not None else _setting("GRIDMAP_APIKEY_DAYS")
    key = auth.add_api_key(open_store(), name=name, source=source, days=days)
    click.echo(key)
    click.echo(
        f"请妥善保存：密钥只显示这一次，{days:g} 天后失效；来源固定为 {source}。"
        f"吊销用 `gridmap apikey revoke {name}`",
        err=True,
    )


@apikey.command("revoke")
@click.argument("name")
def apikey_revoke(name: str) -> None:
    """吊销外部系统 NAME 的 api_key，立即失效。"""
    auth.revoke_api_key(open_store(), name=name)
    click.echo(f"已吊销 {name} 的 api_key")


@apikey.command("list")
def apikey_list() -> None:
    """列出已签发的 api_key（名称、来源、到期时间；密钥本身不保存）。"""
    for key in auth.list_api_keys(open_store()):
        click.echo(f"{key.name}\t{key.source}\t到期 {auth.expiry_text(key.expires_at)}")


@click.command("import-problems")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--skip-bad", is_flag=True, help="只导入没有错的行，有错的行列在报告中（默认：有一行错就全部不导入）。"
)
@click.option("--dry-run", is_flag=True, help="只检查并报告，不写入数据库。")
@click.option(
    "--crs",
    type=click.Choice(["wgs84", "gcj02", "bd09"]),
    default=None,
    help="经纬度的坐标系：wgs84（默认，含 CGCS2000）、gcj02（高德/腾讯）、bd09（百度）。",
)
@click.option("--encoding", default=None, help="CSV 的文本编码（覆盖自动判断）：UTF-8、GBK 等。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出报告。")
def import_problems(
    file: Path, skip_bad: bool, dry_run: bool, crs: str | None, encoding: str | None, as_json: bool
) -> None:
    """从其他系统导出的 XLSX/CSV 导入历史案件（中文或英文表头），按位置分配网格，保留各环节时间。

    有错的行逐条列出（行号、字段、内容、应如何填写）。默认全部或全不：有一行错就不导入；
    加 --skip-bad 导入其余各行。已有的受理编号不重复导入。
    """
    import json
    import sys

    from gridmap.cliopen import open_reference
    from gridmap.problems.context import context_from_settings
    from gridmap.problems.history import import_history
    from gridmap.settings import load_settings

    settings = load_settings()
    ctx = context_from_settings(open_store(settings), open_reference(settings), settings)
    report = import_history(ctx, file, skip_bad=skip_bad, dry_run=dry_run, crs=crs, encoding=encoding)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(report.to_text())
    sys.exit(0 if report.ok else 1)


commands = [user, apikey, import_problems]
