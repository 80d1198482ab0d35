"""Self-service accounts end to end in headless Chromium, with a real SMTP server
(aiosmtpd) on 127.0.0.1: an admin signs in with a code, invites another admin by
email; the invitation works once; the new admin must enrol before anything else,
signs in with a recovery code once (not twice, and not without a code); a reset
link by email works once and not after 30 minutes, and an unknown email gets the
same answer and no mail.

Once, on SQLite: the same rules are checked on both databases by the Flask-client
tests (tests/webui/test_accounts.py); this walks the pages a person uses.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from tests.webui.conftest import EMAILS, PASSWORD, admin_code, next_code
from tests.webui.test_accounts import NEW_PASSWORD, SENT, SQLITE_ONLY
from tests.webui.test_browser import (  # noqa: F401 -- live_server is a fixture
    ARTIFACTS,
    _in_browser,
    live_server,
)

pytestmark = pytest.mark.browser
NEW_ADMIN = "new.admin@example.org"
CHOSEN = "amber cactus ferry 42 mornings"


@SQLITE_ONLY
def test_browser_invitation_second_factor_and_reset_by_email(
    app,
    mail,
    live_server,  # noqa: F811 -- the fixture, imported
):
    app.config["BASE_URL"] = live_server
    shots = ARTIFACTS / "accounts"
    shots.mkdir(parents=True, exist_ok=True)
    _in_browser(_accounts, live_server, app, mail, shots)


def _link(inbox, count: int) -> str:
    """Return the path of the link in the ``count``-th email, once it came."""
    body = inbox.wait_for(count)[count - 1].get_content()
    return body[body.index("/auth/") :].split()[0]


def _sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def _code(page, code: str) -> None:
    page.fill("input[name=code]", code)
    page.click("#code-form button")


def _sign_out(page) -> None:
    page.click(".whoami button")
    page.wait_for_url("**/auth/login")


def _accounts(page, base: str, app, inbox, shots: Path) -> None:
    _sign_in(page, base, EMAILS["admin"], PASSWORD)
    page.wait_for_url("**/auth/2fa/code")
    assert "Sign out" not in page.content()  # not signed in before the code
    _code(page, admin_code(app))
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/admin/users")
    page.fill("#invite-user input[name=email]", NEW_ADMIN)
    page.select_option("#invite-user select[name=role]", "admin")
    page.click("#invite-user button")
    invitation = _link(inbox, 1)
    assert page.inner_text("#invite-link").endswith(invitation)
    _sign_out(page)

    page.goto(base + invitation)
    page.fill("input[name=password]", CHOSEN)
    page.click("#new-password button")
    page.wait_for_url("**/auth/login")
    page.goto(base + invitation)
    assert "does not work any more" in page.inner_text("main")

    secret, codes = _enrol_new_admin(page, base, shots)
    _sign_out(page)
    _sign_in(page, base, NEW_ADMIN, CHOSEN)
    page.wait_for_url("**/auth/2fa/code")
    _code(page, "000000")
    assert "Wrong code." in page.inner_text("main")
    _code(page, codes[0])
    page.wait_for_url(f"{base}/")
    _sign_out(page)
    _sign_in(page, base, NEW_ADMIN, CHOSEN)
    _code(page, codes[0])
    assert "Wrong code." in page.inner_text("main")  # a recovery code works once

    _reset_by_email(page, base, app, inbox, shots)
    _sign_in(page, base, NEW_ADMIN, NEW_PASSWORD)
    _code(page, next_code(app, NEW_ADMIN, secret))
    page.wait_for_url(f"{base}/")


def _enrol_new_admin(page, base: str, shots: Path) -> tuple[str, list[str]]:
    """Sign in as the new admin: enrolment first, nothing else; return the secret
    and the recovery codes."""
    _sign_in(page, base, NEW_ADMIN, CHOSEN)
    page.wait_for_url("**/auth/2fa/enrol")
    assert page.is_visible("#enrol-required") and page.is_visible("#qr svg")
    page.screenshot(path=str(shots / "01-enrol.png"), full_page=True)
    page.goto(f"{base}/cases/")
    assert "/auth/login" in page.url  # nothing else until enrolled
    page.goto(f"{base}/auth/2fa/enrol")
    secret = page.inner_text("#totp-secret")
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("#enrol-form button")
    page.wait_for_selector("#recovery-codes")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.screenshot(path=str(shots / "02-recovery-codes.png"), full_page=True)
    page.click("#continue")
    page.wait_for_url(f"{base}/")
    assert NEW_ADMIN in page.inner_text(".whoami")
    return secret, codes


class _Later:
    """The app's clock, 31 minutes ahead."""

    def __call__(self) -> datetime:
        return datetime.now(UTC) + timedelta(minutes=31)


def _forgot(page, base: str, email: str) -> None:
    page.goto(f"{base}/auth/login")
    page.click("#forgot")
    page.fill("input[name=email]", email)
    page.click("main button[type=submit]")
    assert page.inner_text("#sent") == SENT + " It works once, within 30 minutes."


def _reset_by_email(page, base: str, app, inbox, shots: Path) -> None:
    _forgot(page, base, "nobody@example.net")
    _forgot(page, base, NEW_ADMIN)
    expired = _link(inbox, 2)
    app.config["ACCOUNT_CLOCK"] = _Later()
    page.goto(base + expired)
    assert "does not work any more" in page.inner_text("main")
    app.config["ACCOUNT_CLOCK"] = lambda: datetime.now(UTC)

    _forgot(page, base, NEW_ADMIN)
    link = _link(inbox, 3)
    time.sleep(0.2)
    assert len(inbox.messages) == 3  # invitation, two resets: none to nobody@
    page.goto(base + link)
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click("#new-password button")
    page.wait_for_url("**/auth/login")
    page.screenshot(path=str(shots / "03-password-set.png"), full_page=True)
    page.goto(base + link)
    assert "does not work any more" in page.inner_text("main")
