"""Alerts reach a real local webhook receiver and a real local SMTP server."""

from __future__ import annotations

import json
import socket
import warnings
from email import message_from_bytes

import pytest

from ctforeclosure import config
from ctforeclosure.services import alerts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    """An aiosmtpd SMTP server on 127.0.0.1 that requires a login."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    class Keep:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"alerts" and auth_data.password == b"smtp-pw"
        return AuthResult(success=ok)

    handler = Keep()
    # Plain-text AUTH is fine on 127.0.0.1; aiosmtpd warns about it anywhere else.
    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=authenticate,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    controller.handler_obj = handler
    yield controller
    controller.stop()


def test_send_posts_the_alert_to_the_webhook(webhook):
    channels = alerts.AlertChannels(webhook_url=webhook.url)
    delivered = alerts.crawl_failed(
        spider="cases",
        reason="OperationalError: connection refused",
        job_id="cases-1",
        node="http://127.0.0.1:6800",
        towns="Hartford",
        channels=channels,
    )
    assert delivered == ["webhook"]
    [payload] = webhook.received
    assert payload["kind"] == "crawl_failed"
    assert "connection refused" in payload["text"]
    assert payload["details"]["towns"] == "Hartford"


def test_send_masks_personal_data_and_url_passwords(webhook):
    channels = alerts.AlertChannels(webhook_url=webhook.url)
    alerts.crawl_failed(
        spider="cases",
        reason=(
            "bad row for jane.roe@example.com (860) 555-0123 "
            "via postgresql://ctf:hunter2@db/ctf"
        ),
        channels=channels,
    )
    text = json.dumps(webhook.received)
    for secret in ("jane.roe@example.com", "555-0123", "hunter2"):
        assert secret not in text
    assert "[email]" in text and "[phone]" in text


def test_send_emails_the_alert_through_smtp_with_login(smtp_server):
    channels = alerts.AlertChannels(
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_username="alerts",
        smtp_password="smtp-pw",
        smtp_security="none",
        email_from="ctf@example.org",
        email_to=("ops@example.org", "oncall@example.org"),
    )
    delivered = alerts.skiptrace_budget_exhausted(
        spent=250.0, budget=250.0, period="2026-11", channels=channels
    )
    assert delivered == ["email"]
    [envelope] = smtp_server.handler_obj.messages
    assert envelope.rcpt_tos == ["ops@example.org", "oncall@example.org"]
    message = message_from_bytes(envelope.content)
    assert message["Subject"] == "[ctforeclosure] skip-trace budget exhausted (2026-11)"
    assert "spent: 250.0" in message.get_payload()


def test_send_survives_broken_channels(smtp_server):
    channels = alerts.AlertChannels(
        webhook_url=f"http://127.0.0.1:{_free_port()}/nobody",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_username="alerts",
        smtp_password="wrong",
        smtp_security="none",
        email_to=("ops@example.org",),
    )
    assert alerts.monitor_failed(checks=["zero_cases"], channels=channels) == []
    assert smtp_server.handler_obj.messages == []


def test_alert_channels_from_config(monkeypatch):
    monkeypatch.setenv("ALERT_WEBHOOK_URL", "http://127.0.0.1:9/x")
    monkeypatch.setenv("SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("SMTP_PASSWORD", "pw-not-in-repr")
    monkeypatch.setenv("ALERT_EMAIL_TO", "a@example.org, b@example.org")
    channels = alerts.AlertChannels.from_config(config.load())
    assert channels.email_to == ("a@example.org", "b@example.org")
    assert channels.smtp_port == 587
    assert channels.email_enabled
    assert "pw-not-in-repr" not in repr(channels)
