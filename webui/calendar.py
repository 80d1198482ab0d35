"""Calendar feeds: ``GET /calendar/<secret>.ics``, the upcoming law days and sales of
a saved search (or of all cases) as iCalendar events (issue 18 part 5).

Calendar apps (Google Calendar, Outlook, Apple Calendar) fetch a subscribed URL
without signing in, so this endpoint is public and the secret in its path is the
credential (:mod:`ctforeclosure.services.calendar_feeds`): an unknown or revoked
secret, or a disabled user's, is a 404, and an address asking for many of them is
told to wait (429) as failed sign-ins are (:class:`webui.ratelimit.UnknownSecretLimit`).
Its path is never logged (the request log writes the route's pattern, never its
values).

Each event carries the docket, the town, what happens and when, and a link to the
case page; never the caption (it names the defendants), phones or emails. A law day
is an all-day event on its Connecticut date; a sale starts at its time in
America/New_York, given with a ``TZID`` and the zone's ``VTIMEZONE``. The UID is the
same for a docket's law day (or sale) on every fetch, so a moved date updates the
event instead of adding one. A saved search whose filter no longer reads answers
409 saying so, never every case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import icalendar
import sqlalchemy as sa
from flask import Blueprint, Response, current_app, request, url_for

from ctforeclosure import dockets
from ctforeclosure.db import aware, cases, sales
from ctforeclosure.parsers.court_clock import COURT_TZ, court_today
from ctforeclosure.services import calendar_feeds, saved_searches
from webui import db, saved_queries
from webui.ratelimit import UnknownSecretLimit

bp = Blueprint("calendar", __name__, url_prefix="/calendar")

#: How long a sale's event lasts in the calendar (the site gives only its start).
SALE_LENGTH = timedelta(hours=1)
#: The event kinds: the UID's part and the summary's words.
KINDS = {"law_day": "Law day", "sale": "Sale"}
PRODID = "-//ctforeclosure//Calendar feed//EN"
#: How often calendar apps are asked to fetch again (the crawls run daily).
REFRESH = timedelta(hours=12)


@dataclass(frozen=True)
class CourtDate:
    """One upcoming date of a case: its law day or its sale."""

    docket_no: str
    town: str
    kind: str  # a key of KINDS
    day: date
    starts: datetime | None = None  # a sale's time, aware; None: all day


def _law_days(conn, today: date, watched, bound: dict) -> list[CourtDate]:
    c = cases.c
    stmt = sa.select(c.docket_no, c.search_town, c.law_day).where(c.law_day >= today)
    if watched is not None:
        stmt = stmt.where(c.docket_no.in_(watched))
    rows = conn.execute(stmt.order_by(c.law_day, c.docket_no), bound)
    return [CourtDate(r.docket_no, r.search_town, "law_day", r.law_day) for r in rows]


def _sales(conn, today: date, watched, bound: dict) -> list[CourtDate]:
    """The scheduled, listed sales from today on: a docket's newest posting only
    (a re-noticed sale is the same event, moved)."""
    s = sales.c
    stmt = sa.select(s.docket_no, s.town, s.sale_date, s.sale_at).where(
        s.listed.is_(True), s.status == "scheduled", s.sale_date >= today
    )
    if watched is not None:
        stmt = stmt.where(s.docket_no.in_(watched))
    newest: dict[str, CourtDate] = {}
    for r in conn.execute(stmt.order_by(s.posting_id.desc()), bound):
        if r.docket_no not in newest:
            starts = aware(r.sale_at)
            starts = starts.astimezone(COURT_TZ) if starts else None
            newest[r.docket_no] = CourtDate(
                r.docket_no, r.town, "sale", r.sale_date, starts
            )
    return sorted(newest.values(), key=lambda d: (d.day, d.docket_no))


def upcoming(conn, today: date, watched=None, bound=None) -> list[CourtDate]:
    """Return the law days and sales from ``today`` on, of the cases ``watched``
    selects (None: every case)."""
    bound = bound or {}
    return _law_days(conn, today, watched, bound) + _sales(conn, today, watched, bound)


def _event(when: CourtDate, base_url: str, stamp: datetime) -> icalendar.Event:
    event = icalendar.Event()
    shown = dockets.header_form(when.docket_no)  # as the case page prints it
    event.add("uid", f"{when.docket_no}-{when.kind.replace('_', '-')}@ctforeclosure")
    event.add("dtstamp", stamp)
    event.add("summary", f"{KINDS[when.kind]} — {shown}, {when.town}")
    if when.starts is None:
        event.add("dtstart", when.day)
        event.add("dtend", when.day + timedelta(days=1))
    else:
        event.add("dtstart", when.starts)
        event.add("dtend", when.starts + SALE_LENGTH)
    event.add("transp", "TRANSPARENT")  # a reminder, not time the reader is busy
    event.add("url", base_url + url_for("cases.detail", docket_no=when.docket_no))
    return event


def to_ical(dates: list[CourtDate], name: str, base_url: str) -> bytes:
    """Return the dates as an iCalendar file, with the zones its times use."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", COURT_TZ.key)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    ttl = icalendar.vDuration(REFRESH).to_ical().decode()
    cal.add("x-published-ttl", ttl)  # Outlook's name for the same
    stamp = datetime.now(UTC)
    for when in dates:
        cal.add_component(_event(when, base_url, stamp))
    cal.add_missing_timezones()
    return cal.to_ical()


def _base_url() -> str:
    """The web UI's public address (``CTF_BASE_URL``), else this request's."""
    return current_app.config["BASE_URL"] or request.host_url.rstrip("/")


def feed_url(secret: str) -> str:
    """Return a feed's address, to show its owner once."""
    return _base_url() + url_for("calendar.feed", secret=secret)


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status, mimetype="text/plain")


def _unknown() -> Response:
    """Answer an unknown or revoked secret: 404, or 429 once this address has
    asked for too many (a live feed is always served: a calendar app still polling
    a revoked address must not lock out the new one from the same office)."""
    limit = UnknownSecretLimit(
        current_app.extensions["login_throttle"],
        free=current_app.config["CALENDAR_FREE_MISSES"],
    )
    address = request.remote_addr or ""
    if wait := limit.retry_after(address):
        answer = _text(429, f"Too many unknown calendar feeds. Retry in {wait} s.")
        answer.headers["Retry-After"] = str(wait)
        return answer
    limit.missed(address)
    return _text(404, "No such calendar feed: unknown or revoked.")


@bp.get("/<secret>.ics")
def feed(secret: str):
    """Answer a calendar feed: its upcoming law days and sales (public: the secret
    is the credential)."""
    conn = db.get_conn()
    found = calendar_feeds.find_feed(conn, secret)
    if found is None:
        return _unknown()
    watched, bound, name = None, {}, "Foreclosures: law days and sales"
    if found.saved_search_id is not None:
        search = saved_searches.get_visible(conn, found.saved_search_id, found.user_id)
        if search is None:
            return _text(404, "No such calendar feed: its saved search is gone.")
        try:
            watched, bound = saved_queries.matching_dockets(conn, search, found.email)
        except saved_queries.BrokenSearch as exc:
            return _text(409, f"{exc}. Make a new feed if you delete it.")
        name += f" (saved search {found.saved_search_id})"
    dates = upcoming(conn, court_today(), watched, bound)
    body = to_ical(dates, name, _base_url())
    with db.write() as write:
        calendar_feeds.mark_fetched(write, found.id)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="foreclosures.ics"'
    return response
