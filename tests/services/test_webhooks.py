"""Subscription webhooks against real HTTP receivers on 127.0.0.1: signed, never
redirected, never to a private address unless allow-listed, pinned to the address
that was checked."""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import threading
import time
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa
import trustme
from flask import Flask, url_for

from ctforeclosure import config, db
from ctforeclosure.services import webhooks
from ctforeclosure.store.cases import upsert_cases
from tests.store.factory import make_case

SECRET = "whsec_test-secret"
#: A path and query as receivers hand them out: they must never show in an error.
TOKEN_PATH = "/hooks/T0K3N?token=T0K3N"
PAYLOAD = {"event": "judgment", "text": "Judgment entered — X", "n": 1}


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        server = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.received.append({"headers": dict(self.headers), "body": body})
        if server.delay:
            server.release.wait(server.delay)
        self.send_response(server.status)
        for name, value in server.answer_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Receiver(ThreadingHTTPServer):
    """A webhook receiver that keeps what it is sent and answers ``status``."""

    daemon_threads = True

    def __init__(
        self, host="127.0.0.1", port=0, status=200, headers=None, delay=0, tls=None
    ):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.address_family = family
        super().__init__((host, port), _Handler)
        if tls is not None:  # an ssl.SSLContext: this receiver speaks https
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.received, self.status, self.answer_headers = [], status, headers or {}
        self.delay, self.release = delay, threading.Event()
        serve = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        serve.start()

    def url(self, host=None, path=TOKEN_PATH, scheme="http") -> str:
        host = host or self.server_address[0]
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}:{self.server_port}{path}"

    def stop(self):
        self.release.set()
        self.shutdown()
        self.server_close()


@pytest.fixture
def receivers():
    """Return a function starting receivers, all stopped after the test."""
    started = []

    def start(**kwargs) -> Receiver:
        started.append(Receiver(**kwargs))
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


def _readme_recipe():
    """Return the README's ``genuine`` function, the receivers' documented check."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    after = readme.split("**Checking a delivery.**", 1)[1]
    code = after.split("```python\n", 1)[1].split("```", 1)[0]
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own README
    return scope["genuine"]


genuine = _readme_recipe()


def _assert_no_secret_parts(delivery: webhooks.Delivery):
    assert "T0K3N" not in delivery.error and SECRET not in delivery.error


# -- delivering ---------------------------------------------------------------------


def test_deliver_posts_signed_json_to_an_allow_listed_receiver(receivers, monkeypatch):
    receiver = receivers()
    monkeypatch.setenv("CTF_WEBHOOK_ALLOW_HOSTS", "other.example, 127.0.0.1")
    allow = config.load().webhook_allow_hosts

    delivery = webhooks.deliver(receiver.url(), SECRET, PAYLOAD, "d-41", allow)

    assert delivery == webhooks.Delivery(True, False, 200, "")
    [got] = receiver.received
    headers, body = got["headers"], got["body"]
    assert json.loads(body) == PAYLOAD
    assert headers["Content-Type"] == "application/json"
    assert headers["X-CTF-Delivery"] == "d-41"
    assert headers["Host"] == f"127.0.0.1:{receiver.server_port}"
    assert abs(int(headers["X-CTF-Timestamp"]) - time.time()) < 60
    assert genuine(SECRET, headers, body)
    assert not genuine("another secret", headers, body)
    assert not genuine(SECRET, headers, body + b" ")
    assert webhooks.verify(
        SECRET, headers["X-CTF-Timestamp"], headers["X-CTF-Signature"], body
    )


def test_deliver_logs_neither_the_url_path_nor_the_secret(receivers, caplog):
    receiver = receivers(status=500)
    caplog.set_level(logging.DEBUG)

    webhooks.deliver(receiver.url(), SECRET, PAYLOAD, "d", ["127.0.0.1"])
    logging.getLogger("urllib3.connectionpool").debug("after: %s", "kept")

    assert len(receiver.received) == 1
    assert "T0K3N" not in caplog.text and SECRET not in caplog.text
    assert "after: kept" in caplog.text  # urllib3 is quiet only while we send


def test_verify_refuses_a_changed_body_or_an_old_timestamp():
    body = b'{"a":1}'
    stamp = str(int(time.time()))
    signature = webhooks.sign(SECRET, stamp, body)
    assert webhooks.verify(SECRET, stamp, signature, body)
    assert not webhooks.verify(SECRET, stamp, signature, b'{"a":2}')
    later = time.time() + webhooks.TOLERANCE_SECONDS + 1
    assert not webhooks.verify(SECRET, stamp, signature, body, now=later)
    assert not webhooks.verify(SECRET, "not a time", signature, body)
    old = str(int(time.time()) - webhooks.TOLERANCE_SECONDS - 60)
    replayed = {
        "X-CTF-Timestamp": old,
        "X-CTF-Signature": webhooks.sign(SECRET, old, body),
    }
    assert genuine(SECRET, {**replayed, "X-CTF-Timestamp": stamp}, body) is False
    assert genuine(SECRET, replayed, body) is False
    assert genuine(
        SECRET, {"X-CTF-Timestamp": stamp, "X-CTF-Signature": signature}, body
    )


@pytest.mark.parametrize(
    ("status", "retry"),
    [(500, True), (503, True), (429, True), (410, False), (400, False)],
)
def test_deliver_tells_retry_from_permanent_failure(receivers, status, retry):
    receiver = receivers(status=status)

    delivery = webhooks.deliver(receiver.url(), SECRET, PAYLOAD, "d", ["127.0.0.1"])

    assert (delivery.ok, delivery.retry, delivery.status) == (False, retry, status)
    assert delivery.error == f"http://127.0.0.1 answered HTTP {status}"
    assert len(receiver.received) == 1


def test_deliver_never_follows_a_redirect(receivers):
    target = receivers()
    redirecting = receivers(status=302, headers={"Location": target.url()})

    delivery = webhooks.deliver(redirecting.url(), SECRET, PAYLOAD, "d", ["127.0.0.1"])

    assert (delivery.ok, delivery.retry, delivery.status) == (False, False, 302)
    assert "redirect" in delivery.error
    _assert_no_secret_parts(delivery)
    assert len(redirecting.received) == 1
    assert target.received == []


def test_deliver_times_out_and_asks_for_a_retry(receivers, monkeypatch):
    monkeypatch.setattr(webhooks, "READ_TIMEOUT", 0.3)
    receiver = receivers(delay=10)

    delivery = webhooks.deliver(receiver.url(), SECRET, PAYLOAD, "d", ["127.0.0.1"])

    assert delivery == webhooks.Delivery(
        False, True, None, "http://127.0.0.1: timed out"
    )


def test_deliver_retries_when_nothing_listens():
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}{TOKEN_PATH}"

    delivery = webhooks.deliver(url, SECRET, PAYLOAD, "d", ["127.0.0.1"])

    assert (delivery.ok, delivery.retry, delivery.status) == (False, True, None)
    assert delivery.error == (
        "http://127.0.0.1: connection failed (refused or unreachable)"
    )
    _assert_no_secret_parts(delivery)


@pytest.mark.parametrize(
    ("status", "retry_after", "wait"),
    [(429, "120", 120), (503, "7", 7), (429, None, None), (500, "9", None)],
)
def test_deliver_passes_on_how_long_the_receiver_asks_to_wait(
    receivers, status, retry_after, wait
):
    headers = {"Retry-After": retry_after} if retry_after else {}
    receiver = receivers(status=status, headers=headers)

    delivery = webhooks.deliver(receiver.url(), SECRET, PAYLOAD, "d", ["127.0.0.1"])

    assert (delivery.retry, delivery.retry_after) == (True, wait)


@pytest.mark.parametrize(
    ("secret", "delivery_id", "error"),
    [
        (
            SECRET,
            "d\r\nX-Evil: 1",
            "the delivery id must be printable ASCII without spaces",
        ),
        ("", "d", "the webhook has no signing secret"),
    ],
)
def test_deliver_refuses_what_it_cannot_send_safely(
    receivers, secret, delivery_id, error
):
    receiver = receivers()

    delivery = webhooks.deliver(
        receiver.url(), secret, PAYLOAD, delivery_id, ["127.0.0.1"]
    )

    assert delivery == webhooks.Delivery(False, False, None, error)
    assert receiver.received == []


# -- refused addresses --------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/h", "http:// only to a host in CTF_WEBHOOK_ALLOW"),
        ("https://127.0.0.1:{port}/h", "loopback address (127.0.0.1)"),
        ("https://localhost:{port}/h", "localhost resolves to a loopback address"),
        ("https://[::1]:{port}/h", "loopback address (::1)"),
        ("https://[::ffff:127.0.0.1]:{port}/h", "loopback address"),
        ("https://10.20.30.40/h", "private address (10.20.30.40)"),
        ("https://192.168.1.1/h", "private address"),
        ("https://169.254.169.254/latest/meta-data", "link-local address"),
        ("https://0.0.0.0:{port}/h", "unspecified address"),
        ("https://224.0.0.1/h", "multicast address"),
        ("https://100.64.0.1/h", "non-public address"),
    ],
)
def test_deliver_refuses_private_addresses_unless_allow_listed(receivers, url, reason):
    receiver = receivers()
    url = url.format(port=receiver.server_port)

    delivery = webhooks.deliver(url, SECRET, PAYLOAD, "d", ["other.example"])

    assert (delivery.ok, delivery.retry, delivery.status) == (False, False, None)
    assert reason in delivery.error
    assert receiver.received == []


def _fake_dns(monkeypatch, name, *answers):
    """Make lookup n of ``name`` answer the addresses answers[n] (the last answer
    repeats); other names resolve as usual. Return the list of lookups of ``name``.
    The receivers stay real: only the DNS answers are simulated."""
    real = socket.getaddrinfo
    asked = []

    def resolve(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        addresses = answers[min(len(asked), len(answers)) - 1]
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return asked


def test_deliver_refuses_a_name_with_any_private_address(monkeypatch):
    _fake_dns(monkeypatch, "mixed.example.test", ["93.184.216.34", "10.0.0.9"])

    delivery = webhooks.deliver("https://mixed.example.test/h", SECRET, PAYLOAD, "d")

    assert delivery.error == (
        "https://mixed.example.test: refused: mixed.example.test resolves to a "
        "private address (10.0.0.9)"
    )
    assert not delivery.retry


@pytest.fixture
def tls(tmp_path):
    """Return (CA bundle path, server context with a certificate for
    hooks.example.test) from a throw-away CA."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.example.test").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return str(bundle), context


def test_deliver_connects_to_the_address_it_checked(receivers, monkeypatch, tls):
    """DNS rebinding: the name answers an allowed address to the check and a
    forbidden one after; the request still goes to the checked address, over TLS
    whose certificate is checked on the name."""
    bundle, context = tls
    checked = receivers(host="127.0.0.1", tls=context)
    rebound = receivers(host="127.0.0.2", port=checked.server_port, tls=context)
    name = "hooks.example.test"
    asked = _fake_dns(monkeypatch, name, ["127.0.0.1"], ["127.0.0.2"])
    url = checked.url(host=name, scheme="https")

    delivery = webhooks.deliver(
        url, SECRET, PAYLOAD, "d", ["127.0.0.1"], ca_certs=bundle
    )

    assert delivery == webhooks.Delivery(True, False, 200, "")
    assert asked == [name]
    assert rebound.received == []
    [got] = checked.received
    assert got["headers"]["Host"] == f"{name}:{checked.server_port}"
    assert genuine(SECRET, got["headers"], got["body"])


def test_deliver_tries_the_next_checked_address_when_one_is_unreachable(
    receivers, monkeypatch
):
    receiver = receivers(host="127.0.0.1")
    name = "two.example.test"
    asked = _fake_dns(monkeypatch, name, ["127.0.0.3", "127.0.0.1"])  # .3: nothing

    delivery = webhooks.deliver(receiver.url(host=name), SECRET, PAYLOAD, "d", [name])

    assert delivery.ok
    assert asked == [name]
    assert len(receiver.received) == 1


def test_deliver_checks_the_certificate_on_the_name(receivers, monkeypatch, tls):
    bundle, context = tls
    receiver = receivers(host="127.0.0.1", tls=context)
    _fake_dns(monkeypatch, "other.example.test", ["127.0.0.1"])
    url = receiver.url(host="other.example.test", scheme="https")

    delivery = webhooks.deliver(
        url, SECRET, PAYLOAD, "d", ["127.0.0.1"], ca_certs=bundle
    )

    assert delivery == webhooks.Delivery(
        False, True, None, "https://other.example.test: TLS handshake failed"
    )
    assert receiver.received == []


def test_deliver_reaches_an_allow_listed_ipv6_loopback(receivers):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        receiver = receivers(host="::1")
    except OSError:
        pytest.skip("::1 cannot be bound here")

    delivery = webhooks.deliver(receiver.url(), SECRET, PAYLOAD, "d", ["[::1]"])

    assert delivery.ok
    assert receiver.received[0]["headers"]["Host"] == f"[::1]:{receiver.server_port}"


# -- URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "is empty"),
        ("ftp://hooks.example.org/x", "must start with https://"),
        ("hooks.example.org/x", "must start with https://"),
        ("https:///x", "has no host"),
        ("https://user:pw@hooks.example.org/x", "must not carry a user name"),
        ("http://hooks.example.org/x", "hooks.example.org is not"),
        ("https://hooks.example.org:99999/x", "host or port is not valid"),
        ("https://hooks.example.org/a b", "spaces or control characters"),
        ("https://hooks.example.org/a\r\nX: 1", "spaces or control characters"),
        ("https://bücher.example/x", "write an international host name in its xn--"),
        ("https://10.0.0.1/x", "private address (10.0.0.1)"),
        ("https://" + "a" * 2050 + ".org/", "longer than 2048"),
    ],
)
def test_check_url_names_the_problem(url, problem):
    with pytest.raises(ValueError, match="webhook URL") as raised:
        webhooks.check_url(url, ["127.0.0.1"])
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T000/B000/XXXX",
        " https://chat.example.org/hooks/abc ",
        "http://mattermost.internal:8065/hooks/abc",
        "http://10.0.0.7/hooks/abc",
        "https://[2606:4700::1111]/x",
    ],
)
def test_check_url_accepts_https_and_allow_listed_http(url):
    allow = ["Mattermost.Internal", "10.0.0.7"]
    assert webhooks.check_url(url, allow) == url.strip()


# -- stored encrypted ---------------------------------------------------------------


def test_urls_and_secrets_are_stored_encrypted_under_the_secret_key(monkeypatch):
    monkeypatch.setenv("CTF_SECRET_KEY", "k1")
    token = webhooks.encrypt("https://hooks.example.org/T0K3N")
    assert "T0K3N" not in token
    assert webhooks.decrypt(token) == "https://hooks.example.org/T0K3N"
    monkeypatch.setenv("CTF_SECRET_KEY", "k2")
    with pytest.raises(ValueError, match="CTF_SECRET_KEY changed"):
        webhooks.decrypt(token)


def test_encrypting_without_a_secret_key_says_so():
    with pytest.raises(RuntimeError, match="CTF_SECRET_KEY is not set"):
        webhooks.encrypt("https://hooks.example.org/x")


def test_new_secrets_differ_and_are_long():
    first, second = webhooks.new_secret(), webhooks.new_secret()
    assert first != second and len(first) > 40


# -- the payload --------------------------------------------------------------------

DOCKET = "HHDCV246012345S"


def _changes_of(engine, case, now):
    """Store the case as a crawl would; return {kind: change row} and the case row."""
    with engine.begin() as conn:
        upsert_cases(conn, [case], now=now)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(db.case_changes).order_by(db.case_changes.c.id)
        ).all()
        stored = conn.execute(
            sa.select(db.cases).where(db.cases.c.docket_no == case.docket_no)
        ).one()
    return {row.kind: row for row in rows}, stored


@pytest.fixture
def judged(migrated_engine):
    """A Hartford case first seen, then a judgment of strict foreclosure with its
    law day, as the store records them; and a skip trace's phones_found."""
    case = make_case(DOCKET)
    _changes_of(migrated_engine, case, datetime(2026, 12, 1, tzinfo=UTC))
    case.judgment_type, case.law_day = "strict", date(2027, 1, 12)
    case.detail_hash = None
    changes, stored = _changes_of(
        migrated_engine, case, datetime(2026, 12, 2, 15, tzinfo=UTC)
    )
    with migrated_engine.begin() as conn:
        conn.execute(
            db.case_changes.insert().values(
                docket_no=DOCKET,
                kind="phones_found",
                field="party",
                new_value={"party_no": "D-01", "phones": 2},
                seen_at=datetime(2026, 12, 3, tzinfo=UTC),
            )
        )
        phones = conn.execute(
            sa.select(db.case_changes).where(db.case_changes.c.kind == "phones_found")
        ).one()
    return {**changes, "phones_found": phones}, stored


def test_payload_of_a_judgment_is_one_line_chat_apps_show(judged):
    changes, case = judged
    change = changes["judgment"]

    body = webhooks.payload(
        change, case, "judgment", False, base_url="https://ctf.example.org/"
    )

    assert body == {
        "event": "judgment",
        "change_id": change.id,
        "docket": "HHD-CV24-6012345-S",
        "docket_no": DOCKET,
        "town": "Hartford",
        "county": "Hartford",
        "date": "2027-01-12",
        "seen_at": body["seen_at"],
        "url": f"https://ctf.example.org/cases/{DOCKET}",
        "text": "Judgment entered — HHD-CV24-6012345-S, Hartford, law day 2027-01-12",
    }
    assert body["seen_at"].startswith("2026-12-02T15:00:00")


def test_payload_carries_the_caption_only_when_asked(judged):
    changes, case = judged
    without = webhooks.payload(changes["law_day"], case, "law_day", False)
    with_caption = webhooks.payload(changes["law_day"], case, "law_day", True)

    assert "caption" not in without and "DOE" not in json.dumps(without)
    assert with_caption["caption"] == "EXAMPLE BANK, N.A. v. DOE, JANE Et Al"
    assert (
        without["text"]
        == "Law day set — HHD-CV24-6012345-S, Hartford, law day 2027-01-12"
    )


def test_payload_of_found_phones_names_neither_numbers_nor_parties(judged):
    changes, case = judged

    body = webhooks.payload(changes["phones_found"], case, "phones_found", True)

    text = json.dumps(body)
    assert body["text"] == "Skip trace found phones — HHD-CV24-6012345-S, Hartford"
    assert body["date"] == "2026-12-02"  # the day it was seen, in Connecticut
    assert "D-01" not in text and "JANE Q DOE" not in text
    assert not re.search(r"\d{3}\D?\d{3}\D?\d{4}", text.replace(DOCKET, ""))


def test_payload_links_on_the_configured_base_url(judged, monkeypatch):
    changes, case = judged
    assert webhooks.payload(changes["new_case"], case, "new_case", False)["url"] is None
    monkeypatch.setenv("CTF_BASE_URL", "https://leads.example.org")

    body = webhooks.payload(changes["new_case"], case, "new_case", False)

    assert body["url"] == f"https://leads.example.org/cases/{DOCKET}"
    assert body["text"] == "New case — HHD-CV24-6012345-S, Hartford, filed 2024-03-01"


def test_the_case_path_is_the_web_ui_case_page():
    from webui.cases import bp

    app = Flask(__name__)
    app.register_blueprint(bp)
    with app.test_request_context():
        page = url_for("cases.detail", docket_no=DOCKET)
    assert page == webhooks.CASE_PATH.format(docket_no=DOCKET)


@pytest.mark.parametrize(
    ("event", "old", "new", "text", "day"),
    [
        (
            "law_day",
            "2027-01-12",
            "2027-02-09",
            "Law day moved — {d}, law day 2027-01-12 → 2027-02-09",
            "2027-02-09",
        ),
        (
            "sale_scheduled",
            None,
            {"sale_at": "2027-03-06T17:00:00+00:00"},
            "Sale scheduled — {d}, sale 2027-03-06",
            "2027-03-06",
        ),
        (
            "sale_moved",
            {"sale_at": "2027-03-06T17:00:00+00:00"},
            {"sale_at": "2027-04-10T16:00:00+00:00"},
            "Sale moved — {d}, sale 2027-03-06 → 2027-04-10",
            "2027-04-10",
        ),
        (
            "sale_cancelled",
            None,
            {"sale_at": "2027-03-07T02:00:00+00:00", "reason": "paid"},
            "Sale cancelled — {d}, sale 2027-03-06",
            "2027-03-06",
        ),
        (
            "no_longer_listed",
            True,
            False,
            "No longer listed on the court's site — {d}",
            "2026-12-02",
        ),
    ],
)
def test_payload_text_per_event(event, old, new, text, day):
    case = {"docket_no": DOCKET, "search_town": "Hartford", "county": "Hartford"}
    change = {
        "id": 7,
        "docket_no": DOCKET,
        "kind": event,
        "old_value": old,
        "new_value": new,
        "seen_at": datetime(2026, 12, 2, 15, tzinfo=UTC),
    }

    body = webhooks.payload(change, case, event, False)

    assert body["text"] == text.format(d="HHD-CV24-6012345-S, Hartford")
    assert body["date"] == day
