"""Subscriptions: a user's watch on a saved search, delivered by email, webhook and
the in-app bell (issue 18 parts 2 and 3).

The one place that makes, reads, changes and deletes subscriptions, for the web
pages, the API and ``ctforeclosure notify`` alike. It decides:

- who: a user subscribes to a saved search they see (their own or a shared one)
  and sees, changes and deletes only their own subscriptions (anyone else's is as
  if it did not exist);
- what: the events (:data:`EVENTS`, each a kind of change), how it emails
  (``off``, ``immediate``, or a daily ``digest`` at an hour, America/New_York),
  and an optional webhook;
- the webhook's URL and its HMAC secret are checked and stored encrypted by
  :mod:`ctforeclosure.services.webhooks` (Fernet under ``CTF_SECRET_KEY``: a
  database dump alone gives neither); the
  secret is made here and returned in clear once, by :func:`create` (or by
  :func:`update` asked for a new one). Changing ``CTF_SECRET_KEY`` makes stored
  webhooks unreadable: their subscriptions read as having a broken webhook
  (:attr:`Subscription.webhook_broken`) until the user sets the URL again.

Every creation, change and deletion is audited with the search, the events and
the channels, never the webhook's URL or secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure.db import aware, subscriptions
from ctforeclosure.services import audit, webhooks
from ctforeclosure.services import saved_searches as searches
from ctforeclosure.services.users import User
from ctforeclosure.store.changes import SALE_KINDS

__all__ = [
    "EMAIL_MODES",
    "EVENTS",
    "Created",
    "Subscription",
    "SubscriptionError",
    "create",
    "delete",
    "get",
    "list_for_user",
    "update",
]

#: The events a subscription may pick: each is the change kind of the same name
#: (``sale_moved`` also takes a moved derived sale date, see services.notify).
EVENTS = (
    "new_case",
    "judgment",
    "law_day",
    *SALE_KINDS,
    "disposition",
    "no_longer_listed",
    "phones_found",
)
EMAIL_MODES = ("off", "immediate", "digest")
#: What :func:`update` may change.
CHANGEABLE = frozenset(
    {"events", "email_mode", "digest_hour", "webhook_url", "include_caption"}
)


class SubscriptionError(ValueError):
    """A subscription cannot be made or changed as asked: the parameter, and why."""

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


@dataclass(frozen=True)
class Subscription:
    """A subscription as its owner sees it: the webhook URL in clear, never the
    secret (``webhook_secret`` is for the sender alone)."""

    id: int
    user_id: int
    saved_search_id: int
    events: tuple[str, ...]
    email_mode: str
    digest_hour: int | None
    webhook_url: str | None
    include_caption: bool
    created_at: datetime
    updated_at: datetime
    webhook_secret: str | None = None
    webhook_broken: bool = False  # stored, but unreadable under the current key

    def as_dict(self) -> dict:
        """The subscription as the API shows it to its owner (no secret)."""
        return {
            "id": self.id,
            "saved_search_id": self.saved_search_id,
            "events": list(self.events),
            "email_mode": self.email_mode,
            "digest_hour": self.digest_hour,
            "webhook_url": self.webhook_url,
            "webhook_broken": self.webhook_broken,
            "include_caption": self.include_caption,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class Created:
    """A subscription just made (or given a new secret): the secret, shown once."""

    subscription: Subscription
    webhook_secret: str | None


def _decrypt(secret_key: str | None, value: str | None) -> str | None:
    if value is None or not secret_key:
        return None
    try:
        return webhooks.decrypt(value, secret_key)
    except ValueError:
        return None  # CTF_SECRET_KEY changed: see the module docstring


def _encrypt(secret_key: str | None, value: str) -> str:
    if not secret_key:
        raise SubscriptionError("webhook_url", "webhooks need CTF_SECRET_KEY set")
    return webhooks.encrypt(value, secret_key)


def _subscription(row, secret_key: str | None) -> Subscription:
    url = _decrypt(secret_key, row.webhook_url)
    return Subscription(
        id=row.id,
        user_id=row.user_id,
        saved_search_id=row.saved_search_id,
        events=tuple(row.events or ()),
        email_mode=row.email_mode,
        digest_hour=row.digest_hour,
        webhook_url=url,
        include_caption=bool(row.include_caption),
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
        webhook_secret=_decrypt(secret_key, row.webhook_secret),
        webhook_broken=row.webhook_url is not None and url is None,
    )


def _events(events: Iterable[str]) -> list[str]:
    if isinstance(events, str):
        events = [events]
    chosen = list(dict.fromkeys(events or ()))
    if not chosen:
        raise SubscriptionError("events", "pick at least one of " + ", ".join(EVENTS))
    for event in chosen:
        if event not in EVENTS:
            raise SubscriptionError(
                "events", f"unknown event {event!r} (one of {', '.join(EVENTS)})"
            )
    return [e for e in EVENTS if e in chosen]


def _email(mode: str, hour) -> tuple[str, int | None]:
    if mode not in EMAIL_MODES:
        raise SubscriptionError("email_mode", "one of " + ", ".join(EMAIL_MODES))
    if mode != "digest":
        return mode, None
    if type(hour) is not int or not 0 <= hour <= 23:
        raise SubscriptionError(
            "digest_hour", "a whole hour from 0 to 23 (America/New_York)"
        )
    return mode, hour


def _checked_url(url: str, allow_hosts: Sequence[str]) -> str:
    """Return the webhook URL if it may be used (https://, or http:// to an
    allow-listed host); raise SubscriptionError naming the problem."""
    try:
        return webhooks.check_url(url, allow_hosts)
    except ValueError as exc:
        raise SubscriptionError("webhook_url", str(exc)) from None


def _audit(conn, user: User, action: str, sub: Subscription, changed=()) -> None:
    details = {
        "saved_search_id": sub.saved_search_id,
        "events": list(sub.events),
        "email_mode": sub.email_mode,
        "webhook": sub.webhook_url is not None or sub.webhook_broken,
    }
    if changed:
        details["changed"] = sorted(changed)
    target = f"subscription:{sub.id}"
    audit.record(conn, user.email, f"subscription.{action}", target, details)


def _now() -> datetime:
    return datetime.now(UTC)


def create(
    conn: sa.Connection,
    user: User,
    saved_search_id: int,
    *,
    events: Iterable[str],
    email_mode: str = "off",
    digest_hour: int | None = None,
    webhook_url: str | None = None,
    include_caption: bool = False,
    secret_key: str | None = None,
    allow_hosts: Sequence[str] = (),
) -> Created:
    """Subscribe ``user`` to a saved search they see (audited); return it with the
    webhook's secret in clear, the only time it is shown. Raise SubscriptionError."""
    if not searches.get_visible(conn, saved_search_id, user.id):
        raise SubscriptionError(
            "saved_search_id", f"no such saved search: {saved_search_id}"
        )
    mode, hour = _email(email_mode, digest_hour)
    now = _now()
    row = {"user_id": user.id, "saved_search_id": saved_search_id}
    row |= {"events": _events(events), "email_mode": mode, "digest_hour": hour}
    row |= {"include_caption": bool(include_caption)}
    row |= {"created_at": now, "updated_at": now}
    secret = None
    if webhook_url:
        secret = webhooks.new_secret()
        row["webhook_url"] = _encrypt(
            secret_key, _checked_url(webhook_url, allow_hosts)
        )
        row["webhook_secret"] = _encrypt(secret_key, secret)
    sub_id = conn.execute(
        subscriptions.insert().values(row).returning(subscriptions.c.id)
    ).scalar_one()
    sub = get(conn, sub_id, user.id, secret_key)
    _audit(conn, user, "create", sub)
    return Created(replace(sub, webhook_secret=None), secret)


def _row(conn: sa.Connection, sub_id: int, user_id: int):
    c = subscriptions.c
    return conn.execute(
        sa.select(subscriptions).where(c.id == sub_id, c.user_id == user_id)
    ).first()


def get(
    conn: sa.Connection, sub_id: int, user_id: int, secret_key: str | None = None
) -> Subscription | None:
    """Return the user's subscription, or None (another user's is as if it did
    not exist)."""
    row = _row(conn, sub_id, user_id)
    return _subscription(row, secret_key) if row else None


def list_for_user(
    conn: sa.Connection,
    user_id: int,
    secret_key: str | None = None,
    saved_search_id: int | None = None,
) -> list[Subscription]:
    """Return the user's subscriptions (of one saved search if given), oldest first."""
    c = subscriptions.c
    query = sa.select(subscriptions).where(c.user_id == user_id).order_by(c.id)
    if saved_search_id is not None:
        query = query.where(c.saved_search_id == saved_search_id)
    return [_subscription(row, secret_key) for row in conn.execute(query)]


def _values(sub: Subscription, changes: dict, secret_key, allow_hosts) -> dict:
    """Return the columns to write for ``changes`` to ``sub`` (validated)."""
    values: dict = {}
    if "events" in changes:
        values["events"] = _events(changes["events"])
    if {"email_mode", "digest_hour"} & set(changes):
        mode = changes.get("email_mode", sub.email_mode)
        hour = changes.get("digest_hour", sub.digest_hour)
        values["email_mode"], values["digest_hour"] = _email(mode, hour)
    if "include_caption" in changes:
        values["include_caption"] = bool(changes["include_caption"])
    if "webhook_url" in changes:
        url = changes["webhook_url"]
        if not url:  # "" or None: no webhook
            values["webhook_url"] = values["webhook_secret"] = None
        else:
            values["webhook_url"] = _encrypt(secret_key, _checked_url(url, allow_hosts))
    return values


def update(
    conn: sa.Connection,
    user: User,
    sub_id: int,
    *,
    secret_key: str | None = None,
    allow_hosts: Sequence[str] = (),
    new_secret: bool = False,
    **changes,
) -> Created:
    """Change the user's subscription: any of :data:`CHANGEABLE` (audited). A
    webhook set where there was none, or ``new_secret``, makes a new secret,
    returned in clear once. Raise SubscriptionError (``id`` when it is not theirs)."""
    unknown = sorted(set(changes) - CHANGEABLE)
    if unknown:
        raise SubscriptionError(unknown[0], "not a subscription's field")
    sub = get(conn, sub_id, user.id, secret_key)
    if sub is None:
        raise SubscriptionError("id", f"no such subscription: {sub_id}")
    values = _values(sub, changes, secret_key, allow_hosts)
    secret = None
    has_webhook = values.get("webhook_url", sub.webhook_url)
    if has_webhook and (new_secret or not sub.webhook_secret):
        secret = webhooks.new_secret()
        values["webhook_secret"] = _encrypt(secret_key, secret)
    if not values:
        return Created(replace(sub, webhook_secret=None), None)
    conn.execute(
        subscriptions.update()
        .where(subscriptions.c.id == sub_id)
        .values({**values, "updated_at": _now()})
    )
    changed = get(conn, sub_id, user.id, secret_key)
    _audit(conn, user, "update", changed, set(values) - {"webhook_secret"})
    return Created(replace(changed, webhook_secret=None), secret)


def delete(conn: sa.Connection, user: User, sub_id: int) -> None:
    """Delete the user's subscription, its pending deliveries and its bell entries
    (audited); raise SubscriptionError when it is not theirs."""
    sub = get(conn, sub_id, user.id)
    if sub is None:
        raise SubscriptionError("id", f"no such subscription: {sub_id}")
    conn.execute(subscriptions.delete().where(subscriptions.c.id == sub_id))
    _audit(conn, user, "delete", sub)
