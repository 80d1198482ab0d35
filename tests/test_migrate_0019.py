"""Migration 0019 gives each case change its writing transaction's id: 0 for the
rows already stored, the writer's ``pg_current_xact_id()`` for new rows on
PostgreSQL (0 on SQLite); down again keeps the changes."""

from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
CASE = sa.text(
    "INSERT INTO cases (docket_no, search_town, first_seen, last_seen, last_changed,"
    " listed, flags) VALUES ('HHDCV266000001S', 'Hartford', :now, :now, :now,"
    " true, '[]')"
)
CHANGE = sa.text(
    "INSERT INTO case_changes (docket_no, kind, seen_at)"
    " VALUES ('HHDCV266000001S', 'law_day', :now)"
)


def test_migration_0019_up_and_down(db_url):
    migrate.upgrade(db_url, "0018")
    engine = db.make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(CASE, {"now": NOW})
            conn.execute(CHANGE, {"now": NOW})
        migrate.upgrade(db_url, "0019")
        engine.dispose()
        with engine.begin() as conn:
            conn.execute(CHANGE, {"now": NOW})
            writer = conn.exec_driver_sql(
                "SELECT 1"
                if engine.dialect.name == "sqlite"
                else "SELECT pg_current_xact_id()::text::bigint"
            ).scalar_one()
        with engine.connect() as conn:
            txids = (
                conn.execute(sa.text("SELECT txid FROM case_changes ORDER BY id"))
                .scalars()
                .all()
            )
        expected = 0 if engine.dialect.name == "sqlite" else writer
        assert txids == [0, expected]
        _downgrade(db_url, "0018")
        engine.dispose()
        columns = {c["name"] for c in sa.inspect(engine).get_columns("case_changes")}
        assert "txid" not in columns
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM case_changes"))
            assert count.scalar_one() == 2
    finally:
        engine.dispose()
