"""Migration 0015 adds the outreach tables with the default lead statuses, keeps one
active do-not-contact entry per value, and goes back down, on SQLite and
PostgreSQL."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
TABLES = {"lead_statuses", "leads", "lead_tags", "notes", "suppressions"}


def _entry(conn, removed_at=None) -> None:
    conn.execute(
        db.suppressions.insert().values(
            kind="phone",
            value_hash="a" * 64,
            last4="0123",
            reason="asked",
            added_by="m@example.org",
            added_at=NOW,
            removed_at=removed_at,
        )
    )


def test_migration_0015_seeds_statuses_and_goes_back_down(db_url):
    migrate.upgrade(db_url, "0015")
    engine = db.make_engine(db_url)
    try:
        with engine.begin() as conn:
            names = conn.execute(
                sa.select(db.lead_statuses.c.name, db.lead_statuses.c.closed).order_by(
                    db.lead_statuses.c.position
                )
            ).all()
            _entry(conn, removed_at=NOW)  # a removed entry may be added again
            _entry(conn)
        assert [n for n, _ in names][:3] == ["New", "Researching", "Contacting"]
        assert [n for n, closed in names if closed] == ["Won", "Lost", "Not a lead"]
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            _entry(conn)  # the same value twice on the active list
        _downgrade(db_url, "0013")
        engine.dispose()
        assert not TABLES & set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
