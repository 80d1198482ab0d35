"""The matcher: every change after its stored cursor, once, into the outbox.

It reads ``case_changes`` with the change feed's reader (:mod:`ctforeclosure.store.
feed`), so a change whose transaction commits after a later one (a long crawl
batch against a quick skip trace) is still read; every change lands there, from
crawls, skip traces, spool replays and corrections alike. For each page of changes,
in one transaction with the cursor that follows it:

- the page's events, the watchers' events and channels, and a copy of the changed
  cases go into temporary tables; each watched saved search's own filter
  (``dockets_of``: the web UI's one definition of what a saved filter means,
  handed in by the caller) runs against the copy instead of the 200,000 cases
  (the same conditions, over the few cases that changed), its matches inserted
  into a temporary table (:mod:`.filters`);
- a subscription matches a change when the change's case matches its saved search,
  the change's event is among its events, its subscriber still sees the search
  (their own or a shared one) and is active, and the change was seen after the
  subscription was made (subscribing watches from then on, not the history): one
  join of those tables, in the database;
- each match makes one bell row and one outbox row per channel, each insert
  keyed on (subscription, change[, channel]): a rerun, or a second run at the
  same time, adds nothing.

Matches never travel to Python and back: at 10,000 changes and 1,000 searches
they are tens of thousands of rows (BENCHMARKS.md, "the notify matcher").

A saved search whose filter no longer reads (a town renamed) matches nothing and is
counted as broken; its page says why.

Events: each is the change kind of its name, and ``sale_moved`` also takes a
moved ``sale_date`` (the date the court's case page gives) of a case that has no
sale notice: with a notice, the sales site's own ``sale_moved`` says it first and
better, and the derived date following it is no news.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ctforeclosure.db import (
    aware,
    cases,
    notification_outbox,
    notifications,
    notify_state,
    sales,
    subscriptions,
    users,
)
from ctforeclosure.services import saved_searches
from ctforeclosure.services.notify import filters
from ctforeclosure.services.notify.schedule import next_digest_at
from ctforeclosure.services.saved_searches import SavedSearch
from ctforeclosure.services.subscriptions import EVENTS
from ctforeclosure.store import bulk, feed

__all__ = ["DocketsOf", "MatchCounts", "Watcher", "event_of", "match"]

logger = logging.getLogger(__name__)

#: The saved search's filter as a statement of the dockets it matches and its bound
#: values (webui.saved_queries.matching_dockets); raises ValueError when broken.
DocketsOf = Callable[[sa.Connection, SavedSearch, str], tuple[sa.Select, dict]]
#: The change kinds an event is made of (see the module docstring).
KIND_EVENTS = {event: event for event in EVENTS} | {"sale_date": "sale_moved"}
STATE = "matcher"
PAGE = 10_000  # changes a transaction: fewer copies and filter statements

#: A page's working tables (temporary: each connection has its own).
_PAGE = sa.MetaData()
_TS = sa.DateTime(timezone=True)
_EVENTS = sa.Table(  # the page's changes that are events
    "notify_events",
    _PAGE,
    sa.Column("change_id", sa.Integer),
    sa.Column("docket_no", sa.String),
    sa.Column("event", sa.String),
    sa.Column("seen_at", _TS),
    prefixes=["TEMPORARY"],
)
_WATCHING = sa.Table(  # a row per subscription and event it wants
    "notify_watching",
    _PAGE,
    sa.Column("subscription_id", sa.Integer),
    sa.Column("user_id", sa.Integer),
    sa.Column("search_key", sa.Integer),  # its filter's number in the page
    sa.Column("event", sa.String),
    sa.Column("created_at", _TS),
    prefixes=["TEMPORARY"],
)
_CHANNELS = sa.Table(  # a row per subscription and channel, with when it is due
    "notify_channels",
    _PAGE,
    sa.Column("subscription_id", sa.Integer),
    sa.Column("channel", sa.String),
    sa.Column("due", _TS),
    prefixes=["TEMPORARY"],
)
_FOUND = sa.Table(  # the changed cases each filter matches (:mod:`.filters`)
    "notify_found",
    _PAGE,
    sa.Column("docket_no", sa.String),
    sa.Column("search_key", sa.Integer),
    prefixes=["TEMPORARY"],
)
_MATCHED = sa.Table(  # the page's matches: (subscription, change)
    "notify_matched",
    _PAGE,
    sa.Column("subscription_id", sa.Integer),
    sa.Column("user_id", sa.Integer),
    sa.Column("change_id", sa.Integer),
    prefixes=["TEMPORARY"],
)
_CHANGED = sa.Table(  # a copy of the changed cases, the filters' own columns
    "notify_changed_cases",
    _PAGE,
    *(sa.Column(c.name, c.type) for c in cases.c),
    prefixes=["TEMPORARY"],
)


@dataclass(frozen=True)
class Watcher:
    """A subscription as the matcher needs it."""

    id: int
    user_id: int
    email: str
    search_id: int
    events: frozenset[str]
    channels: tuple[str, ...]
    digest_hour: int | None
    created_at: datetime


@dataclass
class MatchCounts:
    """What a run of the matcher did (counts only: no personal data), and its
    seconds finding the matches and writing their bell and outbox rows."""

    changes: int = 0
    outbox: int = 0
    notifications: int = 0
    broken_searches: set[int] = field(default_factory=set)
    matching_seconds: float = 0.0
    writing_seconds: float = 0.0


def event_of(kind: str, docket_no: str, noticed: set[str]) -> str | None:
    """Return the event a change of ``kind`` is, or None (``noticed``: the dockets
    with a sale notice, whose derived sale date moving is no event)."""
    if kind == "sale_date" and docket_no in noticed:
        return None
    return KIND_EVENTS.get(kind)


def _watchers(conn: sa.Connection) -> tuple[list[Watcher], dict[int, SavedSearch]]:
    """Return the subscriptions of active users, each on a search they still see,
    and those searches by id."""
    s, u = subscriptions.c, users.c
    rows = conn.execute(
        sa.select(subscriptions, u.email)
        .select_from(subscriptions.join(users, u.id == s.user_id))
        .where(u.active.is_(True))
        .order_by(s.id)
    ).all()
    searches = saved_searches.by_ids(conn, {r.saved_search_id for r in rows})
    watchers = []
    for row in rows:
        search = searches.get(row.saved_search_id)
        if search is None or not (search.shared or search.owner_id == row.user_id):
            continue
        channels = ("email",) if row.email_mode != "off" else ()
        channels += ("webhook",) if row.webhook_url else ()
        watchers.append(
            Watcher(
                id=row.id,
                user_id=row.user_id,
                email=row.email,
                search_id=row.saved_search_id,
                events=frozenset(row.events or ()),
                channels=channels,
                digest_hour=row.digest_hour if row.email_mode == "digest" else None,
                created_at=aware(row.created_at),
            )
        )
    return watchers, searches


@contextmanager
def _page_tables(conn: sa.Connection) -> Iterator[None]:
    """Create the page's working tables, and drop them after the page (SQLite has
    no ON COMMIT DROP, and the next page makes them anew).

    A failed page drops nothing (its transaction is rolled back, and on PostgreSQL
    no statement runs in it any more); SQLite's driver ran the CREATE outside the
    transaction, so leftovers of a failed page are dropped first."""
    _PAGE.drop_all(conn)  # those that exist
    _PAGE.create_all(conn, checkfirst=False)
    yield
    _PAGE.drop_all(conn, checkfirst=False)


def _utc(value: datetime) -> datetime:
    """The same instant in UTC: SQLite compares times as text."""
    return aware(value).astimezone(UTC)


def _noticed(conn: sa.Connection, rows) -> set[str]:
    """Return the dockets among the page's derived sale date changes that have a
    sale notice."""
    moved = sorted({r.docket_no for r in rows if r.kind == "sale_date"})
    found: set[str] = set()
    for chunk in bulk.chunks(moved):
        query = sa.select(sales.c.docket_no).where(sales.c.docket_no.in_(chunk))
        found.update(conn.execute(query.distinct()).scalars())
    return found


def _store_events(conn: sa.Connection, page_rows) -> None:
    """Store the page's changes that are events, and copy their cases."""
    noticed = _noticed(conn, page_rows)
    rows = (
        (change.id, change.docket_no, event, _utc(change.seen_at))
        for change in page_rows
        if (event := event_of(change.kind, change.docket_no, noticed)) is not None
    )
    names = [c.name for c in _EVENTS.c]
    bulk.insert_tuples(conn, _EVENTS, names, rows)
    dockets = sa.select(_EVENTS.c.docket_no)
    changed = sa.select(cases).where(cases.c.docket_no.in_(dockets))
    conn.execute(_CHANGED.insert().from_select([c.name for c in cases.c], changed))
    _analyze(conn, _EVENTS, _CHANGED)


def _analyze(conn: sa.Connection, *tables: sa.Table) -> None:
    """PostgreSQL: gather the working tables' statistics (a temporary table has
    none, and joins planned blind over thousands of rows took seconds)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE " + ", ".join(t.name for t in tables))


def _statements(conn, watchers, searches, dockets_of: DocketsOf, counts) -> dict:
    """Return {(search id, subscriber email): its filter's statement and values}
    for the watched searches (a broken one is counted and left out)."""
    statements = {}
    for watcher in watchers:
        key = (watcher.search_id, watcher.email)
        if key in statements or watcher.search_id in counts.broken_searches:
            continue
        try:
            statements[key] = dockets_of(conn, searches[watcher.search_id], key[1])
        except ValueError:
            counts.broken_searches.add(watcher.search_id)
    return statements


def _store_watchers(conn, watchers, numbers: dict, now: datetime) -> None:
    """Store what each watcher wants (events) and how (channels, when due)."""
    wanted, channels = [], []
    for w in watchers:
        number = numbers.get((w.search_id, w.email))
        if number is None:  # its search is broken
            continue
        created = _utc(w.created_at)
        wanted.extend((w.id, w.user_id, number, e, created) for e in sorted(w.events))
        for channel in w.channels:
            due = now
            if channel == "email" and w.digest_hour is not None:
                due = next_digest_at(w.digest_hour, now)
            channels.append((w.id, channel, _utc(due)))
    bulk.insert_tuples(conn, _WATCHING, [c.name for c in _WATCHING.c], wanted)
    bulk.insert_tuples(conn, _CHANNELS, [c.name for c in _CHANNELS.c], channels)
    _analyze(conn, _WATCHING, _CHANNELS)


def _store_matches(conn: sa.Connection) -> None:
    """Join the filters' matches to the events and what each watcher wants."""
    f, w, e = _FOUND.c, _WATCHING.c, _EVENTS.c
    joined = (
        sa.select(w.subscription_id, w.user_id, e.change_id)
        .select_from(
            _FOUND.join(_WATCHING, w.search_key == f.search_key).join(
                _EVENTS, sa.and_(e.docket_no == f.docket_no, e.event == w.event)
            )
        )
        .where(e.seen_at >= w.created_at)
    )
    names = [c.name for c in _MATCHED.c]
    conn.execute(_MATCHED.insert().from_select(names, joined))


def _match_into_tables(conn, page_rows, watching, dockets_of, now, counts) -> None:
    """Find the page's matches, into the ``notify_matched`` table (``watching``:
    the watchers and their searches)."""
    watchers, searches = watching
    statements = _statements(conn, watchers, searches, dockets_of, counts)
    numbers = {key: number for number, key in enumerate(statements)}
    _store_events(conn, page_rows)
    _store_watchers(conn, watchers, numbers, now)
    by_number = {numbers[key]: statement for key, statement in statements.items()}
    filters.insert_matches(conn, _CHANGED, by_number, _FOUND)
    _analyze(conn, _FOUND)
    _store_matches(conn)
    _analyze(conn, _MATCHED)


def _insert_new(conn, table: sa.Table, select: sa.Select) -> int:
    """Insert the rows of ``select`` whose unique keys are not stored yet; return
    how many (a rerun, or a second run at the same time, adds nothing)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # SQLite reads ON CONFLICT after a join's ON as part of it without a WHERE
    names = [c.name for c in select.selected_columns]
    statement = dialect.insert(table).from_select(names, select.where(sa.true()))
    counted = {"preserve_rowcount": True}  # SQLAlchemy counts only on request
    result = conn.execute(statement.on_conflict_do_nothing(), execution_options=counted)
    return result.rowcount


def _write_rows(conn: sa.Connection, now: datetime) -> tuple[int, int]:
    """Write the bell and outbox rows of the page's matches, in the changes'
    order; return how many of each were new."""
    m, c = _MATCHED.c, _CHANNELS.c
    at = sa.literal(_utc(now), _TS)
    bell = sa.select(
        m.subscription_id, m.change_id, m.user_id, at.label("created_at")
    ).order_by(m.change_id, m.subscription_id)
    new_bell = _insert_new(conn, notifications, bell)
    outbox = (
        sa.select(
            m.subscription_id,
            m.change_id,
            c.channel,
            sa.cast(sa.func.gen_random_uuid(), sa.String).label("delivery_id"),
            sa.literal("pending").label("status"),
            sa.literal(0).label("attempts"),
            c.due.label("next_attempt_at"),
            at.label("created_at"),
        )
        .select_from(_MATCHED.join(_CHANNELS, c.subscription_id == m.subscription_id))
        .order_by(m.change_id, m.subscription_id, c.channel)
    )
    return new_bell, _insert_new(conn, notification_outbox, outbox)


def _cursor(conn: sa.Connection) -> feed.Cursor:
    text = conn.execute(
        sa.select(notify_state.c.cursor).where(notify_state.c.name == STATE)
    ).scalar()
    return feed.Cursor.decode(text) if text else feed.Cursor()


def _save_cursor(conn: sa.Connection, cursor: feed.Cursor, now: datetime) -> None:
    row = {"name": STATE, "cursor": cursor.encode(), "updated_at": now}
    bulk.upsert(conn, notify_state, [row], keys=["name"])


def _match_page(conn, dockets_of, now, counts, limit) -> bool:
    """Match one page after the stored cursor; return whether more are waiting."""
    began = time.perf_counter()
    # every kind is read, events or not, so that the cursor moves past them all
    # (a filtered read that finds nothing hands back the cursor it was given)
    page = feed.read_changes(conn, _cursor(conn), limit, columns=feed.KEY_COLUMNS)
    events = [row for row in page.rows if row.kind in KIND_EVENTS]
    watching = _watchers(conn) if events else ([], {})
    if watching[0]:
        with _page_tables(conn):
            _match_into_tables(conn, events, watching, dockets_of, now, counts)
            matched = time.perf_counter()
            counts.matching_seconds += matched - began
            bell, outbox = _write_rows(conn, now)
            counts.notifications += bell
            counts.outbox += outbox
            counts.writing_seconds += time.perf_counter() - matched
    counts.changes += len(page.rows)
    if page.rows:
        _save_cursor(conn, page.next, now)
    return page.more


def match(
    engine: sa.Engine, dockets_of: DocketsOf, now: datetime, limit: int = PAGE
) -> MatchCounts:
    """Match every change after the stored cursor, a page per transaction (its
    outbox and bell rows and the cursor after it commit together)."""
    counts = MatchCounts()
    more = True
    while more:
        with engine.begin() as conn:
            more = _match_page(conn, dockets_of, now, counts, limit)
    return counts
