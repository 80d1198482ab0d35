"""Migration 0016 adds the accounts' links, second factor, recovery codes and
settings, makes every admin sign in again (to enrol), and goes back down without
losing a user or a token, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade
from tests.test_migrate_0013 import _seed_token

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
NEW_TABLES = {"account_links", "recovery_codes", "account_settings"}
NEW_COLUMNS = {"totp_secret", "totp_enabled_at", "totp_last_step"}


def _user_columns(engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("users")}


def test_migration_0016_up_and_down(db_url):
    migrate.upgrade(db_url, "0013")
    engine = db.make_engine(db_url)
    try:
        _seed_token(engine)  # an admin with an API token
        migrate.upgrade(db_url, "0016")
        engine.dispose()
        assert set(sa.inspect(engine).get_table_names()) >= NEW_TABLES
        assert _user_columns(engine) >= NEW_COLUMNS
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT session_version FROM users")).all() == [
                (1,)
            ]
            conn.execute(
                sa.text(
                    "INSERT INTO account_links (user_id, purpose, token_hash,"
                    " created_at, expires_at) SELECT id, 'reset', 'h', :now, :now"
                    " FROM users"
                ),
                {"now": NOW},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO recovery_codes (user_id, code_hash)"
                    " SELECT id, 'h' FROM users"
                )
            )
        _downgrade(db_url, "0013")
        engine.dispose()
        assert not NEW_TABLES & set(sa.inspect(engine).get_table_names())
        assert not NEW_COLUMNS & _user_columns(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT email FROM users")).scalars().all() == [
                "a@example.org"
            ]
            assert conn.execute(sa.text("SELECT name FROM api_tokens")).scalars().all()
    finally:
        engine.dispose()
