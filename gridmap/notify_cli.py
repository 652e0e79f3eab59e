"""`gridmap notify worker`: the process that runs the chasing scan and delivers notices."""

from __future__ import annotations

import logging
import signal

import click

from gridmap.cliopen import open_reference, open_store
from gridmap.settings import load_settings


@click.group("notify")
def notify() -> None:
    """通知：发送进程（邮件、webhook）与催办扫描。"""


@notify.command("worker")
@click.option("--once", is_flag=True, help="只做一轮（扫描并发送一次）后退出。")
@click.option("--name", default=None, help="进程名称（记录在发送记录中；默认：主机名:进程号）。")
@click.option("--no-scan", is_flag=True, help="不做催办扫描，只发送通知。")
def worker(once: bool, name: str | None, no_scan: bool) -> None:
    """持续发送待发通知（失败自动重试），每分钟扫描即将到期、逾期、待回访的问题和领导每日汇总。"""
    from gridmap.notify.worker import Worker
    from gridmap.problems.chasing import scan as chase
    from gridmap.problems.context import context_from_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = load_settings()
    store = open_store(settings)
    runner = Worker(store, settings, name=name)
    if not no_scan:
        ctx = context_from_settings(store, open_reference(settings), settings)
        runner.scan = lambda now: chase(ctx, now=now)

    def stop(_signum, _frame) -> None:
        runner.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    channels = [c for c, on in (("邮件", settings.smtp_url), ("webhook", settings.webhook_url)) if on]
    click.echo(
        f"通知发送进程 {runner.name} 已启动：渠道 {'、'.join(channels) or '仅站内信'}，"
        f"每 {settings.notify_poll_seconds:g} 秒查看一次（数据库 {store.url}）",
        err=True,
    )
    runner.run(once=once)
    click.echo("通知发送进程已停止。", err=True)


commands = [notify]
