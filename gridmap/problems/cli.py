"""Commands for users, API tokens and Open311 keys: `gridmap user …`, `gridmap apikey …`."""

from __future__ import annotations

import click

from gridmap import auth


def _store():
    from gridmap.settings import load_settings
    from gridmap.store import Store

    return Store(load_settings()["GRIDMAP_DATABASE_URL"])


@click.group("user")
def user() -> None:
    """管理用户（创建办、包片领导、责任单位、巡查员）。"""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(sorted(auth.ROLES)),
              help="角色：office 创建办（管理员）、leader 包片领导、unit 责任单位、inspector 巡查员。")
@click.option("--unit", "unit_code", default=None, help="责任单位用户的单位代码。")
@click.option("--leader", "leader_code", default=None, help="包片领导用户的领导编号。")
@click.option("--password", prompt="密码", hide_input=True, confirmation_prompt="再输入一次密码",
              help="密码（至少 8 个字符；不写则交互输入）。")
def user_add(name: str, role: str, unit_code: str | None, leader_code: str | None, password: str) -> None:
    """创建用户 NAME。系统没有默认密码。"""
    created = auth.add_user(_store(), username=name, role=role, password=password,
                            unit_code=unit_code, leader_code=leader_code)
    extra = f"，单位 {created.unit_code}" if created.unit_code else ""
    extra += f"，领导 {created.leader_code}" if created.leader_code else ""
    click.echo(f"已创建用户 {created.username}（{created.role_label}{extra}）")


@user.command("token")
@click.argument("name")
def user_token(name: str) -> None:
    """为用户 NAME 签发接口访问令牌（Bearer），只显示这一次。"""
    token = auth.issue_token(_store(), username=name)
    click.echo(token)
    click.echo("请妥善保存：令牌只显示这一次。调用接口时加请求头 Authorization: Bearer <令牌>", err=True)


@user.command("password")
@click.argument("name")
@click.option("--password", prompt="新密码", hide_input=True, confirmation_prompt="再输入一次新密码")
def user_password(name: str, password: str) -> None:
    """修改用户 NAME 的密码。"""
    auth.set_password(_store(), username=name, password=password)
    click.echo(f"已修改用户 {name} 的密码")


@user.command("list")
def user_list() -> None:
    """列出所有用户。"""
    for u in auth.list_users(_store()):
        click.echo(f"{u.username}\t{u.role_label}\t{u.unit_code or u.leader_code or ''}")


@click.group("apikey")
def apikey() -> None:
    """管理 Open311 接口密钥（api_key）。"""


@apikey.command("add")
@click.argument("name")
def apikey_add(name: str) -> None:
    """为外部系统 NAME（如 12345 热线）签发 Open311 api_key，只显示这一次。"""
    key = auth.add_api_key(_store(), name=name)
    click.echo(key)
    click.echo("请妥善保存：密钥只显示这一次。", err=True)


commands = [user, apikey]
