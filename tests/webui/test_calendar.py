"""Calendar feeds (issue 18 part 5): a user makes a feed on "My account", a calendar
app fetches ``/calendar/<secret>.ics`` without signing in and reads the upcoming law
days (all day) and sales (New York time, with its VTIMEZONE) under stable UIDs, with
no caption, names, phones or emails; a revoked or replaced address, or a disabled
user's, answers 404, and many unknown ones from one address 429; a saved search
follows the visibility rules, and one that no longer reads answers 409 (SQLite and
PostgreSQL). The output is read back with the icalendar library."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import icalendar
import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.parsers.court_clock import COURT_TZ, court_today
from tests.webui.conftest import (
    DOCKET_HARTFORD,
    DOCKET_NEW_HAVEN,
    DOCKET_OLD,
    EMAIL,
    EMAILS,
    PHONE_OK,
    csrf_token,
    save_search,
)
from tests.webui.test_api_changes import _engine

FEED_URL = re.compile(r'<pre id="feed-url">([^<]+)</pre>')
#: What a feed must never carry: the seeded caption's and parties' names, contacts.
NEVER = ("DOE", "ROE", "POE", "FIRST BANK", "SECOND TRUST", PHONE_OK, EMAIL)


@pytest.fixture
def dates(app):
    """A sale at noon (New York) in 20 days for New Haven; a past law day for the
    old case; a cancelled sale that must not show."""
    sale_day = court_today() + timedelta(days=20)
    noon = datetime.combine(sale_day, time(12, 0), COURT_TZ)
    now = datetime.now(UTC)
    sale = {
        "docket_no": DOCKET_NEW_HAVEN,
        "town": "New Haven",
        "sale_at": noon.astimezone(UTC),  # as the sales store keeps it
        "sale_date": sale_day,
        "status": "scheduled",
        "first_seen": now,
        "last_seen": now,
        "last_changed": now,
        "committee_phone": PHONE_OK,
        "committee_email": EMAIL,
    }
    with _engine(app).begin() as conn:
        conn.execute(db.sales.insert().values(posting_id=1, **sale))
        cancelled = {**sale, "docket_no": DOCKET_OLD, "status": "cancelled"}
        conn.execute(db.sales.insert().values(posting_id=2, **cancelled))
        conn.execute(
            db.cases.update()
            .where(db.cases.c.docket_no == DOCKET_OLD)
            .values(law_day=court_today() - timedelta(days=5))
        )
    return noon


def _make_feed(client, search: str = "", status: int = 201) -> str | None:
    response = client.post(
        "/account/calendar-feeds",
        data={"search": search, "csrf_token": csrf_token(client, "/account/")},
    )
    assert response.status_code == status, response.get_data(as_text=True)
    found = FEED_URL.search(response.get_data(as_text=True))
    return found.group(1) if found else None


def _fetch(app, url: str):
    """Fetch a feed as a calendar app does: no session, no cookies."""
    return app.test_client().get(url.removeprefix("http://localhost"))


def _events(response) -> dict[str, icalendar.Event]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_a_feed_of_all_cases_carries_upcoming_law_days_and_sales(app, as_role, dates):
    url = _make_feed(as_role("manager"))
    assert re.fullmatch(r"http://localhost/calendar/[A-Za-z0-9_-]{43}\.ics", url)
    first = _fetch(app, url)
    events = _events(first)
    law_uid = f"{DOCKET_HARTFORD}-law-day@ctforeclosure"
    sale_uid = f"{DOCKET_NEW_HAVEN}-sale@ctforeclosure"
    assert set(events) == {law_uid, sale_uid}  # no past law day, no cancelled sale
    law_day = events[law_uid]
    assert str(law_day["SUMMARY"]) == "Law day — HHD-CV22-6160660-S, Hartford"
    start = law_day.decoded("DTSTART")
    assert not isinstance(start, datetime)  # an all-day event
    with _engine(app).connect() as conn:
        stored = sa.select(db.cases.c.law_day).where(
            db.cases.c.docket_no == DOCKET_HARTFORD
        )
        assert start == conn.execute(stored).scalar_one()
    assert law_day.decoded("DTEND") == start + timedelta(days=1)
    assert str(law_day["URL"]) == f"http://localhost/cases/{DOCKET_HARTFORD}"
    sale = events[sale_uid]
    assert str(sale["SUMMARY"]) == "Sale — NNH-CV23-6012345-S, New Haven"
    assert sale["DTSTART"].params["TZID"] == "America/New_York"
    assert sale.decoded("DTSTART") == dates
    assert sale.decoded("DTSTART").hour == 12
    calendar = icalendar.Calendar.from_ical(first.data)
    assert calendar.decoded("REFRESH-INTERVAL") == timedelta(hours=12)
    zones = calendar.walk("VTIMEZONE")
    assert [str(z["TZID"]) for z in zones] == ["America/New_York"]
    body = first.get_data(as_text=True).upper()
    assert not [word for word in NEVER if word.upper() in body]
    assert set(_events(_fetch(app, url))) == set(events)  # the same UIDs again


def test_revoked_and_replaced_addresses_answer_404_and_are_audited(app, as_role, dates):
    manager = as_role("manager")
    old = _make_feed(manager)
    page = manager.get("/account/").get_data(as_text=True)
    assert old not in page  # shown once only
    feed_id = re.search(r"/account/calendar-feeds/(\d+)/replace", page).group(1)
    token = csrf_token(manager, "/account/")
    replaced = manager.post(
        f"/account/calendar-feeds/{feed_id}/replace", data={"csrf_token": token}
    )
    assert replaced.status_code == 201
    new = FEED_URL.search(replaced.get_data(as_text=True)).group(1)
    assert _fetch(app, old).status_code == 404
    assert _fetch(app, new).status_code == 200
    new_id = re.search(
        r"/account/calendar-feeds/(\d+)/revoke", replaced.get_data(as_text=True)
    ).group(1)
    # another user cannot revoke it
    viewer = as_role("viewer")
    refused = viewer.post(
        f"/account/calendar-feeds/{new_id}/revoke",
        data={"csrf_token": csrf_token(viewer, "/account/")},
    )
    assert refused.status_code == 404
    assert _fetch(app, new).status_code == 200
    revoked = manager.post(
        f"/account/calendar-feeds/{new_id}/revoke", data={"csrf_token": token}
    )
    assert revoked.status_code == 302
    gone = _fetch(app, new)
    assert gone.status_code == 404 and "revoked" in gone.get_data(as_text=True)
    assert _fetch(app, "/calendar/not-a-feed.ics").status_code == 404
    with _engine(app).connect() as conn:
        actions = conn.execute(
            sa.select(db.audit_log.c.action, db.audit_log.c.details)
            .where(db.audit_log.c.action.like("calendar_feed.%"))
            .order_by(db.audit_log.c.id)
        ).all()
    assert [a.action for a in actions] == [
        "calendar_feed.create",
        "calendar_feed.revoke",
        "calendar_feed.create",
        "calendar_feed.revoke",
    ]
    secret = new.rsplit("/", 1)[1].removesuffix(".ics")
    assert not [a for a in actions if secret in str(a.details)]


def test_a_saved_search_feed_follows_only_searches_the_user_sees(app, as_role, dates):
    own = save_search(
        app, "viewer", "New Haven sales", {"town": "New Haven"}, list_="sales"
    )
    shared = save_search(
        app, "manager", "Hartford", {"county": "Hartford"}, shared=True
    )
    private = save_search(app, "manager", "Mine", {"town": "New Haven"})
    viewer = as_role("viewer")
    page = viewer.get("/account/").get_data(as_text=True)
    assert "New Haven sales" in page and "Hartford" in page and "Mine" not in page
    in_new_haven = _events(_fetch(app, _make_feed(viewer, str(own))))
    assert set(in_new_haven) == {f"{DOCKET_NEW_HAVEN}-sale@ctforeclosure"}
    hartford_url = _make_feed(viewer, str(shared))
    in_hartford = _events(_fetch(app, hartford_url))
    assert set(in_hartford) == {f"{DOCKET_HARTFORD}-law-day@ctforeclosure"}
    assert _make_feed(viewer, str(private), status=400) is None
    with _engine(app).connect() as conn:
        made = conn.execute(sa.select(db.calendar_feeds.c.saved_search_id)).scalars()
        assert sorted(made) == sorted([own, shared])
    with _engine(app).begin() as conn:  # its owner stops sharing it
        searches = db.saved_searches
        conn.execute(
            searches.update().where(searches.c.id == shared).values(shared=False)
        )
    assert _fetch(app, hartford_url).status_code == 404


def test_a_saved_search_that_no_longer_reads_answers_409_not_every_case(
    app, as_role, dates
):
    renamed = save_search(app, "viewer", "Gone", {"town": "Atlantis"})
    url = _make_feed(as_role("viewer"), str(renamed))
    answer = _fetch(app, url)
    assert answer.status_code == 409
    text = answer.get_data(as_text=True)
    assert "saved search 'Gone' no longer reads: town: 'Atlantis'" in text
    assert "BEGIN:VCALENDAR" not in text


def _set_active(app, role: str, active: bool) -> None:
    with _engine(app).begin() as conn:
        conn.execute(
            db.users.update()
            .where(db.users.c.email == EMAILS[role])
            .values(active=active)
        )


def test_a_disabled_users_feed_is_gone_and_unknown_secrets_are_throttled(
    app, as_role, dates
):
    app.config["CALENDAR_FREE_MISSES"] = 2
    url = _make_feed(as_role("viewer"))
    _set_active(app, "viewer", False)
    assert _fetch(app, url).status_code == 404  # a disabled user's feed
    assert _fetch(app, "/calendar/guess.ics").status_code == 404
    refused = _fetch(app, "/calendar/another-guess.ics")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    _set_active(app, "viewer", True)
    assert _fetch(app, url).status_code == 200  # a live feed is always served
