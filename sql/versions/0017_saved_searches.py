"""Saved searches (issue 18): a cases-list or sales-list filter kept under a name.

- ``saved_searches``: whose it is (deleted with its owner), its name (unique per
  owner), which list it filters (``cases`` or ``sales``), the list's query
  arguments as the user gave them (JSON: validated again on every use, so a filter
  that no longer reads, such as a renamed town, is reported, never widened), whether
  the team sees it, and when its owner last opened it (the dashboard counts the
  matches that are new since then).

Subscriptions, deliveries and notifications build on this table in later revisions.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer),
        sa.Column("owner_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("list", sa.String(8), nullable=False),
        sa.Column("query", JSON, nullable=False),
        sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("last_opened_at", TS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_saved_searches_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "owner_id", "name", name=op.f("uq_saved_searches_owner_id_name")
        ),
        sa.CheckConstraint(
            "list IN ('cases', 'sales')", name=op.f("ck_saved_searches_list")
        ),
    )
    op.create_index(op.f("ix_saved_searches_owner_id"), "saved_searches", ["owner_id"])


def downgrade() -> None:
    op.drop_table("saved_searches")
