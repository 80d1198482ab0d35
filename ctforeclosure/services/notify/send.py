"""The sender: the outbox's due rows, delivered and recorded one by one.

Each delivery (one email, one digest email, one webhook POST) is recorded in its
own transaction right after it is sent (a digest's rows all in one): a crash can
lose at most the record of the one delivery in flight, which the next run then
sends again with the same delivery id (the one duplicate the issue allows, and
recognisable by that id).

Due rows are read :data:`BATCH` at a time, but a subscription's digest is read
whole when the first of its rows comes up: one email per subscription and due
hour, however many changes it carries, and the same email (the same rows, the
same id) again after a crash.

A failure is retried later and later (:func:`~ctforeclosure.services.notify.
schedule.retry_at`: 1, 5, 25, 125 minutes, then 6-hourly), and given up after
:data:`~ctforeclosure.services.notify.schedule.MAX_ATTEMPTS` failures, or at once
when retrying cannot help (a webhook answering 404, a URL no longer allowed); the
row is then ``failed`` with the reason (no personal data: a webhook's scheme and
host, an SMTP error's class). Within a run, after the SMTP server fails the other
emails wait untried for the next run, and so do a subscription's other webhooks
after its endpoint fails: one outage is not tried a thousand times in a row.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import NamedTuple

import sqlalchemy as sa

from ctforeclosure.config import Config
from ctforeclosure.db import (
    case_changes,
    cases,
    notification_outbox,
    saved_searches,
    subscriptions,
    users,
)
from ctforeclosure.services import alerts, webhooks
from ctforeclosure.services.notify import messages
from ctforeclosure.services.notify.match import KIND_EVENTS
from ctforeclosure.services.notify.schedule import retry_at
from ctforeclosure.store import bulk

__all__ = ["SendCounts", "SendSettings", "send_due"]

logger = logging.getLogger(__name__)

BATCH = 500
#: The columns of a case a message or payload reads (never contact data).
CASE_COLUMNS = (
    "docket_no",
    "docket_display",
    "search_town",
    "county",
    "caption",
    "file_date",
    "law_day",
    "sale_date",
    "notice_sale_date",
    "disposition_date",
)
CHANGE_COLUMNS = ("id", "docket_no", "kind", "old_value", "new_value", "seen_at")


@dataclass(frozen=True)
class SendSettings:
    """What the sender needs from the configuration."""

    smtp: alerts.AlertChannels
    secret_key: str | None
    allow_hosts: tuple[str, ...]
    base_url: str | None

    @classmethod
    def from_config(cls, cfg: Config) -> SendSettings:
        return cls(
            smtp=alerts.AlertChannels.from_config(cfg),
            secret_key=cfg.secret_key,
            allow_hosts=tuple(cfg.webhook_allow_hosts),
            base_url=cfg.base_url,
        )


class Attempt(NamedTuple):
    """What one delivery came to: the error (None: delivered), whether retrying may
    help, and the seconds the receiver asked to wait first (its Retry-After)."""

    error: str | None
    retry: bool
    wait: int | None = None


@dataclass
class SendCounts:
    """What a run of the sender did (counts only)."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    emails: int = 0
    webhooks: int = 0
    waiting: int = 0  # due deliveries left for later: their channel is down


def _select() -> sa.Select:
    """Return the select of outbox rows with all a delivery needs, oldest first."""
    o, s, u = notification_outbox.c, subscriptions.c, users.c
    return (
        sa.select(
            o.id,
            o.delivery_id,
            o.channel,
            o.attempts,
            o.subscription_id,
            s.email_mode,
            s.webhook_url,
            s.webhook_secret,
            s.include_caption,
            u.email,
            u.active,
            saved_searches.c.name.label("search_name"),
            *(case_changes.c[n].label(f"change_{n}") for n in CHANGE_COLUMNS),
            *(cases.c[n].label(f"case_{n}") for n in CASE_COLUMNS),
        )
        .select_from(
            notification_outbox.join(subscriptions)
            .join(users, u.id == s.user_id)
            .join(saved_searches, saved_searches.c.id == s.saved_search_id)
            .join(case_changes, case_changes.c.id == o.change_id)
            .join(cases, cases.c.docket_no == case_changes.c.docket_no)
        )
        .order_by(o.id)
    )


def _is_due(now: datetime) -> sa.ColumnElement[bool]:
    o = notification_outbox.c
    return sa.and_(o.status == "pending", o.next_attempt_at <= now)


def _not_down(down: set) -> list[sa.ColumnElement[bool]]:
    """Conditions leaving out the rows of channels that failed in this run: the
    SMTP server ("smtp"), or a subscription's webhook (its id)."""
    o = notification_outbox.c
    conditions = []
    if "smtp" in down:
        conditions.append(o.channel != "email")
    if hooks := sorted(where for where in down if where != "smtp"):
        conditions.append(
            sa.or_(o.channel != "webhook", o.subscription_id.not_in(hooks))
        )
    return conditions


def _due(conn: sa.Connection, now: datetime, down: set) -> list:
    """Return up to BATCH due outbox rows with all a delivery needs, oldest first,
    of the channels still up.

    Left out by channel, not one by one: a long SMTP outage leaves tens of
    thousands of emails due, and a list of their ids outgrew the databases'
    limit on bound values (the run failed, and the webhooks behind them waited)."""
    statement = _select().where(_is_due(now), *_not_down(down)).limit(BATCH)
    return conn.execute(statement).all()


def _left_waiting(engine, now: datetime, down: set) -> int:
    """Return how many due deliveries wait for a channel that is down."""
    if not down:
        return 0
    up = sa.and_(*_not_down(down))
    count = sa.select(sa.func.count()).where(_is_due(now), sa.not_(up))
    with engine.connect() as conn:
        return conn.execute(count.select_from(notification_outbox)).scalar_one()


def _whole_digest(engine, subscription_id: int, settings, now) -> list:
    """Return every due digest row of a subscription, oldest first: one email
    carries them all, however many batches they would fill.

    The ids, delivery ids and attempts of all of them (what recording and the
    digest's id need), the changes and cases only of those the email tells line
    by line (:data:`~ctforeclosure.services.notify.messages.DIGEST_LINES`): a
    digest of thousands holds thousands of small tuples, not thousands of cases.
    """
    o = notification_outbox.c
    mine = _select().where(
        _is_due(now), o.subscription_id == subscription_id, o.channel == "email"
    )
    light = mine.with_only_columns(o.id, o.delivery_id, o.attempts)
    with engine.connect() as conn:
        rows = conn.execute(light).all()
        told = {row.id for row in rows[: messages.DIGEST_LINES]}
        listed = conn.execute(mine.where(o.id.in_(told))).all()
    if not listed:  # the subscription was deleted meanwhile
        return []
    return [_item(row, settings) for row in listed] + [
        row for row in rows if row.id not in told
    ]


def _item(row, settings: SendSettings) -> SimpleNamespace:
    """Return a due row as a delivery: its change, case and event as mappings."""
    change = {n: getattr(row, f"change_{n}") for n in CHANGE_COLUMNS}
    case = {n: getattr(row, f"case_{n}") for n in CASE_COLUMNS}
    return SimpleNamespace(
        **row._asdict(),
        change=change,
        case=case,
        event=KIND_EVENTS.get(change["kind"], change["kind"]),
        base_url=settings.base_url,
    )


def _outcome(failures: int, now: datetime, attempt: Attempt, counts) -> dict:
    """Return the new values of an outbox row after its ``failures``-th try came
    to ``attempt``, and count it; a retry waits for the backoff, or longer when
    the receiver asked for longer."""
    values = {"attempts": failures}
    if attempt.error is None:
        counts.sent += 1
        return values | {"status": "sent", "sent_at": now, "last_error": None}
    again = retry_at(failures, now) if attempt.retry else None
    if again is not None and attempt.wait:
        again = max(again, now + timedelta(seconds=attempt.wait))
    values["last_error"] = attempt.error
    if again is None:
        counts.failed += 1
        return values | {"status": "failed"}
    counts.retrying += 1
    return values | {"next_attempt_at": again}


def _record(engine, items, now: datetime, attempt: Attempt, counts):
    """Record the outcome of one delivery of ``items`` (outbox rows) in one
    transaction: one UPDATE per outcome (a digest's rows share one or a few)."""
    same: dict[tuple, list[int]] = {}
    for item in items:
        values = _outcome(item.attempts + 1, now, attempt, counts)
        same.setdefault(tuple(values.items()), []).append(item.id)
    o = notification_outbox.c
    with engine.begin() as conn:
        for values, ids in same.items():
            for chunk in bulk.chunks(ids):
                conn.execute(
                    notification_outbox.update()
                    .where(o.id.in_(chunk))
                    .values(dict(values))
                )


def _is_digest(item) -> bool:
    return item.channel == "email" and item.email_mode == "digest"


def _units(items: list) -> list[list]:
    """Return the deliveries of due rows: one each, but one per subscription for
    its digest's emails (the batch's rows of it: see :func:`_whole_digest`)."""
    units, digests = [], {}
    for item in items:
        if _is_digest(item):
            if item.subscription_id not in digests:
                digests[item.subscription_id] = []
                units.append(digests[item.subscription_id])
            digests[item.subscription_id].append(item)
        else:
            units.append([item])
    return units


def _email(unit: list, settings: SendSettings) -> Attempt:
    """Send one email (a digest when the subscription collects them); return the
    error (None: sent) and whether retrying may help."""
    if unit[0].email_mode == "off":
        return Attempt("the subscription no longer sends email", False)
    if not settings.smtp.smtp_enabled:
        return Attempt("no SMTP server configured (SMTP_HOST)", True)
    sender = settings.smtp.email_from
    if unit[0].email_mode == "digest":
        message = messages.digest_message(unit, sender)
    else:
        message = messages.immediate_message(unit[0], sender)
    try:
        alerts.send_message(message, settings.smtp)
    except (OSError, smtplib.SMTPException) as exc:
        return Attempt(f"SMTP: {type(exc).__name__}", True)
    return Attempt(None, True)


def _webhook(item, settings: SendSettings) -> Attempt:
    """POST one change to the subscription's webhook; return the error (None:
    delivered) and whether retrying may help."""
    if not (item.webhook_url and item.webhook_secret):
        return Attempt("the subscription no longer has a webhook", False)
    try:
        url = webhooks.decrypt(item.webhook_url, settings.secret_key)
        secret = webhooks.decrypt(item.webhook_secret, settings.secret_key)
    except (ValueError, RuntimeError) as exc:
        return Attempt(str(exc), False)
    body = webhooks.payload(
        item.change,
        item.case,
        item.event,
        item.include_caption,
        base_url=settings.base_url,
    )
    outcome = webhooks.deliver(
        url, secret, body, item.delivery_id, settings.allow_hosts
    )
    if outcome.ok:
        return Attempt(None, False)
    return Attempt(outcome.error, outcome.retry, outcome.retry_after)


def _deliver(engine, unit, settings, now, counts, down: set) -> None:
    """Deliver one unit unless its channel failed earlier in this run, and record
    what came of it."""
    first = unit[0]
    where = "smtp" if first.channel == "email" else first.subscription_id
    if where in down:  # counted at the end (_left_waiting)
        return
    if not first.active:
        attempt = Attempt("the subscriber's account is deactivated", False)
    elif first.channel == "email":
        attempt = _email(unit, settings)
    else:
        attempt = _webhook(first, settings)
    if attempt.error is not None and attempt.retry:
        down.add(where)
    elif attempt.error is None:
        counts.emails += first.channel == "email"
        counts.webhooks += first.channel == "webhook"
    _record(engine, unit, now, attempt, counts)


def send_due(engine: sa.Engine, settings: SendSettings, now: datetime) -> SendCounts:
    """Deliver every outbox row due at ``now``; return the counts."""
    counts = SendCounts()
    down: set = set()
    while True:
        with engine.connect() as conn:
            rows = _due(conn, now, down)
        if not rows:
            counts.waiting = _left_waiting(engine, now, down)
            return counts
        for unit in _units([_item(row, settings) for row in rows]):
            if _is_digest(unit[0]):  # fetched whole, one at a time
                unit = _whole_digest(engine, unit[0].subscription_id, settings, now)
            if unit:
                _deliver(engine, unit, settings, now, counts, down)
