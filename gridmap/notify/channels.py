"""The channels a notice travels by: email over SMTP and a JSON POST to a webhook."""

from __future__ import annotations

import datetime as dt
import json
import smtplib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from gridmap.clock import iso
from gridmap.notify.notice import event_label

__all__ = ["Outcome", "email_message", "send_email", "send_webhook", "webhook_body"]


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: ok, the HTTP status or SMTP reply code, and the error in words."""

    ok: bool
    status_code: int | None = None
    error: str | None = None


def notice_id(outbox_id: int) -> str:
    """The stable id of a notice: the same on every attempt, so a receiver can drop a repeat."""
    return f"gridmap-notice-{outbox_id}"


def problem_path(tracking_no: str | None) -> str | None:
    """Where the problem's page is on the gridmap site (a path; the site's address is the county's)."""
    return None if not tracking_no else f"/problems/{urllib.parse.quote(tracking_no)}"


def webhook_body(
    *,
    outbox_id: int,
    event: str,
    message: str,
    tracking_no: str | None,
    unit_code: str | None,
    recipients: Sequence[Mapping[str, object]],
    phone: str | None,
    created_at: dt.datetime,
    attempt: int,
    now: dt.datetime,
    extra: Mapping[str, object] | None = None,
) -> dict:
    """The JSON body POSTed for one notice (documented in the README's notification section)."""
    body: dict = {
        "id": notice_id(outbox_id),
        "event": event,
        "event_label": event_label(event),
        "message": message,
        "tracking_no": tracking_no,
        "unit_code": unit_code,
        "problem_url": problem_path(tracking_no),
        "recipients": [dict(r) for r in recipients],
        "sms": [phone] if phone else [],
        "created_at": iso(created_at),
        "sent_at": iso(now),
        "attempt": attempt,
        # what WeCom and DingTalk group robots read: the same message as plain text
        "msgtype": "text",
        "text": {"content": message},
    }
    if extra:
        body["extra"] = dict(extra)
    return body


def send_webhook(url: str, body: Mapping[str, object], *, timeout: float) -> Outcome:
    """POST the body as UTF-8 JSON; a 2xx answer is success, anything else is an error to retry."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": str(body.get("id", "")),
            "User-Agent": "gridmap-notify",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read(65536)
            return Outcome(True, status_code=int(answer.status))
    except urllib.error.HTTPError as exc:
        return Outcome(False, status_code=int(exc.code), error=f"webhook 返回 HTTP {exc.code}")
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Outcome(False, error=f"无法连接 webhook：{reason}")


def email_message(
    *, sender: str, to: Sequence[str], event: str, message: str, tracking_no: str | None, outbox_id: int
) -> EmailMessage:
    """The email of one notice: a Chinese subject and plain-text body, UTF-8."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    subject = f"【网格责任地图】{event_label(event)}"
    mail["Subject"] = f"{subject} {tracking_no}" if tracking_no else subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<{notice_id(outbox_id)}@gridmap>"
    path = problem_path(tracking_no)
    text = (
        message + (f"\n\n问题页面：{path}" if path else "") + "\n\n（网格责任地图自动发送，请勿直接回复）\n"
    )
    mail.set_content(text, charset="utf-8")
    return mail


def send_email(smtp_url: str, mail: EmailMessage, *, timeout: float) -> Outcome:
    """Send one email through the SMTP server smtp://[user:password@]host[:port]."""
    parts = urllib.parse.urlsplit(smtp_url)
    host, port = parts.hostname or "localhost", parts.port or 25
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if parts.username:
                smtp.login(urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
            refused = smtp.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        return Outcome(
            False, status_code=int(exc.smtp_code), error=f"邮件服务器拒绝：{exc.smtp_code} {exc.smtp_error!r}"
        )
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome(False, error=f"邮件服务器拒收所有收件人：{', '.join(exc.recipients)}")
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, error=f"无法通过 {host}:{port} 发送邮件：{exc}")
    if refused:
        return Outcome(True, status_code=250, error=f"部分收件人被拒收：{', '.join(refused)}")
    return Outcome(True, status_code=250)
