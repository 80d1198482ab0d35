"""In headless Chromium: save a search, subscribe to it with "Get notified" (an
immediate email and a webhook, whose secret is shown once), and when a matching
change is recorded and ``ctforeclosure notify``'s code has run, see the bell's
count and the notification on its page, and mark it read; the email arrived at a
real SMTP server and the webhook at a real receiver on 127.0.0.1, which verified
its signature with the secret the page showed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ctforeclosure import db
from ctforeclosure.services import notify
from tests.services.notify_parts import Receiver, serve
from tests.webui.conftest import DOCKET_HARTFORD, EMAILS, SECRET_KEY
from tests.webui.test_browser import (  # noqa: F401 -- live_server: a fixture
    ARTIFACTS,
    _in_browser,
    live_server,
)
from tests.webui.test_browser_outreach import _sign_in
from webui import saved_queries

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver(app):
    """A webhook receiver on 127.0.0.1, allow-listed as the test's configuration."""
    app.config["WEBHOOK_ALLOW_HOSTS"] = ("127.0.0.1",)
    server = Receiver()
    thread = serve(server)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


# PostgreSQL only (production's database): one browser run is most of the budget.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_browser_subscribes_and_is_told(app, live_server, mail, receiver):  # noqa: F811
    shots = ARTIFACTS / "subscriptions"
    shots.mkdir(parents=True, exist_ok=True)
    engine = app.extensions["ctforeclosure_engine"]
    settings = notify.SendSettings(
        app.config["ALERT_CHANNELS"],
        SECRET_KEY,
        ("127.0.0.1",),
        "http://ctf.example.org",
    )

    def a_law_day_is_set(secret: str) -> None:
        """A crawl records a law day on a Hartford case; notify runs."""
        receiver.secret = secret  # what its owner copied from the page
        with engine.begin() as conn:
            conn.execute(
                db.case_changes.insert().values(
                    docket_no=DOCKET_HARTFORD,
                    kind="law_day",
                    field="law_day",
                    old_value=None,
                    new_value="2027-01-12",
                    seen_at=datetime.now(UTC),
                )
            )
        done = notify.run(engine, saved_queries.matching_dockets, settings)
        assert done.matched.notifications == 1, done

    _in_browser(_subscribe_and_read, live_server, shots, receiver.url, a_law_day_is_set)

    (email,) = mail.wait_for(1)
    assert email["To"] == EMAILS["viewer"]
    assert (
        "2027-01-12" in email.get_content() and "Hartford watch" in email.get_content()
    )
    (posted,) = receiver.delivered()
    assert posted["signed"], "the signature did not verify with the page's secret"
    assert posted["body"]["docket_no"] == DOCKET_HARTFORD
    assert posted["body"]["event"] == "law_day"
    assert "caption" not in posted["body"]  # not asked for


def _subscribe_and_read(page, root: str, shots: Path, hook: str, change) -> None:
    _sign_in(page, root, "viewer")
    page.goto(f"{root}/cases/?town=Hartford")
    page.click("#save-search summary")
    page.fill("#save-search-name", "Hartford watch")
    page.click("#save-search-button")
    page.wait_for_url(f"{root}/saved-searches/")
    assert page.locator("#bell-count").count() == 0  # nothing yet

    row = page.locator("#saved-searches tbody tr", has_text="Hartford watch")
    row.locator("a.get-notified").click()
    page.wait_for_url("**/subscriptions/new?saved_search_id=*")
    assert not page.is_checked("#include-caption")  # off unless chosen
    page.check("input[name=events][value=law_day]")
    page.check("input[name=email_mode][value=immediate]")
    page.fill("#webhook-url", hook)
    page.screenshot(path=str(shots / "01-get-notified.png"), full_page=True)
    page.click("#subscription-save")
    secret = page.inner_text("#webhook-secret")
    assert len(secret) > 30 and "shown this once" in page.inner_text("main")
    page.screenshot(path=str(shots / "02-secret-once.png"), full_page=True)
    page.click("text=Notification settings")
    assert secret not in page.content()  # once means once
    settings = page.locator("#subscriptions tbody tr", has_text="Hartford watch")
    assert (
        "to 127.0.0.1" in settings.inner_text()
        and "Immediately" in settings.inner_text()
    )
    page.screenshot(path=str(shots / "03-settings.png"), full_page=True)

    change(secret)
    page.goto(f"{root}/cases/")
    assert page.inner_text("#bell-count") == "1"
    page.click("#nav-bell")
    page.wait_for_url(f"{root}/notifications/")
    item = page.locator("#notifications tbody tr.unread")
    assert item.count() == 1
    text = item.inner_text()
    assert "law day set to 2027-01-12" in text and "Hartford watch" in text
    assert item.locator(f"a[href='/cases/{DOCKET_HARTFORD}']").count() == 1
    page.screenshot(path=str(shots / "04-notifications.png"), full_page=True)
    item.locator("form.mark-read button").click()
    page.wait_for_url(f"{root}/notifications/**")
    assert page.locator("#notifications tbody tr.unread").count() == 0
    assert page.locator("#bell-count").count() == 0
