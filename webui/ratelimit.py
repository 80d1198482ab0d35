"""Login throttling: count recent failures per client address and per email.

Kept in the database (``login_failures``, migration 0006): ``ctforeclosure web`` runs
several worker processes, and a limit each of them kept alone would allow that many
times the failures. A failure older than the window no longer counts and is deleted
when the next failure is written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ctforeclosure.db import login_failures


def _utcnow() -> datetime:
    return datetime.now(UTC)


class FailureLimiter:
    """Allow at most ``max_failures`` failures per key within ``window`` seconds."""

    def __init__(self, engine: sa.Engine, max_failures: int, window: float, clock=None):
        self.engine = engine
        self.max_failures = max_failures
        self.window = timedelta(seconds=window)
        self._clock = clock or _utcnow

    def blocked(self, *keys: str) -> bool:
        """Return True when any key has used up its failures."""
        since = self._clock() - self.window
        with self.engine.connect() as conn:
            counts = conn.execute(
                sa.select(sa.func.count())
                .where(login_failures.c.key.in_(keys), login_failures.c.at > since)
                .group_by(login_failures.c.key)
            ).scalars()
            return any(n >= self.max_failures for n in counts)

    def fail(self, *keys: str) -> None:
        now = self._clock()
        with self.engine.begin() as conn:
            conn.execute(
                login_failures.delete().where(login_failures.c.at <= now - self.window)
            )
            conn.execute(login_failures.insert(), [{"key": k, "at": now} for k in keys])

    def reset(self, *keys: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(login_failures.delete().where(login_failures.c.key.in_(keys)))
