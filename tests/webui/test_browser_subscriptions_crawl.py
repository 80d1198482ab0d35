"""The whole way from the court's site to a subscriber, in headless Chromium: the
offline replica is crawled into PostgreSQL by real ``scrapy crawl cases``
processes; a manager saves the search of one town and subscribes to it ("Get
notified", emails at once); the replica lives a day (new cases, a disposition, a
law day, a sale date, ...) and is crawled again, and the crawl's own end runs
``ctforeclosure notify`` (extensions/notify.py). The manager sees the bell's
count, one notification per change of that town among the chosen events, each
with its docket's link, and the emails arrived at a real SMTP server naming the
saved search. Nothing was inserted by hand and no notify code was called in the
test's process; a second notify adds nothing."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from ctforeclosure.extensions.notify import COMMAND as NOTIFY
from ctforeclosure.services.subscriptions import EVENTS
from tests.jobs.test_auto_retry import run_crawl
from tests.webui.conftest import EMAILS, SECRET_KEY
from tests.webui.test_browser import (  # noqa: F401 -- live_server: a fixture
    ARTIFACTS,
    _in_browser,
    live_server,
)
from tests.webui.test_browser_outreach import _sign_in

pytestmark = pytest.mark.browser

#: The watched town and its neighbour; with seed 3, a day of the 40-case replica
#: brings Bethel a new case, a disposition, a law day and a withdrawal, and
#: Bethany a docket entry, a sale date and a removed party.
TOWN, NEIGHBOUR = "Bethel", "Bethany"
SEED, CASES = 3, 40
SEARCH = "Bethel watch"
#: The replica's changes the subscription listens for: the event each one is, and
#: the field of the replica's report whose value its notification shows (a new
#: case's shows its filing). A withdrawal (no_longer_listed) and a judgment are
#: not chosen: the bell must not count them.
WATCHED = {
    "new_case": ("new_case", None),
    "law_day": ("law_day", "law_day"),
    "disposition": ("disposition", "disposition"),
    "sale_date": ("sale_moved", "sale_date"),
}
EVENTS_CHOSEN = {event for event, _ in WATCHED.values()}


@pytest.fixture
def site(replica_factory):
    return replica_factory(cases=CASES, towns=(TOWN, NEIGHBOUR), seed=SEED)


@pytest.fixture
def crawl_env(app, mail, site) -> dict[str, str]:
    """The environment of the crawl processes, and so of the notify the crawl's end
    starts: the test's database, the replica, the aiosmtpd server, the site's
    address for the links (no BatchData key: nothing is skip traced)."""
    replica = {k: v for k, v in site.env.items() if k != "BATCHDATA_API_KEY"}
    return {
        **replica,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "CTF_SECRET_KEY": SECRET_KEY,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(app.config["ALERT_CHANNELS"].smtp_port),
        "SMTP_SECURITY": "none",
        "ALERT_EMAIL_FROM": "ctforeclosure@example.org",
        "CTF_BASE_URL": app.config["BASE_URL"],
    }


def _crawl(env: dict[str, str], details: str = "changed") -> str:
    """Run ``scrapy crawl cases`` over both towns, every status and property type
    (as the replica's truth has them); return its log."""
    status, log = run_crawl(
        env,
        env["DATABASE_URL"],
        f"towns={TOWN},{NEIGHBOUR}",
        more=("status=all", "property=all", f"details={details}"),
    )
    assert status == 0, log[-3000:]
    return log


def _expected(before: list[dict], report: list[dict]) -> list[tuple[str, str]]:
    """The notifications the day's changes of the watched town make: (docket, the
    new value its line must show, or None for a new case)."""
    town_of = {case["docket_no"]: case["search_town"] for case in before}
    town_of |= {c["docket_no"]: c["town"] for c in report if c["kind"] == "new_case"}
    return [
        (c["docket_no"], c[field] if field else None)
        for c in report
        if c["kind"] in WATCHED and town_of[c["docket_no"]] == TOWN
        for _, field in [WATCHED[c["kind"]]]
    ]


# PostgreSQL only (production's database): one browser run is most of the budget.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_browser_subscriber_hears_of_a_crawled_day(
    app,
    live_server,  # noqa: F811
    mail,
    site,
    crawl_env,
):
    shots = ARTIFACTS / "subscriptions-crawl"
    shots.mkdir(parents=True, exist_ok=True)
    log = _crawl(crawl_env)
    assert "notify:" not in log  # nobody subscribed yet: nothing started
    told: dict[str, list] = {}

    def a_day_passes() -> int:
        """The replica lives a day and is crawled again; its end runs notify.
        Return how many notifications the watched town's changes make."""
        before = site.truth()
        report = site.mutate(days=1)["changes"]
        told["expected"] = _expected(before, report)
        # the neighbour's sale moved too: watched, but not in the saved search
        assert any(c["kind"] == "sale_date" for c in report), report
        # every case page read: a new law day or sale date leaves the grid's row
        log = _crawl(crawl_env, details="all")
        assert "(after crawl" in log and "notify:" in log, log[-3000:]
        return len(told["expected"])

    def notify_again() -> str:
        """``ctforeclosure notify`` as the timer runs it; return its line."""
        done = subprocess.run(
            [*NOTIFY, "notify"],
            env={**os.environ, **crawl_env},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    _in_browser(
        _subscribe_then_read, live_server, shots, a_day_passes, notify_again, told
    )

    expected = told["expected"]
    assert len(expected) >= 3, expected  # a new case, a disposition, a law day
    emails = mail.wait_for(len(expected))
    assert len(emails) == len(expected)
    for email in emails:
        assert email["To"] == EMAILS["manager"]
        assert f"Saved search: {SEARCH}." in email.get_content()
    texts = "\n".join(email.get_content() for email in emails)
    for docket, value in expected:
        assert f"/cases/{docket}" in texts and (value or "") in texts
    assert len(mail.messages) == len(expected)  # the second notify sent none


def _subscribe_then_read(
    page, root: str, shots: Path, a_day_passes, notify_again, told
) -> None:
    _sign_in(page, root, "manager")
    page.goto(f"{root}/cases/?town={TOWN}")
    assert f"{TOWN}" in page.inner_text("#cases tbody")
    page.click("#save-search summary")
    page.fill("#save-search-name", SEARCH)
    page.click("#save-search-button")
    page.wait_for_url(f"{root}/saved-searches/")
    row = page.locator("#saved-searches tbody tr", has_text=SEARCH)
    row.locator("a.get-notified").click()
    page.wait_for_url("**/subscriptions/new?saved_search_id=*")
    for event in EVENTS:
        page.set_checked(f"input[name=events][value={event}]", event in EVENTS_CHOSEN)
    page.check("input[name=email_mode][value=immediate]")
    page.screenshot(path=str(shots / "01-get-notified.png"), full_page=True)
    page.click("#subscription-save")
    page.wait_for_url(f"{root}/subscriptions/**")
    assert page.locator("#bell-count").count() == 0  # nothing yet

    count = a_day_passes()
    page.goto(f"{root}/cases/?town={TOWN}")
    assert page.inner_text("#bell-count") == str(count)
    page.click("#nav-bell")
    page.wait_for_url(f"{root}/notifications/")
    items = page.locator("#notifications tbody tr.unread")
    assert items.count() == count
    for docket, value in told["expected"]:
        says = value or "case first seen"
        of_case = items.filter(has=page.locator(f"a[href='/cases/{docket}']"))
        assert of_case.count() == Counter(d for d, _ in told["expected"])[docket]
        texts = of_case.all_inner_texts()
        assert any(says in t and TOWN in t and SEARCH in t for t in texts), texts
    assert NEIGHBOUR not in page.inner_text("#notifications tbody")
    page.screenshot(path=str(shots / "02-notifications.png"), full_page=True)

    line = notify_again()
    assert "0 notifications; 0 delivered" in line, line
    page.reload()
    assert page.inner_text("#bell-count") == str(count)
    assert page.locator("#notifications tbody tr.unread").count() == count
