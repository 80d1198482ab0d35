"""Tell an operator when something needs a human: a failed crawl, a failed monitor
check, an exhausted skip-trace budget, many failed sign-ins on one account.

Channels, each optional, from the environment (read by ``ctforeclosure.config``):

- webhook: ``ALERT_WEBHOOK_URL`` gets a JSON POST ``{"kind", "subject", "text",
  "details", "host", "at"}`` (``text`` makes it a valid Slack/Mattermost message);
- email: ``SMTP_HOST``, ``SMTP_PORT`` (587), ``SMTP_USERNAME``, ``SMTP_PASSWORD``,
  ``SMTP_SECURITY`` (``starttls`` default, ``ssl`` or ``none``), ``ALERT_EMAIL_FROM``
  (default ``ctforeclosure@<hostname>``) and ``ALERT_EMAIL_TO`` (comma-separated).

Alerts carry no personal data: callers pass counts, job ids, towns and reasons, and
:func:`scrub` masks anything that still looks like an email, a phone number or a
URL password. Sending never raises: a broken channel is logged, the crawl goes on.

Callers: the crawl extension ``ctforeclosure.extensions.alerts`` for crawls that
end badly; the monitor and skip-trace code call :func:`monitor_failed` and
:func:`skiptrace_budget_exhausted`; ``ctforeclosure jobs`` lists crashed jobs; the
web UI's sign-in calls :func:`login_failures_on_account`.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage

import requests

from ctforeclosure import config

__all__ = [
    "Alert",
    "AlertChannels",
    "crawl_failed",
    "login_failures_on_account",
    "monitor_failed",
    "routine_failed",
    "scrub",
    "send",
    "send_message",
    "send_report",
    "skiptrace_budget_exhausted",
    "test_alert",
]

logger = logging.getLogger(__name__)

TIMEOUT = 15.0

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_RE = re.compile(r"(?<!\d)(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}(?!\d)")
_URL_PASSWORD_RE = re.compile(r"(//[^:/@\s]+:)[^@\s]+@")


def scrub(text: str) -> str:
    """Mask emails, phone numbers and URL passwords in ``text``."""
    text = _URL_PASSWORD_RE.sub(r"\1***@", text)
    text = _EMAIL_RE.sub("[email]", text)
    return _PHONE_RE.sub("[phone]", text)


@dataclass(frozen=True)
class Alert:
    """What happened, in words an operator can act on, and a few safe facts."""

    # crawl_failed | monitor_failed | skiptrace_budget_exhausted | login_failures
    kind: str
    subject: str
    details: dict[str, str | int | float | bool | None] = field(default_factory=dict)

    def text(self) -> str:
        lines = [scrub(self.subject)]
        lines += [f"{k}: {scrub(str(v))}" for k, v in self.details.items()]
        return "\n".join(lines)


@dataclass(frozen=True)
class AlertChannels:
    """Where alerts go, from the configuration by :meth:`from_config`."""

    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_security: str = "starttls"
    email_from: str | None = None
    email_to: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, cfg: config.Config) -> AlertChannels:
        """Return the channels the configuration names (see the module docstring)."""
        return cls(
            webhook_url=cfg.alert_webhook_url,
            smtp_host=cfg.smtp_host,
            smtp_port=int(cfg.smtp_port or 587),
            smtp_username=cfg.smtp_username,
            smtp_password=cfg.smtp_password,
            smtp_security=cfg.smtp_security,
            email_from=cfg.alert_email_from or f"ctforeclosure@{socket.gethostname()}",
            email_to=cfg.alert_email_to,
        )

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.email_to)

    @property
    def smtp_enabled(self) -> bool:
        """Whether an SMTP server is configured (alert recipients or not)."""
        return bool(self.smtp_host)


def _post_webhook(alert: Alert, url: str) -> None:
    payload = {
        "kind": alert.kind,
        "subject": scrub(alert.subject),
        "text": alert.text(),
        "details": {k: scrub(str(v)) for k, v in alert.details.items()},
        "host": socket.gethostname(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    response = requests.post(url, json=payload, timeout=TIMEOUT)
    response.raise_for_status()


def _send_email(alert: Alert, channels: AlertChannels, body: str | None = None) -> None:
    message = EmailMessage()
    message["Subject"] = f"[ctforeclosure] {scrub(alert.subject)}"
    message["From"] = channels.email_from
    message["To"] = ", ".join(channels.email_to)
    message.set_content(scrub(body) if body is not None else alert.text() + "\n")
    send_message(message, channels)


def send_message(message: EmailMessage, channels: AlertChannels) -> None:
    """Send one email through the configured SMTP server (alerts, reports, and the
    web UI's password-reset and invitation links); raises ``OSError`` or
    ``SMTPException``."""
    host, port = channels.smtp_host, channels.smtp_port
    if channels.smtp_security == "ssl":
        smtp = smtplib.SMTP_SSL(
            host, port, timeout=TIMEOUT, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, port, timeout=TIMEOUT)
    with smtp:
        if channels.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if channels.smtp_username:
            smtp.login(channels.smtp_username, channels.smtp_password or "")
        smtp.send_message(message)


def send(alert: Alert, channels: AlertChannels | None = None) -> list[str]:
    """Deliver the alert on every configured channel; return those that worked."""
    channels = channels or AlertChannels.from_config(config.load())
    delivered: list[str] = []
    if channels.webhook_url:
        try:
            _post_webhook(alert, channels.webhook_url)
            delivered.append("webhook")
        except requests.RequestException as exc:
            logger.warning("alert webhook failed: %s", type(exc).__name__)
    if channels.email_enabled:
        try:
            _send_email(alert, channels)
            delivered.append("email")
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning("alert email failed: %s", type(exc).__name__)
    if not delivered and (channels.webhook_url or channels.email_enabled):
        logger.error("alert not delivered on any channel: %s", alert.kind)
    return delivered


def crawl_failed(
    *,
    spider: str,
    reason: str,
    job_id: str | None = None,
    node: str | None = None,
    towns: str | None = None,
    channels: AlertChannels | None = None,
) -> list[str]:
    """Alert that a crawl ended badly (crashed, cancelled, stopped with errors)."""
    details = {"spider": spider, "reason": reason, "job": job_id, "node": node}
    if towns:
        details["towns"] = towns
    alert = Alert(
        "crawl_failed",
        f"crawl {spider} failed: {reason}",
        {k: v for k, v in details.items() if v is not None},
    )
    return send(alert, channels)


def monitor_failed(
    *,
    checks: list[str],
    crawl_id: int | None = None,
    spider: str | None = None,
    channels: AlertChannels | None = None,
) -> list[str]:
    """Alert that monitor checks failed after a crawl (``checks``: their names)."""
    details = {"checks": ", ".join(checks), "crawl_id": crawl_id, "spider": spider}
    alert = Alert(
        "monitor_failed",
        f"{len(checks)} monitor check(s) failed",
        {k: v for k, v in details.items() if v is not None},
    )
    return send(alert, channels)


def skiptrace_budget_exhausted(
    *,
    spent: float | None = None,
    budget: float | None = None,
    period: str | None = None,
    message: str | None = None,
    channels: AlertChannels | None = None,
) -> list[str]:
    """Alert that skip tracing stopped because its spending budget is used up.

    Pass the figures, or the ``BudgetExceeded`` message (it names amounts only).
    """
    details = {
        "spent": None if spent is None else round(spent, 2),
        "budget": None if budget is None else round(budget, 2),
        "period": period,
        "message": message,
    }
    alert = Alert(
        "skiptrace_budget_exhausted",
        "skip-trace budget exhausted" + (f" ({period})" if period else ""),
        {k: v for k, v in details.items() if v is not None},
    )
    return send(alert, channels)


def login_failures_on_account(
    *, user_id: int, failures: int, channels: AlertChannels | None = None
) -> list[str]:
    """Alert that one account had many failed sign-ins, from any addresses.

    Names the account by its id (the admin pages and the audit log give its email):
    no email in an alert.
    """
    alert = Alert(
        "login_failures",
        f"{failures} failed sign-ins on one account (user id {user_id})",
        {
            "user_id": user_id,
            "failures": failures,
            "what": "someone may be guessing its password; the account is not"
            " locked (see the audit log, action login.failed)",
        },
    )
    return send(alert, channels)


def routine_failed(
    *, routine: str, reason: str, code: int, channels: AlertChannels | None = None
) -> list[str]:
    """Alert that a scheduled routine (``ctforeclosure routine ...``) failed."""
    alert = Alert(
        "routine_failed",
        f"routine {routine} failed: {reason}",
        {"routine": routine, "exit_code": code, "reason": reason},
    )
    return send(alert, channels)


def test_alert(*, by: str, channels: AlertChannels | None = None) -> list[str]:
    """Send a test alert on every channel (the status page's button)."""
    alert = Alert("test", "test alert: the alert channels work", {"requested_by": by})
    return send(alert, channels)


def send_report(subject: str, text: str, channels: AlertChannels) -> None:
    """Email a report (counts only) to ``ALERT_EMAIL_TO``; raise when it fails."""
    _send_email(Alert("report", subject, {}), channels, body=text)
