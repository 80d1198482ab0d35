"""Real parts for the notify tests: an SMTP server (aiosmtpd) and a webhook
receiver on 127.0.0.1 that checks each delivery's signature, plus the cases,
changes, saved searches and subscriptions they watch."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sqlalchemy as sa

from ctforeclosure.db import case_changes, subscriptions
from ctforeclosure.services import alerts, saved_searches, users, webhooks
from ctforeclosure.services import subscriptions as subs
from ctforeclosure.services.notify import SendSettings
from ctforeclosure.store.cases import upsert_cases
from tests.store.factory import make_case

SECRET_KEY = "notify-test-secret-key-0123456789"
#: When the tests' changes are seen and their notify runs run. A subscription
#: watches the changes seen from its making on: :func:`subscribe` dates the
#: subscriptions it makes an hour before this (the suite may reach a test half an
#: hour after importing it, when the real clock is far past an import-time NOW).
NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
SUBSCRIBED_AT = NOW - timedelta(hours=1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An aiosmtpd server on a fixed port, started and stopped at will; it keeps
    each message as it arrives, and answers it ``reply_after`` seconds later (a
    sender killed meanwhile has sent it without knowing)."""

    def __init__(self, port: int, reply_after: float = 0.0):
        self.port, self.messages, self.controller = port, [], None
        self.reply_after = reply_after

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        await asyncio.sleep(self.reply_after)
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class Receiver(ThreadingHTTPServer):
    """A webhook receiver: answers ``failure`` (500, or e.g. 503 with a
    ``Retry-After``) to the first ``failures`` posts, then 200 (after ``delay``
    seconds); keeps each post's delivery id, body and whether its signature
    verified."""

    def __init__(
        self,
        secret: str = "",
        failures: int = 0,
        delay: float = 0.0,
        failure: tuple[int, str | None] = (500, None),
    ):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secret, self.failures, self.delay = secret, failures, delay
        self.failure = failure
        self.posts: list[dict] = []
        self.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.server_address[1]}/hook"

    def delivered(self) -> list[dict]:
        return [p for p in self.posts if p["status"] == 200]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        signed = webhooks.verify(
            server.secret,
            self.headers["X-CTF-Timestamp"],
            self.headers["X-CTF-Signature"],
            body,
        )
        time.sleep(server.delay)
        with server.lock:
            failing = server.failures > 0
            status, retry_after = server.failure if failing else (200, None)
            server.failures -= 1
            server.posts.append(
                {
                    "delivery": self.headers["X-CTF-Delivery"],
                    "body": json.loads(body),
                    "signed": signed,
                    "status": status,
                }
            )
        self.send_response(status)
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.end_headers()

    def log_message(self, *args):
        pass


def serve(receiver: Receiver) -> threading.Thread:
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    return thread


def settings(smtp_port: int = 0) -> SendSettings:
    smtp = alerts.AlertChannels(
        smtp_host="127.0.0.1" if smtp_port else None,
        smtp_port=smtp_port,
        smtp_security="none",
        email_from="ctforeclosure@example.org",
    )
    return SendSettings(smtp, SECRET_KEY, ("127.0.0.1",), "https://ctf.example.org")


def staff(conn, email: str = "ann@example.org") -> users.User:
    return users.create_user(
        conn, email, "a long enough passphrase 1", "manager", actor="t"
    )


def search(conn, owner: users.User, query: dict, name: str = "Bethel") -> int:
    return saved_searches.create(
        conn, owner.id, name, "cases", query, shared=False, actor="t"
    ).id


def subscribe(conn, owner, search_id, events, **options) -> subs.Created:
    """Subscribe through the service, dated :data:`SUBSCRIBED_AT` at the latest (a
    frozen clock may date it earlier)."""
    made = subs.create(
        conn,
        owner,
        search_id,
        events=events,
        secret_key=SECRET_KEY,
        allow_hosts=("127.0.0.1",),
        **options,
    )
    conn.execute(
        subscriptions.update()
        .where(subscriptions.c.id == made.subscription.id)
        .values(created_at=min(made.subscription.created_at, SUBSCRIBED_AT))
    )
    return made


def new_cases(conn, town: str, count: int, start: int = 1, now=NOW) -> list[str]:
    """Store ``count`` new cases of ``town`` (each records a new_case change)."""
    found = []
    for n in range(start, start + count):
        case = make_case(f"HHDCV266{n:06d}S")
        case.search_town = town
        case.file_date = date(2026, 11, 30)
        found.append(case)
    upsert_cases(conn, found, now=now)
    return [c.docket_no for c in found]


def change(conn, docket_no: str, kind: str, old=None, new=None, now=NOW) -> int:
    """Record one change of a case, as the stores do."""
    return conn.execute(
        case_changes.insert()
        .values(
            docket_no=docket_no,
            kind=kind,
            field=kind,
            old_value=old,
            new_value=new,
            seen_at=now,
        )
        .returning(case_changes.c.id)
    ).scalar_one()


def outbox(conn) -> list:
    return conn.execute(
        sa.text(
            "SELECT o.channel, o.status, o.attempts, c.docket_no, c.kind, o.last_error"
            " FROM notification_outbox o JOIN case_changes c ON c.id = o.change_id"
            " ORDER BY o.id"
        )
    ).all()
