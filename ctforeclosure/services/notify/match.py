"""The matcher: every change after its stored cursor, once, into the outbox.

It reads ``case_changes`` with the change feed's reader (:mod:`ctforeclosure.store.
feed`), so a change whose transaction commits after a later one (a long crawl
batch against a quick skip trace) is still read; every change lands there, from
crawls, skip traces, spool replays and corrections alike. For each page of changes,
in one transaction with the cursor that follows it:

- the page's cases are copied into a temporary table, and each watched saved
  search's own filter (``dockets_of``: the web UI's one definition of what a saved
  filter means, handed in by the caller) is run against that copy instead of the
  200,000 cases: the same conditions, over the few cases that changed;
- a subscription matches a change when the change's case matches its saved search,
  the change's event is among its events, its subscriber still sees the search
  (their own or a shared one) and is active, and the change was seen after the
  subscription was made (subscribing watches from then on, not the history);
- each match makes one bell row and one outbox row per channel, each insert
  keyed on (subscription, change[, channel]): a rerun, or a second run at the
  same time, adds nothing.

A saved search whose filter no longer reads (a town renamed) matches nothing and is
counted as broken; its page says why.

Events: each is the change kind of its name, and ``sale_moved`` also takes a
moved ``sale_date`` (the date the court's case page gives) of a case that has no
sale notice: with a notice, the sales site's own ``sale_moved`` says it first and
better, and the derived date following it is no news.
"""

from __future__ import annotations

import logging
import operator
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

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
_CHANGED = "notify_changed_cases"


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
    """What a run of the matcher did (counts only: no personal data)."""

    changes: int = 0
    outbox: int = 0
    notifications: int = 0
    broken_searches: set[int] = field(default_factory=set)


def event_of(kind: str, docket_no: str, noticed: set[str]) -> str | None:
    """Return the event a change of ``kind`` is, or None (``noticed``: the dockets
    with a sale notice, whose derived sale date moving is no event)."""
    if kind == "sale_date" and docket_no in noticed:
        return None
    return KIND_EVENTS.get(kind)


def _watchers(conn: sa.Connection) -> list[Watcher]:
    """Return the subscriptions of active users, each on a search they still see."""
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
    return watchers


def _changed_copy(conn: sa.Connection, dockets: list[str]) -> sa.Table:
    """Copy the cases of ``dockets`` into a temporary table of the same columns."""
    copy = sa.Table(
        _CHANGED,
        sa.MetaData(),
        *(sa.Column(c.name, c.type) for c in cases.c),
        prefixes=["TEMPORARY"],
    )
    copy.create(conn)
    for chunk in bulk.chunks(dockets):
        conn.execute(
            copy.insert().from_select(
                [c.name for c in cases.c],
                sa.select(cases).where(cases.c.docket_no.in_(chunk)),
            )
        )
    if conn.dialect.name == "postgresql":  # a temporary table has no statistics
        conn.exec_driver_sql(f"ANALYZE {_CHANGED}")
    return copy


def _noticed(conn: sa.Connection, rows) -> set[str]:
    """Return the dockets among the page's derived sale date changes that have a
    sale notice."""
    moved = sorted({r.docket_no for r in rows if r.kind == "sale_date"})
    found: set[str] = set()
    for chunk in bulk.chunks(moved):
        query = sa.select(sales.c.docket_no).where(sales.c.docket_no.in_(chunk))
        found.update(conn.execute(query.distinct()).scalars())
    return found


def _statements(conn, watchers, dockets_of: DocketsOf, counts) -> dict:
    """Return {(search id, subscriber email): its filter's statement and values}
    for the watched searches (a broken one is counted and left out)."""
    searches = saved_searches.by_ids(conn, {w.search_id for w in watchers})
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


def _matches_by_search(conn, rows, statements: dict) -> dict:
    """Return {(search id, subscriber email): the page's dockets it matches}."""
    copy = _changed_copy(conn, sorted({r.docket_no for r in rows}))
    try:
        return filters.matches(conn, copy, statements)
    finally:
        copy.drop(conn)


def _events_by_docket(page_rows, noticed) -> dict[str, list]:
    """Return the page's changes that are events, by docket: (change, event, seen)."""
    by_docket: dict[str, list] = defaultdict(list)
    for change in page_rows:
        event = event_of(change.kind, change.docket_no, noticed)
        if event is not None:
            by_docket[change.docket_no].append((change, event, aware(change.seen_at)))
    return by_docket


def _rows_for(page_rows, watchers, found, noticed, now):
    """Return the page's outbox and bell rows: for each watcher, the events of the
    changed cases its search matches (work in proportion to the matches)."""
    by_docket = _events_by_docket(page_rows, noticed)
    outbox, bell = [], []
    for w in watchers:
        due = {"email": now, "webhook": now}
        if w.digest_hour is not None:
            due["email"] = next_digest_at(w.digest_hour, now)
        for docket in found.get((w.search_id, w.email), ()):
            for change, event, seen in by_docket.get(docket, ()):
                if event not in w.events or seen < w.created_at:
                    continue
                ids = {"subscription_id": w.id, "change_id": change.id}
                bell.append({**ids, "user_id": w.user_id, "created_at": now})
                outbox.extend(
                    {**ids, "channel": channel, "delivery_id": str(uuid.uuid4())}
                    | {"status": "pending", "attempts": 0}
                    | {"next_attempt_at": due[channel], "created_at": now}
                    for channel in w.channels
                )
    in_order = operator.itemgetter("change_id", "subscription_id")  # as they came
    return sorted(outbox, key=in_order), sorted(bell, key=in_order)


def _cursor(conn: sa.Connection) -> feed.Cursor:
    text = conn.execute(
        sa.select(notify_state.c.cursor).where(notify_state.c.name == STATE)
    ).scalar()
    return feed.Cursor.decode(text) if text else feed.Cursor()


def _save_cursor(conn: sa.Connection, cursor: feed.Cursor, now: datetime) -> None:
    row = {"name": STATE, "cursor": cursor.encode(), "updated_at": now}
    bulk.upsert(conn, notify_state, [row], keys=["name"])


def _insert_new(conn, table: sa.Table, rows: list[dict], keys: list[str]) -> int:
    """Insert the rows whose keys are not stored yet; return how many."""
    if not rows:
        return 0
    keep = [name for name in rows[0] if name not in keys]
    return bulk.upsert(conn, table, rows, keys=keys, keep=keep)


def _match_page(conn, dockets_of, now, counts, limit) -> bool:
    """Match one page after the stored cursor; return whether more are waiting."""
    # every kind is read, events or not, so that the cursor moves past them all
    # (a filtered read that finds nothing hands back the cursor it was given)
    page = feed.read_changes(conn, _cursor(conn), limit)
    events = [row for row in page.rows if row.kind in KIND_EVENTS]
    watchers = _watchers(conn) if events else []
    if watchers:
        statements = _statements(conn, watchers, dockets_of, counts)
        found = _matches_by_search(conn, events, statements)
        noticed = _noticed(conn, events)
        outbox, bell = _rows_for(events, watchers, found, noticed, now)
        ids = ["subscription_id", "change_id"]
        counts.notifications += _insert_new(conn, notifications, bell, ids)
        counts.outbox += _insert_new(
            conn, notification_outbox, outbox, [*ids, "channel"]
        )
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
