"""Login throttling: failed sign-ins counted per (account, address) and per address,
answered with a wait that doubles; many failures on one account are reported.

The old limit counted failures per address and per typed email and checked them
before the password, so five wrong guesses at ``admin@...`` from anywhere locked the
real admin out for 15 minutes, and one noisy client locked out everyone behind the
same proxy (issue 16). Now:

- the keys are the (account, address) pair and the address, so the right password
  from another address always works: no failure anywhere locks an account;
- a pair's first ``max_failures`` (5) failures cost nothing; after them each attempt
  within the wait is refused (429 with ``Retry-After``), the wait being 1 s after the
  fifth failure and doubling with each further one, up to 15 minutes;
- an address's first ``max_address_failures`` (20) failures, on any accounts, cost
  nothing, then the same doubling wait: one address trying many accounts (or
  made-up emails) is slowed down, while the staff behind one office address may
  mistype now and then. Behind a reverse proxy every client has the proxy's
  address unless ``CTF_TRUSTED_PROXY_HOPS`` says to believe its
  ``X-Forwarded-For``;
- a success clears its pair's counter (not its address's: a valid account must not
  buy an address more guesses at others);
- a counter whose last failure is older than ``forget`` starts again;
- the account's own counter only alerts (``alert_at`` failures), it never blocks.

Counters live in the database (``login_failures``, migration 0012), one row per key
raised by one atomic upsert (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``), so
the worker processes of ``ctforeclosure web`` and their threads count every failure
exactly. A key is an HMAC-SHA256 of what it counts under the app's secret key: what
someone typed as an email is never stored. Nothing here sleeps: a refused attempt is
answered at once.

Attempts that pass the check together, before any of them has failed, are all let
through and all counted: a burst buys at most as many guesses as the server has
threads, and each of them doubles the wait that follows.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ctforeclosure.db import aware, login_failures

__all__ = ["LoginThrottle", "ResetRequestLimit", "UnknownSecretLimit"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LoginThrottle:
    """Failed sign-ins per (account, address) and per address, in the database."""

    engine: sa.Engine
    secret: str = field(repr=False)
    max_failures: int = 5
    max_address_failures: int = 20
    first_wait: float = 1.0
    max_wait: float = 15 * 60.0
    forget: float = 60 * 60.0
    alert_at: int = 20
    clock: Callable[[], datetime] = _utcnow

    def key(self, kind: str, *parts: str) -> str:
        """Return the stored key for ``kind`` ("pair", "address", "account")."""
        message = "\0".join((kind, *parts)).encode()
        return hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        return self.key("pair", email, address), self.key("address", address)

    def wait_after(self, failures: int, free: int) -> float:
        """Return the seconds an attempt must wait after this many failures, the
        first ``free`` of them costing nothing."""
        if failures < free:
            return 0.0
        doublings = min(failures - free, 30)
        return min(self.first_wait * 2**doublings, self.max_wait)

    def retry_after(self, email: str, address: str) -> int:
        """Return the whole seconds this attempt must wait; 0 lets it through."""
        pair, address_key = self._keys(email, address)
        return self.wait_for(
            {pair: self.max_failures, address_key: self.max_address_failures}
        )

    def wait_for(self, free: dict[str, int]) -> int:
        """Return the whole seconds to wait for the counters of these keys, each
        with its free failures; 0 lets the attempt through."""
        now = self.clock()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(login_failures).where(login_failures.c.key.in_(free))
            ).all()
        remaining = 0.0
        for key, failures, last_at in rows:
            since = (now - aware(last_at)).total_seconds()
            if since < self.forget:
                wait = self.wait_after(failures, free[key])
                remaining = max(remaining, wait - since)
        return math.ceil(remaining) if remaining > 0 else 0

    def failed(self, email: str, address: str, account: str | None) -> int | None:
        """Count a failure; return the account's failures when it exists."""
        now = self.clock()
        keys = list(self._keys(email, address))
        if account is not None:
            keys.append(self.key("account", account))
        forgotten = now - timedelta(seconds=self.forget)
        self._delete_forgotten(forgotten)
        counts = {}
        with self.engine.begin() as conn:
            # one order for every request: no two transactions wait on each other
            for key in sorted(keys):
                counts[key] = self._count(conn, key, now, forgotten)
        return counts[keys[2]] if account is not None else None

    def _delete_forgotten(self, forgotten: datetime) -> None:
        """Delete counters quiet since ``forgotten`` (their next failure would start
        them again anyway), skipping rows another request holds: it never waits."""
        old = (
            sa.select(login_failures.c.key)
            .where(login_failures.c.last_at <= forgotten)
            .with_for_update(skip_locked=True)
        )
        with self.engine.begin() as conn:
            conn.execute(login_failures.delete().where(login_failures.c.key.in_(old)))

    @staticmethod
    def _count(conn: sa.Connection, key: str, now: datetime, forgotten) -> int:
        """Raise one key's counter atomically; return its new value."""
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(login_failures).values(key=key, failures=1, last_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[login_failures.c.key],
            set_={
                "failures": sa.case(
                    (login_failures.c.last_at <= forgotten, 1),
                    else_=login_failures.c.failures + 1,
                ),
                "last_at": stmt.excluded.last_at,
            },
        ).returning(login_failures.c.failures)
        return conn.execute(stmt).scalar_one()

    def succeeded(self, email: str, address: str) -> None:
        """Clear the (account, address) pair's counter after a right password."""
        with self.engine.begin() as conn:
            conn.execute(
                login_failures.delete().where(
                    login_failures.c.key == self.key("pair", email, address)
                )
            )


@dataclass(frozen=True)
class ResetRequestLimit:
    """Password-reset emails asked for, per email and per client address: at most
    ``per_email`` and ``per_address`` until ``window`` seconds pass without one.

    The same answer is given whether or not the email is a user's, so the limit
    applies to every email typed: it stops one address flooding a mailbox or
    probing many, and tells nothing about which emails exist. The counters share
    ``login_failures`` (keyed hashes under their own kinds) and its clock.
    """

    throttle: LoginThrottle
    per_email: int = 3
    per_address: int = 10
    window: float = 60 * 60.0

    def allow(self, email: str, address: str) -> bool:
        """Count this request and return True, or return False when over a limit."""
        now = self.throttle.clock()
        limits = {
            self.throttle.key("reset-email", email): self.per_email,
            self.throttle.key("reset-address", address): self.per_address,
        }
        forgotten = now - timedelta(seconds=self.window)
        with self.throttle.engine.begin() as conn:
            rows = conn.execute(
                sa.select(login_failures).where(login_failures.c.key.in_(limits))
            ).all()
            for key, count, last_at in rows:
                if aware(last_at) > forgotten and count >= limits[key]:
                    return False
            for key in sorted(limits):
                LoginThrottle._count(conn, key, now, forgotten)
        return True


@dataclass(frozen=True)
class UnknownSecretLimit:
    """Unknown or revoked secrets asked for on a public address (a calendar feed's
    ``/calendar/<secret>.ics``), per client address: the first ``free`` cost
    nothing, then each waits as a failed sign-in does (doubling, 429 with
    ``Retry-After``) until the address is quiet for the throttle's ``forget``.

    A secret of 32 random bytes cannot be guessed; this stops one address making
    the server look up secrets without end. The counter has a key kind of its own,
    so a calendar app still polling a revoked feed from an office never slows the
    sign-ins from that office.
    """

    throttle: LoginThrottle
    free: int = 20
    kind: str = "calendar-address"

    def retry_after(self, address: str) -> int:
        """Return the whole seconds this address must wait; 0 lets it through."""
        return self.throttle.wait_for(
            {self.throttle.key(self.kind, address): self.free}
        )

    def missed(self, address: str) -> None:
        """Count one unknown or revoked secret asked for by this address."""
        now = self.throttle.clock()
        forgotten = now - timedelta(seconds=self.throttle.forget)
        with self.throttle.engine.begin() as conn:
            LoginThrottle._count(
                conn, self.throttle.key(self.kind, address), now, forgotten
            )
