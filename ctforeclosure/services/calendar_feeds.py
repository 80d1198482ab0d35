"""Calendar feeds: a user's secret addresses of iCalendar feeds (issue 18 part 5).

A calendar app (Google Calendar, Outlook, Apple Calendar) subscribes to a URL and
fetches it now and then without signing in, so the URL itself is the credential: a
random secret (``secrets.token_urlsafe``, 32 bytes) shown once when the feed is made
and stored only as its SHA-256 digest. A plain digest is enough here: the secret is
random, not a password a person chose, so there is nothing to guess from a leaked
digest, and a fast digest keeps the lookup one indexed equality.

A feed follows one saved search the user sees (their own or a shared one), or all
cases. It is revoked (the URL answers 404 from then on) or replaced (revoked, and a
new one made for the same search). Making, revoking and replacing are audited; the
secret is never logged nor audited. The web UI's "My account" page calls these
functions; :mod:`webui.calendar` answers the feed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure.db import calendar_feeds, saved_searches, users
from ctforeclosure.services import audit
from ctforeclosure.services import saved_searches as searches
from ctforeclosure.services.tokens import secret_digest
from ctforeclosure.services.users import User, UserError

__all__ = [
    "Feed",
    "FeedInfo",
    "IssuedFeed",
    "create_feed",
    "find_feed",
    "list_feeds",
    "mark_fetched",
    "replace_feed",
    "revoke_feed",
]


@dataclass(frozen=True)
class FeedInfo:
    """A live feed as its owner's page lists it (never its secret)."""

    id: int
    saved_search_id: int | None
    search_name: str | None  # None: all cases
    created_at: datetime
    last_fetched_at: datetime | None


@dataclass(frozen=True)
class IssuedFeed:
    """A feed just made: its secret, shown once."""

    id: int
    secret: str


@dataclass(frozen=True)
class Feed:
    """A live feed found by its secret: whose it is and what it follows."""

    id: int
    user_id: int
    email: str
    saved_search_id: int | None


def _now() -> datetime:
    return datetime.now(UTC)


def create_feed(
    conn: sa.Connection, user: User, saved_search_id: int | None
) -> IssuedFeed:
    """Make a feed of the saved search (None: all cases) for ``user``; audited.

    A search the user does not see (another's private one, or none) is refused
    with :class:`UserError`, worded as if it did not exist.
    """
    if saved_search_id is not None and not searches.get_visible(
        conn, saved_search_id, user.id
    ):
        raise UserError(f"no such saved search: {saved_search_id}")
    secret = secrets.token_urlsafe(32)
    feed_id = conn.execute(
        calendar_feeds.insert()
        .values(
            user_id=user.id,
            saved_search_id=saved_search_id,
            secret_hash=secret_digest(secret),
            created_at=_now(),
        )
        .returning(calendar_feeds.c.id)
    ).scalar_one()
    details = {"user_id": user.id, "saved_search_id": saved_search_id}
    audit.record(conn, user.email, "calendar_feed.create", str(feed_id), details)
    return IssuedFeed(feed_id, secret)


def _live_feed(conn: sa.Connection, user_id: int, feed_id: int):
    f = calendar_feeds.c
    row = conn.execute(
        sa.select(f.id, f.saved_search_id).where(
            f.id == feed_id, f.user_id == user_id, f.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        raise UserError(f"no such calendar feed: {feed_id}")
    return row


def revoke_feed(conn: sa.Connection, user: User, feed_id: int) -> None:
    """Revoke one of the user's live feeds (its URL answers 404 from now); audited."""
    _live_feed(conn, user.id, feed_id)
    conn.execute(
        calendar_feeds.update()
        .where(calendar_feeds.c.id == feed_id)
        .values(revoked_at=_now())
    )
    details = {"user_id": user.id}
    audit.record(conn, user.email, "calendar_feed.revoke", str(feed_id), details)


def replace_feed(conn: sa.Connection, user: User, feed_id: int) -> IssuedFeed:
    """Revoke one of the user's feeds and make a new one for the same search
    (a URL that leaked stops working; the calendar app needs the new one)."""
    search_id = _live_feed(conn, user.id, feed_id).saved_search_id
    revoke_feed(conn, user, feed_id)
    return create_feed(conn, user, search_id)


def list_feeds(conn: sa.Connection, user_id: int) -> list[FeedInfo]:
    """Return the user's live feeds, oldest first."""
    f, s = calendar_feeds.c, saved_searches.c
    rows = conn.execute(
        sa.select(f.id, f.saved_search_id, s.name, f.created_at, f.last_fetched_at)
        .select_from(calendar_feeds.outerjoin(saved_searches))
        .where(f.user_id == user_id, f.revoked_at.is_(None))
        .order_by(f.id)
    )
    return [FeedInfo(*row) for row in rows]


def find_feed(conn: sa.Connection, secret: str) -> Feed | None:
    """Return the live feed of an active user with this secret, or None."""
    f = calendar_feeds.c
    row = conn.execute(
        sa.select(f.id, f.user_id, users.c.email, f.saved_search_id)
        .select_from(calendar_feeds.join(users))
        .where(
            f.secret_hash == secret_digest(secret),
            f.revoked_at.is_(None),
            users.c.active.is_(True),
        )
    ).first()
    return Feed(*row) if row else None


def mark_fetched(conn: sa.Connection, feed_id: int) -> None:
    """Record that a calendar app fetched the feed now (shown on the user's page)."""
    conn.execute(
        calendar_feeds.update()
        .where(calendar_feeds.c.id == feed_id)
        .values(last_fetched_at=_now())
    )
