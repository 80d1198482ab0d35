"""Migration 0013 gives the tokens already issued the ``read`` scope only and adds
the table of token uses, then goes back down without losing a token, on SQLite and
PostgreSQL."""

from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def _seed_token(engine) -> None:
    """An admin's token, issued before scopes existed (it could do anything)."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (email, password_hash, role, active, created_at)"
                " VALUES ('a@example.org', 'x', 'admin', true, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at)"
                " SELECT id, 'old', 'digest', :now FROM users"
            ),
            {"now": NOW},
        )


def test_migration_0013_makes_old_tokens_read_only_and_goes_back_down(db_url):
    migrate.upgrade(db_url, "0011")
    engine = db.make_engine(db_url)
    try:
        _seed_token(engine)
        migrate.upgrade(db_url, "0013")
        engine.dispose()  # SQLite: see the altered tables
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT scopes FROM api_tokens")).all() == [
                ("read",)
            ]
            conn.execute(
                sa.text(
                    "INSERT INTO api_token_uses (token_id, at, method, route, status)"
                    " SELECT id, :now, 'GET', '/api/v1/towns', 200 FROM api_tokens"
                ),
                {"now": NOW},
            )
        _downgrade(db_url, _previous())
        engine.dispose()
        inspector = sa.inspect(engine)
        assert "api_token_uses" not in inspector.get_table_names()
        assert "scopes" not in {c["name"] for c in inspector.get_columns("api_tokens")}
        with engine.connect() as conn:
            names = conn.execute(sa.text("SELECT name FROM api_tokens")).scalars()
            assert list(names) == ["old"]
    finally:
        engine.dispose()


def _previous() -> str:
    """The revision 0013 follows (0012, or 0011 until 0012 lands)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate._alembic_config("sqlite://"))
    return script.get_revision("0013").down_revision
