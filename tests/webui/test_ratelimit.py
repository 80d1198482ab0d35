"""Login throttling: a wait that doubles per (account, address) and per address, no
account-wide lock, clients told apart behind a trusted proxy, nothing typed stored,
and an alert when one account fails many times."""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import (
    EMAILS,
    PASSWORD,
    SECRET_KEY,
    answer_code_step,
    csrf_token,
)

WRONG = "wrong-password-123"
ATTACKER = "203.0.113.7"


class Clock:
    """The throttle's clock, moved by the test (no sleeping)."""

    def __init__(self):
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _with_clock(app) -> Clock:
    clock = Clock()
    throttle = app.extensions["login_throttle"]
    app.extensions["login_throttle"] = dataclasses.replace(throttle, clock=clock)
    return clock


@pytest.fixture
def clock(app) -> Clock:
    return _with_clock(app)


def attempt(client, email: str, password: str, address: str = "127.0.0.1", **headers):
    """Post the sign-in form from a client address (and the admin's second step,
    when it is asked for); return the last response."""
    options = {"environ_base": {"REMOTE_ADDR": address}, "headers": headers}
    response = client.post(
        "/auth/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
        **options,
    )
    return answer_code_step(client, response, **options)


def _stored_rows(app) -> list:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        return conn.execute(sa.select(db.login_failures)).all()


def test_after_five_failures_the_wait_doubles_from_one_second_to_fifteen_minutes(
    app, client, clock
):
    for _ in range(5):
        assert attempt(client, EMAILS["admin"], WRONG).status_code == 401
    waits = []
    for _ in range(12):
        refused = attempt(client, EMAILS["admin"], PASSWORD)  # even the right one
        assert refused.status_code == 429
        assert "Too many failed sign-ins" in refused.get_data(as_text=True)
        waits.append(int(refused.headers["Retry-After"]))
        clock.advance(waits[-1])
        assert attempt(client, EMAILS["admin"], WRONG).status_code == 401
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    clock.advance(899)
    assert attempt(client, EMAILS["admin"], PASSWORD).status_code == 429
    clock.advance(1)
    assert attempt(client, EMAILS["admin"], PASSWORD).status_code == 302


def test_a_wait_counts_down_and_a_quiet_hour_forgets_the_failures(app, client, clock):
    for n in range(7):  # 5 free, then 1 s and 2 s waits: the next waits 4 s
        clock.advance(2 if n else 0)
        assert attempt(client, EMAILS["viewer"], WRONG).status_code == 401
    clock.advance(1.5)
    assert attempt(client, EMAILS["viewer"], WRONG).headers["Retry-After"] == "3"
    clock.advance(3600)
    for _ in range(5):
        assert attempt(client, EMAILS["viewer"], WRONG).status_code == 401
    assert attempt(client, EMAILS["viewer"], WRONG).headers["Retry-After"] == "1"


def test_the_right_password_from_another_address_works_while_one_is_locked(
    app, client, clock
):
    for _ in range(10):
        attempt(client, EMAILS["admin"], WRONG, address=ATTACKER)
    assert attempt(client, EMAILS["admin"], PASSWORD, ATTACKER).status_code == 429
    admin = app.test_client()
    assert attempt(admin, EMAILS["admin"], PASSWORD, "198.51.100.20").status_code == 302
    assert admin.get("/").status_code == 200


def test_a_success_forgives_that_accounts_failures_from_that_address(
    app, client, clock
):
    for _ in range(4):
        assert attempt(client, EMAILS["viewer"], WRONG).status_code == 401
    assert attempt(client, EMAILS["viewer"], PASSWORD).status_code == 302
    other = app.test_client()
    for _ in range(5):
        assert attempt(other, EMAILS["viewer"], WRONG).status_code == 401
    assert attempt(other, EMAILS["viewer"], WRONG).status_code == 429


def test_twenty_failures_on_any_accounts_slow_that_address_only(app, client, clock):
    for n in range(20):
        email = EMAILS["manager"] if n % 5 == 0 else f"nobody{n}@example.net"
        assert attempt(client, email, WRONG, address=ATTACKER).status_code == 401
    assert attempt(client, EMAILS["viewer"], PASSWORD, ATTACKER).status_code == 429
    other = attempt(app.test_client(), EMAILS["viewer"], PASSWORD, "198.51.100.20")
    assert other.status_code == 302


@pytest.fixture
def behind_proxy(seeded_db_url, monkeypatch):
    """The web UI behind one trusted proxy (127.0.0.1, the test client's address)."""
    from webui import create_app

    monkeypatch.setenv("CTF_TRUSTED_PROXY_HOPS", "1")
    app = create_app({"SECRET_KEY": SECRET_KEY, "DATABASE_URL": seeded_db_url})
    yield app
    app.extensions["ctforeclosure_engine"].dispose()


def test_behind_a_trusted_proxy_one_noisy_client_does_not_lock_out_the_others(
    behind_proxy,
):
    _with_clock(behind_proxy)
    noisy, staff = behind_proxy.test_client(), behind_proxy.test_client()
    for n in range(10):
        email = EMAILS["admin"] if n % 2 else f"nobody{n}@example.net"
        attempt(noisy, email, WRONG, **{"X-Forwarded-For": ATTACKER})
    ok = attempt(staff, EMAILS["viewer"], PASSWORD, **{"X-Forwarded-For": "10.1.2.3"})
    assert ok.status_code == 302
    refused = attempt(noisy, EMAILS["admin"], PASSWORD, **{"X-Forwarded-For": ATTACKER})
    assert refused.status_code == 429
    # a client cannot pose as another: the proxy's own entry is the last one
    posing = {"X-Forwarded-For": f"10.1.2.3, {ATTACKER}"}
    assert attempt(noisy, EMAILS["admin"], PASSWORD, **posing).status_code == 429


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(app, client, clock):
    for n in range(5):
        headers = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert attempt(client, EMAILS["admin"], WRONG, **headers).status_code == 401
    headers = {"X-Forwarded-For": "198.51.100.99"}
    assert attempt(client, EMAILS["admin"], PASSWORD, **headers).status_code == 429


def test_a_bad_trusted_proxy_hops_value_stops_the_web_ui(seeded_db_url, monkeypatch):
    from webui import ConfigurationError, create_app

    monkeypatch.setenv("CTF_TRUSTED_PROXY_HOPS", "one")
    with pytest.raises(ConfigurationError, match="CTF_TRUSTED_PROXY_HOPS"):
        create_app({"SECRET_KEY": SECRET_KEY, "DATABASE_URL": seeded_db_url})


def test_the_throttle_stores_keyed_hashes_never_what_was_typed(app, client, clock):
    typed = ["Someone.Else@Example.net", EMAILS["viewer"], "Tr0ub4dor-in-the-box"]
    for text in typed:
        attempt(client, text, WRONG, address=ATTACKER)
    rows = _stored_rows(app)
    assert len(rows) == 5  # 3 pairs, 1 address, the viewer's account
    assert all(re.fullmatch(r"[0-9a-f]{64}", row.key) for row in rows)
    stored = repr(rows).lower()
    for text in [*typed, ATTACKER, "example"]:
        assert text.lower() not in stored


def _wait_for(received: list, count: int) -> list:
    for _ in range(100):  # the alert goes out on its own thread
        if len(received) >= count:
            break
        time.sleep(0.05)
    return received


def test_many_failures_on_one_account_from_anywhere_alert_the_admins_once(
    seeded_db_url, webhook, monkeypatch
):
    from webui import create_app

    monkeypatch.setenv("ALERT_WEBHOOK_URL", webhook.url)
    app = create_app(
        {
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": seeded_db_url,
            "LOGIN_ALERT_FAILURES": 6,
        }
    )
    try:
        _with_clock(app)
        client = app.test_client()
        for n in range(8):  # never 5 from one address: nothing is refused
            address = f"198.51.100.{n}"
            assert attempt(client, EMAILS["admin"], WRONG, address).status_code == 401
        [alert] = _wait_for(webhook.received, 1)
        time.sleep(0.2)  # a second alert would be as quick
        assert len(webhook.received) == 1
        assert alert["kind"] == "login_failures"
        assert alert["details"]["failures"] == "6"
        assert "@" not in repr(alert)
        with app.extensions["ctforeclosure_engine"].connect() as conn:
            records = conn.execute(
                sa.select(db.audit_log.c.target, db.audit_log.c.details).where(
                    db.audit_log.c.action == "login.guessing"
                )
            ).all()
        assert records == [(EMAILS["admin"], {"failures": 6})]
        # and the account is not locked
        assert attempt(client, EMAILS["admin"], PASSWORD, "10.9.9.9").status_code == 302
    finally:
        app.extensions["ctforeclosure_engine"].dispose()
