"""Migration 0012 gives every user a session version, and replaces the failed
sign-in rows (which held what was typed) with hashed counters; then goes back down,
on SQLite and PostgreSQL, with no user or API token lost."""

from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade
from tests.test_migrate_0011 import _columns, _count

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TYPED = "email:someone.else@example.net"


def _seed(engine) -> None:
    """A user with an API token, and failed sign-ins as revision 0011 kept them."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, email, password_hash, role, active, created_at)"
                " VALUES (1, 'staff@example.org', 'scrypt:x', 'viewer', true, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at)"
                " VALUES (1, 'api', 'digest', :now)"
            ),
            {"now": NOW},
        )
        for key in (TYPED, "ip:203.0.113.7"):
            conn.execute(
                sa.text("INSERT INTO login_failures (key, at) VALUES (:key, :now)"),
                {"key": key, "now": NOW},
            )


def test_migration_0012_versions_sessions_and_forgets_typed_emails(db_url):
    migrate.upgrade(db_url, "0011")
    engine = db.make_engine(db_url)
    try:
        _seed(engine)

        migrate.upgrade(db_url, "0012")
        engine.dispose()
        with engine.connect() as conn:
            versions = conn.execute(
                sa.text("SELECT email, session_version FROM users")
            ).all()
        assert versions == [("staff@example.org", 0)]
        assert _columns(engine, "login_failures") == {"key", "failures", "last_at"}
        assert _count(engine, "login_failures") == 0  # the typed text is gone
        assert _count(engine, "api_tokens") == 1

        _downgrade(db_url, "0011")
        engine.dispose()
        assert "session_version" not in _columns(engine, "users")
        assert _columns(engine, "login_failures") == {"id", "key", "at"}
        assert _count(engine, "users") == 1
        assert _count(engine, "api_tokens") == 1
    finally:
        engine.dispose()
