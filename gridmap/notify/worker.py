"""The notification worker: plan deliveries, take them under a lease, send, record every attempt, retry."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping

from gridmap.accounts import repository as accounts
from gridmap.clock import Clock, utcnow
from gridmap.errors import ConfigError
from gridmap.notify import channels, repository
from gridmap.notify.repository import Claimed
from gridmap.settings import Settings
from gridmap.store import Store

__all__ = ["Worker"]

log = logging.getLogger("gridmap.notify")

# An attempt is only started with this many timeouts of the lease left: an SMTP exchange is a few
# steps, each with its own timeout, and the lease must outlast the attempt or another worker
# would take the delivery and send it a second time.
LEASE_MARGIN_TIMEOUTS = 4
SCAN_EVERY_S = 60.0


class Worker:
    """Delivers the outbox's notices by the channels the settings switch on; several may run at once."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        name: str | None = None,
        scan: Callable[[dt.datetime], object] | None = None,
        clock: Clock = utcnow,
        batch: int = 50,
    ) -> None:
        if settings.notify_lease_seconds < (LEASE_MARGIN_TIMEOUTS + 1) * settings.notify_timeout_seconds:
            msg = (
                f"GRIDMAP_NOTIFY_LEASE_SECONDS（{settings.notify_lease_seconds:g} 秒）应至少为 "
                f"GRIDMAP_NOTIFY_TIMEOUT_SECONDS（{settings.notify_timeout_seconds:g} 秒）的 "
                f"{LEASE_MARGIN_TIMEOUTS + 1} 倍，否则一次发送可能超过独占时间而被重复发送；请调大前者或调小后者"
            )
            raise ConfigError(msg)
        self.store = store
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.scan = scan
        self.clock = clock
        self.batch = batch
        self.stopping = threading.Event()
        self._last_scan: float | None = None

    # --- one round ----------------------------------------------------------------------
    def channels_for(self, row: object) -> list[str]:
        """The channels a notice goes by: email when SMTP is on and a recipient has an email; the webhook when on."""
        out: list[str] = []
        names = repository.recipients_of(row)
        if (
            self.settings.smtp_url
            and names
            and any(c.email for c in accounts.contacts(self.store, names).values())
        ):
            out.append("email")
        if self.settings.webhook_url:
            out.append("webhook")
        return out

    def deliver(self) -> int:
        """Plan new notices, then take and send the due deliveries once; returns how many attempts were made."""
        s = self.settings
        repository.plan(self.store, channels=self.channels_for, now=self.clock())
        taken = repository.claim(
            self.store, worker=self.name, now=self.clock(), lease_s=s.notify_lease_seconds, limit=self.batch
        )
        lease_end = time.monotonic() + s.notify_lease_seconds
        margin = LEASE_MARGIN_TIMEOUTS * s.notify_timeout_seconds
        found = accounts.contacts(self.store, {name for item in taken for name in item.recipients})
        made = 0
        for index, item in enumerate(taken):
            if self.stopping.is_set() or time.monotonic() + margin > lease_end:
                repository.release(self.store, [t.id for t in taken[index:]], worker=self.name)
                break
            self._attempt(item, found)
            made += 1
        return made

    def _attempt(self, item: Claimed, found: Mapping[str, accounts.Contact]) -> None:
        s = self.settings
        started = time.monotonic()
        try:
            outcome = self._send(item, found)
        except Exception as exc:  # a bug in a channel must not stop the worker
            log.exception("delivery %s failed unexpectedly", item.id)
            outcome = channels.Outcome(False, error=f"发送时出错：{exc!r}")
        status = repository.finish(
            self.store,
            item.id,
            worker=self.name,
            ok=outcome.ok,
            now=self.clock(),
            max_attempts=s.notify_max_attempts,
            retry_s=s.notify_retry_seconds,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        if not outcome.ok:
            log.warning(
                "delivery %s (%s) attempt %d: %s -> %s",
                item.id,
                item.channel,
                item.attempts + 1,
                outcome.error,
                status,
            )

    def _send(self, item: Claimed, found: Mapping[str, accounts.Contact]) -> channels.Outcome:
        """One attempt by the item's channel; ``found`` holds the contacts (taken when the batch was)."""
        s = self.settings
        if item.channel == "webhook":
            if not s.webhook_url:
                return channels.Outcome(False, error="webhook 已关闭（GRIDMAP_WEBHOOK_URL 为空）")
            people = []
            for name in item.recipients:
                person: dict[str, object] = {"username": name}
                contact = found.get(name)
                if contact is not None:
                    person.update(
                        {k: v for k, v in (("phone", contact.phone), ("email", contact.email)) if v}
                    )
                people.append(person)
            body = channels.webhook_body(
                outbox_id=item.outbox_id,
                event=item.event,
                message=item.message,
                tracking_no=item.tracking_no,
                unit_code=item.unit_code,
                recipients=people,
                phone=item.phone,
                created_at=item.created_at,
                attempt=item.attempts + 1,
                now=self.clock(),
                extra=item.extra,
            )
            return channels.send_webhook(s.webhook_url, body, timeout=s.notify_timeout_seconds)
        if item.channel == "email":
            if not s.smtp_url:
                return channels.Outcome(False, error="邮件已关闭（GRIDMAP_SMTP_URL 为空）")
            to = [c.email for c in found.values() if c.email]
            if not to:
                return channels.Outcome(True, error="收件人都没有填写电子邮箱，未发送")
            mail = channels.email_message(
                sender=s.smtp_from,
                to=sorted(to),
                event=item.event,
                message=item.message,
                tracking_no=item.tracking_no,
                outbox_id=item.outbox_id,
            )
            return channels.send_email(s.smtp_url, mail, timeout=s.notify_timeout_seconds)
        return channels.Outcome(False, error=f"未知的发送渠道 {item.channel}")

    # --- the loop ---------------------------------------------------------------------
    def run_scan(self) -> None:
        """Run the periodic scan (reminders, overdue, escalation, follow-ups, digest) if one is set."""
        if self.scan is None:
            return
        try:
            self.scan(self.clock())
        except Exception:
            log.exception("the chasing scan failed")

    def round(self) -> int:
        """One round: the scan when a minute has passed since the last one, then deliveries."""
        clock = time.monotonic()
        if self._last_scan is None or clock - self._last_scan >= SCAN_EVERY_S:
            self._last_scan = clock
            self.run_scan()
        return self.deliver()

    def run(self, *, once: bool = False) -> None:
        """Loop until ``stopping`` is set (SIGTERM): a round, then wait the poll interval unless work is left."""
        while not self.stopping.is_set():
            try:
                made = self.round()
            except Exception:
                log.exception("a delivery round failed")
                made = 0
            if once:
                return
            if made < self.batch:
                self.stopping.wait(self.settings.notify_poll_seconds)
