"""Self-service accounts (issue 24), through the Flask test client: reset links by
email (single use, 30 minutes, no account enumeration, rate-limited), invitations
(single use, 72 hours), the sign-in's second step (throttled like the password,
recovery codes once, codes never replayed), compulsory enrolment, the admin's
reset and setting, and changing one's own password. The clock of links and codes
is moved by the app's ``ACCOUNT_CLOCK``; nothing sleeps but mail delivery.

The browser walks through the same flows in tests/webui/test_accounts_browser.py.
Every statement of the services runs on both databases (the reset link, the code
step, enrolment and its reset); tests whose extra rules are decided in Python, not
SQL, run on SQLite only, to keep the suite's time down.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import (
    CODE_STEP,
    EMAILS,
    PASSWORD,
    admin_code,
    api_token,
    csrf_token,
    login,
    next_code,
)

NEW_PASSWORD = "quiet lantern orchard 7 sails"
LINK_RE = re.compile(r"http://ctf\.example\.org(/auth/(?:reset|invite)/[\w-]+)")
#: For the tests that add no statement the others do not run on PostgreSQL.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
SENT = "If an account uses that email, a link to choose a new password is on its way."


class Clock:
    """The app's clock for links and codes, moved by the test."""

    def __init__(self):
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(app) -> Clock:
    clock = Clock()
    app.config["ACCOUNT_CLOCK"] = clock
    return clock


def _post(client, path: str, address: str = "127.0.0.1", **data):
    data["csrf_token"] = csrf_token(client)  # the session's token, from any form
    return client.post(path, data=data, environ_base={"REMOTE_ADDR": address})


def _forgot(client, email: str, address: str = "127.0.0.1"):
    data = {"email": email, "csrf_token": csrf_token(client)}
    return client.post("/auth/forgot", data=data, environ_base={"REMOTE_ADDR": address})


def _link(message) -> str:
    return LINK_RE.search(message.get_content()).group(1)


def _actions(app, action: str) -> list:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        query = sa.select(db.audit_log.c.target).where(db.audit_log.c.action == action)
        return conn.execute(query).scalars().all()


def _sign_in(app, email: str, password: str, address: str = "127.0.0.1"):
    """Post the password step from a new client at ``address``; return both."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    token = csrf_token(client)
    response = client.post(
        "/auth/login", data={"email": email, "password": password, "csrf_token": token}
    )
    return client, response


def test_a_reset_link_works_once_within_30_minutes_and_ends_every_session(
    app, as_role, mail, clock
):
    elsewhere = as_role("viewer")
    client = app.test_client()
    unknown = _forgot(client, "nobody@example.net")
    known = _forgot(client, EMAILS["viewer"].upper())
    assert unknown.status_code == known.status_code == 200
    assert SENT in unknown.get_data(as_text=True)
    assert SENT in known.get_data(as_text=True)
    [message] = mail.wait_for(1)
    assert message["To"] == EMAILS["viewer"]
    expired = _link(message)
    clock.now += timedelta(minutes=31)
    assert client.get(expired).status_code == 410

    _forgot(client, EMAILS["viewer"])
    link = _link(mail.wait_for(2)[1])
    assert len(mail.messages) == 2  # none ever went to the unknown address
    weak = _post(client, link, password="password123456")
    assert weak.status_code == 400 and "too weak" in weak.get_data(as_text=True)
    assert _post(client, link, password=NEW_PASSWORD).status_code == 302
    assert elsewhere.get("/").status_code == 302  # every session ended
    assert _post(client, link, password=NEW_PASSWORD + "!").status_code == 410
    assert _sign_in(app, EMAILS["viewer"], NEW_PASSWORD)[1].status_code == 302
    assert _actions(app, "user.reset_password_by_link") == [EMAILS["viewer"]]


@SQLITE_ONLY
def test_reset_requests_are_limited_per_email_and_per_address(app, mail, clock):
    client = app.test_client()
    for _ in range(3):
        assert _forgot(client, "x@example.net").status_code == 200
    assert _forgot(client, "x@example.net").status_code == 429
    assert _forgot(client, "x@example.net", "198.51.100.9").status_code == 429
    for n in range(7):  # ten from this address in all
        assert _forgot(client, f"y{n}@example.net").status_code == 200
    refused = _forgot(client, "z@example.net")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "3600"
    assert _forgot(client, "z@example.net", "198.51.100.9").status_code == 200


@SQLITE_ONLY
def test_without_smtp_or_a_public_address_the_forgot_page_says_ask_an_admin(app):
    client = app.test_client()
    page = client.get("/auth/forgot").get_data(as_text=True)
    assert "Ask an admin to reset your password" in page
    assert 'name="email"' not in page
    assert "Forgot password?" in client.get("/auth/login").get_data(as_text=True)


@SQLITE_ONLY
def test_an_invitation_sets_the_password_once_within_72_hours(
    app, as_role, mail, clock
):
    admin = as_role("admin")
    page = _post(admin, "/admin/invitations", email="late@example.org", role="viewer")
    late = LINK_RE.search(page.get_data(as_text=True)).group(1)
    assert _link(mail.wait_for(1)[0]) == late
    clock.now += timedelta(hours=73)
    assert admin.get(late).status_code == 410

    _post(admin, "/admin/invitations", email="new@example.org", role="manager")
    link = _link(mail.wait_for(2)[1])
    client = app.test_client()
    assert _sign_in(app, "new@example.org", NEW_PASSWORD)[1].status_code == 401
    assert _post(client, link, password=NEW_PASSWORD).status_code == 302
    assert _post(client, link, password=NEW_PASSWORD).status_code == 410
    assert _sign_in(app, "new@example.org", NEW_PASSWORD)[1].status_code == 302
    assert _actions(app, "user.invite") == ["late@example.org", "new@example.org"]
    assert _actions(app, "user.invite_accepted") == ["new@example.org"]


def test_the_code_step_is_throttled_like_the_password_and_codes_work_once(app):
    client, response = _sign_in(app, EMAILS["admin"], PASSWORD)
    assert response.location.endswith(CODE_STEP)
    assert client.get("/cases/").status_code == 302  # not signed in yet
    for _ in range(5):
        assert _post(client, CODE_STEP, code="000000").status_code == 401
    right = admin_code(app)
    refused = _post(client, CODE_STEP, code=right)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert _actions(app, "login.failed_code") == [EMAILS["admin"]] * 5

    other, _ = _sign_in(app, EMAILS["admin"], PASSWORD, "198.51.100.20")
    assert _post(other, CODE_STEP, "198.51.100.20", code=right).status_code == 302
    assert other.get("/cases/").status_code == 200
    replay, _ = _sign_in(app, EMAILS["admin"], PASSWORD, "198.51.100.30")
    assert _post(replay, CODE_STEP, "198.51.100.30", code=right).status_code == 401
    # an API token is a second credential already: no code asked
    token = api_token(app, "admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/towns", headers=headers).status_code == 200


def _enrol_on_page(client) -> tuple[str, list[str]]:
    """Enrol from the enrolment page; return the secret and the recovery codes."""
    page = client.get("/auth/2fa/enrol").get_data(as_text=True)
    assert "<svg" in page  # the QR code, drawn here
    secret = re.search(r'id="totp-secret">(\w+)<', page).group(1)
    wrong = _post(client, "/auth/2fa/enrol", code="123456")
    assert wrong.status_code == 400 and secret in wrong.get_data(as_text=True)
    done = _post(client, "/auth/2fa/enrol", code=pyotp.TOTP(secret).now())
    codes = re.findall(r"<code>([0-9a-f-]{19})</code>", done.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def test_managers_enrol_when_required_and_a_recovery_code_works_once(app, as_role):
    admin = as_role("admin")
    manager = as_role("manager")
    _post(admin, "/admin/settings/require-2fa-managers", on="y")
    assert manager.get("/").status_code == 302  # managers without one: signed out
    client, response = _sign_in(app, EMAILS["manager"], PASSWORD)
    assert response.location.endswith("/auth/2fa/enrol")
    assert client.get("/cases/").status_code == 302  # nothing else until enrolled
    secret, codes = _enrol_on_page(client)
    assert client.get("/cases/").status_code == 200

    with_code, _ = _sign_in(app, EMAILS["manager"], PASSWORD)
    code = next_code(app, EMAILS["manager"], secret)
    assert _post(with_code, CODE_STEP, code=code).status_code == 302
    recovered, _ = _sign_in(app, EMAILS["manager"], PASSWORD)
    assert _post(recovered, CODE_STEP, code=codes[3].upper()).status_code == 302
    again, _ = _sign_in(app, EMAILS["manager"], PASSWORD)
    assert _post(again, CODE_STEP, code=codes[3]).status_code == 401
    page = recovered.get("/account/").get_data(as_text=True)
    assert "9 recovery codes left" in page

    manager_id = _user_id(app, EMAILS["manager"])
    _post(admin, f"/admin/users/{manager_id}/second-factor/reset")
    assert recovered.get("/").status_code == 302
    assert _actions(app, "user.2fa_reset") == [EMAILS["manager"]]
    _, response = _sign_in(app, EMAILS["manager"], PASSWORD)
    assert response.location.endswith("/auth/2fa/enrol")


def _user_id(app, email: str) -> int:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        query = sa.select(db.users.c.id).where(db.users.c.email == email)
        return conn.execute(query).scalar_one()


@SQLITE_ONLY
def test_changing_ones_password_ends_the_other_sessions_only(app, as_role):
    laptop, phone = as_role("viewer"), as_role("viewer")
    wrong = _post(phone, "/account/password", current="not it at all", new="x")
    assert wrong.status_code == 400
    assert "current password is wrong" in wrong.get_data(as_text=True)
    changed = _post(phone, "/account/password", current=PASSWORD, new=NEW_PASSWORD)
    assert changed.status_code == 302
    assert phone.get("/account/").status_code == 200
    assert laptop.get("/").status_code == 302
    assert _actions(app, "user.change_password") == [EMAILS["viewer"]]
    assert login(app.test_client(), "viewer").status_code == 401
