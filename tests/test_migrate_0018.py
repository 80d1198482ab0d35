"""Migration 0018 adds crawl_jobs (one row per scrapyd job id, a known status, the
starting user kept when the user goes: NULL) and goes back down without touching
the users, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade
from tests.test_migrate_0013 import _seed_token

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
INSERT = sa.text(
    "INSERT INTO crawl_jobs (job_id, spider, towns, args, started_by, status,"
    " created_at) SELECT :job, 'cases', '[\"Hartford\"]', '{}', id, :status, :now"
    " FROM users"
)


def _job(conn, job="cases-1", status="pending"):
    conn.execute(INSERT, {"job": job, "status": status, "now": NOW})


def test_migration_0018_up_and_down(db_url):
    migrate.upgrade(db_url, "0017")
    engine = db.make_engine(db_url)
    try:
        _seed_token(engine)  # a user
        migrate.upgrade(db_url, "0018")
        engine.dispose()
        with engine.begin() as conn:
            _job(conn)
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            _job(conn)  # the same scrapyd job id again
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            _job(conn, "cases-2", "lost")  # not a status
        with engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT attempt, retry_of FROM crawl_jobs")
            ).one()
        assert tuple(row) == (1, None)
        _downgrade(db_url, "0017")
        engine.dispose()
        assert "crawl_jobs" not in sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT email FROM users")).scalars().all()
    finally:
        engine.dispose()
