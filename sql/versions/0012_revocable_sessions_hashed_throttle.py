"""Revocable sessions, and login throttling by hashed (account, address) counters.

Sessions are signed cookies that lived their 8 hours whatever happened: a cookie
saved before signing out, or from before an admin reset the password, still worked
(issue 16). Each user now has a ``session_version``, written into the session at
sign-in and compared on every request; signing out, a password reset, a role change
and disabling raise it, which ends every session of that user at once. Sessions
from before this revision carry no version: everyone signs in once more.

``login_failures`` kept one row per failure keyed by ``ip:<address>`` and
``email:<what was typed>``: typed text (perhaps a password typed into the wrong box)
stayed in the table, and counting rows raced between workers. It now keeps one
counter row per key, raised atomically by an upsert, the key being an HMAC of the
(account, address) pair, the address or the account under the app's secret key.
The old rows are dropped, not converted: they hold the typed text this revision
exists to remove, and they only throttle for minutes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("session_version", sa.Integer, nullable=False, server_default="0"),
    )
    op.drop_table("login_failures")
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(64)),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_last_at"), "login_failures", ["last_at"])


def downgrade() -> None:
    op.drop_table("login_failures")
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_key_at"), "login_failures", ["key", "at"])
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), never a batch rebuild: rebuilding
    # users would delete their API tokens (foreign keys on, ON DELETE CASCADE).
    op.drop_column("users", "session_version")
