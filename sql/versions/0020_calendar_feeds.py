"""Calendar feeds (issue 18 part 5): a user's secret address of an iCalendar feed of
the upcoming law days and sales of a saved search, or of all cases.

- ``calendar_feeds``: whose it is (deleted with its user), the saved search it
  follows (none: all cases; deleted with the search, so its feed stops answering),
  the SHA-256 digest of its secret (the secret is 32 random bytes, so a plain digest
  is as good as a slow password hash and lets the lookup be one indexed equality),
  when it was made, revoked and last fetched by a calendar app.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("saved_search_id", sa.Integer),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
        sa.Column("last_fetched_at", TS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_feeds_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["saved_search_id"],
            ["saved_searches.id"],
            name=op.f("fk_calendar_feeds_saved_search_id_saved_searches"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_calendar_feeds_secret_hash")),
    )
    op.create_index(op.f("ix_calendar_feeds_user_id"), "calendar_feeds", ["user_id"])


def downgrade() -> None:
    op.drop_table("calendar_feeds")
