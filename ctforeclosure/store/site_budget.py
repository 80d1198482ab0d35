"""The court site's shared budget row: rate limit, search-session lease, kill switch.

One row of ``site_budget`` per remote site; both judiciary hosts share the row
:data:`SITE`. Every crawl process on every scrapyd node reads and writes it through
:class:`SiteBudget` (the Scrapy side, waiting and sessions, is
:mod:`ctforeclosure.middlewares.site_budget`), and ``ctforeclosure pause`` /
``resume`` flip its kill switch through :func:`pause` and :func:`resume`.

- ``next_slot_at``: the deployment-wide rate limit. Each request reserves the next
  free slot with one atomic ``UPDATE ... RETURNING`` (PostgreSQL row lock; SQLite's
  write lock is the single-machine equivalent). Times are seconds since the epoch on
  the database's clock (:class:`db_epoch`), so node clocks may drift.
- ``session_holder``/``session_expires_at``: at most one search session on the
  site at a time, deployment-wide.
- ``paused`` (with when, by whom and why): the kill switch.

:class:`SiteBudget`'s calls block: the middleware runs them in worker threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from ctforeclosure import config
from ctforeclosure.db import make_engine, site_budget

__all__ = ["SITE", "SiteBudget", "db_epoch", "pause", "pause_state", "resume"]

#: The ``site_budget`` row shared by both judiciary hosts.
SITE = "ctjud"


class db_epoch(FunctionElement):
    """Seconds since the epoch on the database server's clock."""

    type = sa.Double()
    inherit_cache = True
    name = "db_epoch"


@compiles(db_epoch, "postgresql")
def _pg_epoch(element, compiler, **kw):
    return "CAST(extract(epoch from clock_timestamp()) AS double precision)"


@compiles(db_epoch, "sqlite")
def _sqlite_epoch(element, compiler, **kw):
    return "((julianday('now') - 2440587.5) * 86400.0)"


class SiteBudget:
    """The shared budget row; blocking calls, run them in a worker thread."""

    def __init__(self, engine: sa.Engine, site: str = SITE):
        self.engine = engine
        self.site = site

    def take_slot(self, interval: float) -> float | None:
        """Reserve the next request slot; return seconds to wait, None when paused."""
        col = site_budget.c
        now = db_epoch()
        start = sa.case((col.next_slot_at > now, col.next_slot_at), else_=now)
        stmt = (
            sa.update(site_budget)
            .where(col.site == self.site, col.paused == sa.false())
            .values(next_slot_at=start + interval)
            .returning(col.next_slot_at, db_epoch())
        )
        with self.engine.begin() as conn:
            row = conn.execute(stmt).first()
            if row is None:
                if self._paused(conn) is None:
                    raise LookupError(f"no site_budget row for {self.site!r}")
                return None
        next_slot, db_now = row
        return max(0.0, next_slot - interval - db_now)

    def _paused(self, conn: sa.Connection) -> bool | None:
        return conn.execute(
            sa.select(site_budget.c.paused).where(site_budget.c.site == self.site)
        ).scalar()

    def is_paused(self) -> bool:
        with self.engine.connect() as conn:
            return bool(self._paused(conn))

    def acquire_session(self, holder: str, ttl: float) -> bool:
        """Take or renew the search-session lease; False while another holds it."""
        col = site_budget.c
        stmt = (
            sa.update(site_budget)
            .where(
                col.site == self.site,
                sa.or_(
                    col.session_holder.is_(None),
                    col.session_holder == holder,
                    col.session_expires_at < db_epoch(),
                ),
            )
            .values(session_holder=holder, session_expires_at=db_epoch() + ttl)
            .returning(col.site)
        )
        with self.engine.begin() as conn:
            return conn.execute(stmt).first() is not None

    def release_session(self, holder: str) -> None:
        """Give the lease back (no-op when someone else holds it)."""
        col = site_budget.c
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(site_budget)
                .where(col.site == self.site, col.session_holder == holder)
                .values(session_holder=None, session_expires_at=None)
            )

    def ready(self) -> bool:
        """Return True when the table and the site's row exist."""
        try:
            with self.engine.connect() as conn:
                return self._paused(conn) is not None
        except (sa.exc.ProgrammingError, sa.exc.OperationalError):
            if not sa.inspect(self.engine).has_table("site_budget"):
                return False
            raise

    def pause(self, *, by: str, reason: str | None) -> None:
        """Turn the kill switch on; LookupError when the site has no row."""
        with self.engine.begin() as conn:
            updated = conn.execute(
                sa.update(site_budget)
                .where(site_budget.c.site == self.site)
                .values(
                    paused=True,
                    paused_at=datetime.now(UTC),
                    paused_by=by[:254],
                    pause_reason=(reason or "")[:200] or None,
                )
            ).rowcount
        if not updated:
            raise LookupError("no site_budget row: run `ctforeclosure db upgrade`")

    def resume(self) -> None:
        """Turn the kill switch off."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(site_budget)
                .where(site_budget.c.site == self.site)
                .values(paused=False, paused_at=None, paused_by=None, pause_reason=None)
            )

    def pause_state(self) -> dict | None:
        """Return ``{"paused", "paused_at", "paused_by", "pause_reason"}``."""
        col = site_budget.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    col.paused, col.paused_at, col.paused_by, col.pause_reason
                ).where(col.site == self.site)
            ).first()
        return dict(row._mapping) if row else None


@contextmanager
def _court_budget(database_url: str | None) -> Iterator[SiteBudget]:
    """Yield the court's budget on its own engine (for the CLI and the web UI)."""
    engine = make_engine(database_url or config.load().database_url)
    try:
        yield SiteBudget(engine)
    finally:
        engine.dispose()


def pause(
    *, by: str = "cli", reason: str | None = None, database_url: str | None = None
) -> None:
    """Turn the kill switch on: running crawls hold requests to the court."""
    with _court_budget(database_url) as budget:
        budget.pause(by=by, reason=reason)


def resume(*, database_url: str | None = None) -> None:
    """Turn the kill switch off: held crawls continue within seconds."""
    with _court_budget(database_url) as budget:
        budget.resume()


def pause_state(*, database_url: str | None = None) -> dict | None:
    """Return ``{"paused", "paused_at", "paused_by", "pause_reason"}`` for the court."""
    with _court_budget(database_url) as budget:
        return budget.pause_state()
