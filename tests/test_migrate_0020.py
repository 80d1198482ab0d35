"""Migration 0020 adds calendar feeds (one secret digest each, deleted with their
saved search) and goes back down without touching the saved searches, on SQLite and
PostgreSQL."""

import pytest
import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade
from tests.test_migrate_0013 import _seed_token
from tests.test_migrate_0017 import NOW, _save

FEED = sa.text(
    "INSERT INTO calendar_feeds (user_id, saved_search_id, secret_hash, created_at)"
    " SELECT owner_id, id, :digest, :now FROM saved_searches"
)


def _feeds(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM calendar_feeds")).scalar()


def test_migration_0020_up_and_down(db_url):
    migrate.upgrade(db_url, "0019")
    engine = db.make_engine(db_url)
    try:
        _seed_token(engine)  # a user
        with engine.begin() as conn:
            _save(conn)
        migrate.upgrade(db_url, "0020")
        engine.dispose()
        with engine.begin() as conn:
            conn.execute(FEED, {"digest": "a" * 64, "now": NOW})
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(FEED, {"digest": "a" * 64, "now": NOW})  # the same secret
        assert _feeds(engine) == 1
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM saved_searches"))
        assert _feeds(engine) == 0  # its search deleted: the feed is gone
        with engine.begin() as conn:
            _save(conn)
        _downgrade(db_url, "0019")
        engine.dispose()
        assert "calendar_feeds" not in sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM saved_searches"))
            assert count.scalar_one() == 1
    finally:
        engine.dispose()
