"""In headless Chromium: save a search, subscribe to it with "Get notified" (a
webhook's secret shown once), and when a matching change is recorded and the
notify matcher has run, see the bell's count, the notification on its page, and
mark it read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ctforeclosure import db
from ctforeclosure.services import notify
from tests.webui.conftest import DOCKET_HARTFORD
from tests.webui.test_browser import (  # noqa: F401 -- live_server: a fixture
    ARTIFACTS,
    _in_browser,
    live_server,
)
from tests.webui.test_browser_outreach import _sign_in
from webui import saved_queries

pytestmark = pytest.mark.browser


# PostgreSQL only (production's database): one browser run is most of the budget.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_browser_subscribes_and_sees_the_bell(app, live_server):  # noqa: F811
    shots = ARTIFACTS / "subscriptions"
    shots.mkdir(parents=True, exist_ok=True)

    engine = app.extensions["ctforeclosure_engine"]

    def a_law_day_is_set() -> None:
        """A crawl records a law day on a Hartford case; the notify matcher runs."""
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
        counts = notify.match(engine, saved_queries.matching_dockets, datetime.now(UTC))
        assert counts.notifications == 1, counts

    _in_browser(_subscribe_and_read, live_server, shots, a_law_day_is_set)


def _subscribe_and_read(page, root: str, shots: Path, change) -> None:
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
    page.fill("#webhook-url", "https://hooks.example.org/ctf/abc")
    page.screenshot(path=str(shots / "01-get-notified.png"), full_page=True)
    page.click("#subscription-save")
    secret = page.inner_text("#webhook-secret")
    assert len(secret) > 30 and "shown this once" in page.inner_text("main")
    page.screenshot(path=str(shots / "02-secret-once.png"), full_page=True)

    change()
    page.goto(f"{root}/cases/")
    assert page.inner_text("#bell-count") == "1"
    page.click("#nav-bell")
    page.wait_for_url(f"{root}/notifications/")
    item = page.locator("#notifications tbody tr.unread")
    assert item.count() == 1
    text = item.inner_text()
    assert "law day set to 2027-01-12" in text and "Hartford watch" in text
    assert item.locator(f"a[href='/cases/{DOCKET_HARTFORD}']").count() == 1
    page.screenshot(path=str(shots / "03-notifications.png"), full_page=True)
    item.locator("form.mark-read button").click()
    page.wait_for_url(f"{root}/notifications/**")
    assert page.locator("#notifications tbody tr.unread").count() == 0
    assert page.locator("#bell-count").count() == 0
    assert secret not in page.content()
