"""Migration 0017 adds saved searches (one name per owner, deleted with the owner)
and goes back down without touching the users, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade
from tests.test_migrate_0013 import _seed_token

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
INSERT = sa.text(
    "INSERT INTO saved_searches (owner_id, name, list, query, created_at, updated_at)"
    " SELECT id, :name, :list, :query, :now, :now FROM users"
)


def _save(conn, name="Bethel new", list_="cases"):
    conn.execute(
        INSERT, {"name": name, "list": list_, "query": '{"town": "Bethel"}', "now": NOW}
    )


def test_migration_0017_up_and_down(db_url):
    migrate.upgrade(db_url, "0016")
    engine = db.make_engine(db_url)
    try:
        _seed_token(engine)  # a user
        migrate.upgrade(db_url, "0017")
        engine.dispose()
        with engine.begin() as conn:
            _save(conn)
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            _save(conn)  # the same name again for the same owner
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            _save(conn, "Other", "leads")  # not a list
        with engine.connect() as conn:
            shared = conn.execute(sa.text("SELECT shared FROM saved_searches")).all()
        assert [bool(row[0]) for row in shared] == [False]
        _downgrade(db_url, "0016")
        engine.dispose()
        assert "saved_searches" not in sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT email FROM users")).scalars().all()
    finally:
        engine.dispose()
