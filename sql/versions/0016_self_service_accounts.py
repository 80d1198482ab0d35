"""Self-service accounts (issue 24): single-use links, a second factor, a setting.

- ``account_links``: single-use links for a password reset by email (30 minutes)
  and for an invitation (72 hours). Only a SHA-256 of the link's secret is stored,
  with when it expires and when it was used: whoever reads the table cannot use a
  link, and a used or expired link is refused.
- ``users.totp_secret``: the user's TOTP secret, encrypted (Fernet, a key derived
  from ``CTF_SECRET_KEY``); ``users.totp_enabled_at`` is set once the user proved
  the app works (a secret without it is an enrolment in progress);
  ``users.totp_last_step``: the 30-second step of the last accepted code, so that
  a code is accepted once.
- ``recovery_codes``: ten one-time codes per user, SHA-256 hashed, each with when
  it was used.
- ``account_settings``: settings the admins change in the web UI; the first is
  ``require_2fa_managers`` (admins always need a second factor).

Every admin's session version is raised: admins sign in once more, and enrol a
second factor right after their password (the downgrade leaves the versions be).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"],
        ["users.id"],
        name=op.f(f"fk_{table}_user_id_users"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "account_links",
        sa.Column("id", sa.Integer),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_links_token_hash")),
        _user_fk("account_links"),
    )
    op.create_index(op.f("ix_account_links_user_id"), "account_links", ["user_id"])
    op.add_column("users", sa.Column("totp_secret", sa.String(255)))
    op.add_column("users", sa.Column("totp_enabled_at", TS))
    op.add_column("users", sa.Column("totp_last_step", sa.BigInteger))
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", TS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        _user_fk("recovery_codes"),
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"])
    op.create_table(
        "account_settings",
        sa.Column("name", sa.String(64)),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(254), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_account_settings")),
    )
    op.execute(
        "UPDATE users SET session_version = session_version + 1 WHERE role = 'admin'"
    )


def downgrade() -> None:
    op.drop_table("account_settings")
    op.drop_table("recovery_codes")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), never a batch rebuild of users:
    # it would delete their API tokens (ON DELETE CASCADE).
    op.drop_column("users", "totp_last_step")
    op.drop_column("users", "totp_enabled_at")
    op.drop_column("users", "totp_secret")
    op.drop_table("account_links")
