"""The in-app notifications (the bell): what a user's subscriptions matched, read
and marked read by that user alone.

The matcher (:mod:`ctforeclosure.services.notify`) writes one ``notifications``
row per (subscription, change); this module reads a user's rows for the nav's
unread count (one count over an index), the notifications page and
``GET /api/v1/notifications``, and marks them read. Every query is bound to the
user: another user's notification is never counted, listed or marked.

A notification carries what the change feed carries (docket, town, kind and its
values, when) and the saved search that caught it, never phones or emails (the
``phones_found`` change records how many, not which).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ctforeclosure.db import (
    aware,
    case_changes,
    cases,
    notifications,
    saved_searches,
    subscriptions,
)

_n = notifications.c
_c = case_changes.c


@dataclass(frozen=True)
class Notification:
    """One notification as its user sees it."""

    id: int
    created_at: datetime
    read_at: datetime | None
    change_id: int
    docket_no: str
    town: str | None
    kind: str
    field: str | None
    old_value: Any
    new_value: Any
    seen_at: datetime
    subscription_id: int
    saved_search_id: int
    saved_search: str


@dataclass(frozen=True)
class Page:
    """One page of a user's notifications, and how many there are in all."""

    items: list[Notification]
    total: int
    unread: int


_SELECT = sa.select(
    _n.id,
    _n.created_at,
    _n.read_at,
    _n.change_id,
    _c.docket_no,
    cases.c.search_town.label("town"),
    _c.kind,
    _c.field,
    _c.old_value,
    _c.new_value,
    _c.seen_at,
    _n.subscription_id,
    saved_searches.c.id.label("saved_search_id"),
    saved_searches.c.name.label("saved_search"),
).select_from(
    notifications.join(case_changes, _c.id == _n.change_id)
    .outerjoin(cases, cases.c.docket_no == _c.docket_no)
    .join(subscriptions, subscriptions.c.id == _n.subscription_id)
    .join(saved_searches, saved_searches.c.id == subscriptions.c.saved_search_id)
)


def _notification(row) -> Notification:
    values = dict(row._mapping)
    for moment in ("created_at", "read_at", "seen_at"):
        values[moment] = aware(values[moment])
    return Notification(**values)


def unread_count(conn: sa.Connection, user_id: int) -> int:
    """Return how many of the user's notifications are unread (the bell)."""
    unread = (_n.user_id == user_id, _n.read_at.is_(None))
    return conn.execute(sa.select(sa.func.count()).where(*unread)).scalar_one()


def page(
    conn: sa.Connection,
    user_id: int,
    *,
    unread_only: bool = False,
    number: int = 1,
    per_page: int = 50,
) -> Page:
    """Return one page of the user's notifications, newest first."""
    mine = [_n.user_id == user_id]
    if unread_only:
        mine.append(_n.read_at.is_(None))
    rows = conn.execute(
        _SELECT.where(*mine)
        .order_by(_n.created_at.desc(), _n.id.desc())
        .limit(per_page)
        .offset((number - 1) * per_page)
    ).all()
    total = conn.execute(sa.select(sa.func.count()).where(*mine)).scalar_one()
    return Page([_notification(r) for r in rows], total, unread_count(conn, user_id))


def mark_read(
    conn: sa.Connection, user_id: int, ids: Sequence[int] | None = None
) -> int:
    """Mark the user's unread notifications read (those of ``ids``, or all);
    return how many were marked. Ids of another user's are left alone."""
    stmt = notifications.update().where(_n.user_id == user_id, _n.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(_n.id.in_(list(ids)))
    return conn.execute(stmt.values(read_at=datetime.now(UTC))).rowcount
