"""Migration 0022 adds the crawl outcome columns (outcome, incomplete and completed
towns, heartbeat) to crawl_runs and crawl_jobs, keeps the rows there, and goes back
down without touching them, on SQLite and PostgreSQL."""

import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade
from tests.test_migrate_0018 import NOW

RUN = sa.text(
    "INSERT INTO crawl_runs (spider, args, started_at, status, items_scraped,"
    " items_stored, items_dropped, items_spooled, requests, errors,"
    " robots_overridden, town_counts, checks, notes)"
    " VALUES ('cases', '{}', :now, 'finished', 0, 0, 0, 0, 0, '{}', false, '{}',"
    " '[]', '[]')"
)
JOB = sa.text(
    "INSERT INTO crawl_jobs (job_id, spider, towns, args, status, created_at)"
    " VALUES ('cases-1', 'cases', '[\"Hartford\"]', '{}', 'finished', :now)"
)


def test_migration_0022_up_and_down(db_url):
    migrate.upgrade(db_url, "0020")
    engine = db.make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(RUN, {"now": NOW})
            conn.execute(JOB, {"now": NOW})
        migrate.upgrade(db_url, "0022")
        engine.dispose()
        with engine.begin() as conn:
            old = conn.execute(sa.select(db.crawl_runs)).one()
            assert (old.status, old.outcome, old.heartbeat_at) == (
                "finished",
                None,
                None,
            )
            conn.execute(
                db.crawl_runs.update().values(
                    outcome="partial",
                    incomplete_towns=["Meriden"],
                    completed_towns=["Hartford"],
                    heartbeat_at=NOW,
                )
            )
            conn.execute(
                db.crawl_jobs.update().values(
                    outcome="lost", incomplete_towns=["Hartford"]
                )
            )
        with engine.connect() as conn:
            run = conn.execute(sa.select(db.crawl_runs)).one()
            job = conn.execute(sa.select(db.crawl_jobs)).one()
        assert run.incomplete_towns == ["Meriden"]
        assert db.aware(run.heartbeat_at) == NOW
        assert (job.outcome, job.incomplete_towns) == ("lost", ["Hartford"])
        _downgrade(db_url, "0020")
        engine.dispose()
        columns = {c["name"] for c in sa.inspect(engine).get_columns("crawl_runs")}
        assert "outcome" not in columns and "heartbeat_at" not in columns
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM crawl_jobs"))
            assert count.scalar_one() == 1
    finally:
        engine.dispose()
