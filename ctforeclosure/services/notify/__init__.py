"""Subscriptions delivered: ``ctforeclosure notify`` (and the end of every crawl,
and a timer for digests and retries) matches the new changes to subscriptions,
then sends what is due (issue 18 parts 3 and 6).

- :mod:`.match`: every change after the stored cursor, once, into the outbox
  (a row per subscription, change and channel) and the bell;
- :mod:`.send`: the due outbox rows, by email (SMTP, as alerts are sent) and
  webhook (:mod:`ctforeclosure.services.webhooks`), each recorded right after it is
  sent, retried with backoff (:mod:`.schedule`);
- :mod:`.messages`: the emails.

One run at a time (:func:`run`): a PostgreSQL advisory lock, or a lock file next
to the SQLite database; both go when the process does, so a killed run leaves no
lock behind. A second run meanwhile does nothing and says so: whatever it would
have done, the first (or the next) does.

What a saved search's filter means is the web UI's (``webui.saved_queries``), a
room above this one: the caller hands it in as ``dockets_of``.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure.services.notify.match import DocketsOf, MatchCounts, match
from ctforeclosure.services.notify.send import SendCounts, SendSettings, send_due

__all__ = ["AlreadyRunning", "SendSettings", "Summary", "run"]

#: The advisory lock's key on PostgreSQL ("ctfnotif" as a number).
LOCK_KEY = 0x637466_6E6F74


class AlreadyRunning(RuntimeError):
    """Another notify run holds the lock."""


@dataclass(frozen=True)
class Summary:
    """What one run did, in counts (no personal data)."""

    matched: MatchCounts
    sent: SendCounts

    def line(self) -> str:
        m, s = self.matched, self.sent
        return (
            f"notify: {m.changes} changes read, {m.outbox} deliveries queued, "
            f"{m.notifications} notifications; {s.sent} delivered "
            f"({s.emails} emails, {s.webhooks} webhooks), {s.retrying} to retry, "
            f"{s.failed} given up, {s.waiting} waiting; "
            f"{len(m.broken_searches)} saved searches no longer read"
        )


@contextmanager
def _only_run(engine: sa.Engine) -> Iterator[None]:
    """Hold the notify lock for the block; raise AlreadyRunning when taken."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            taken = sa.select(sa.func.pg_try_advisory_lock(LOCK_KEY))
            if not conn.execute(taken).scalar_one():
                raise AlreadyRunning("another notify run is in progress")
            try:
                yield
            finally:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(LOCK_KEY)))
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.notify-lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning("another notify run is in progress") from None
        yield


def run(
    engine: sa.Engine,
    dockets_of: DocketsOf,
    settings: SendSettings,
    now: datetime | None = None,
) -> Summary:
    """Match the new changes, then send what is due at ``now`` (default: now);
    raise AlreadyRunning when another run holds the lock."""
    now = now or datetime.now(UTC)
    with _only_run(engine):
        matched = match(engine, dockets_of, now)
        sent = send_due(engine, settings, now)
    return Summary(matched, sent)
