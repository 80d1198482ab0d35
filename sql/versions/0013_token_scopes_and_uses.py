"""API tokens: scopes, and a record of each token's use.

A token could do anything its user could, without limit, and nobody could see what
it was used for. Now each token carries its scopes (``read``, ``contacts``,
``skiptrace``, ``crawl``, ``leads``, ``admin``; ``ctforeclosure.services.tokens``),
as comma-separated text. Tokens issued before this revision get ``read`` only: a
script that needs more gets a new token with the scopes it needs.

``api_token_uses`` keeps one row per API request: when, the method, the route's
template (``/api/v1/cases/<docket_no>``, never the path with its values nor the
query: they hold names), and the status answered. The per-token rate limit counts
the rows of the last minute (index on token and time); rows older than 30 days are
pruned by the web UI (index on time).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
# A BIGINT key on PostgreSQL (a busy token writes many rows); SQLite's row id
# needs the INTEGER PRIMARY KEY spelling.
USE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column(
        "api_tokens",
        sa.Column("scopes", sa.String(200), nullable=False, server_default="read"),
    )
    op.create_table(
        "api_token_uses",
        sa.Column("id", USE_ID),
        sa.Column("token_id", sa.Integer, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token_uses")),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_api_token_uses_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        op.f("ix_api_token_uses_token_id_at"), "api_token_uses", ["token_id", "at"]
    )
    op.create_index(op.f("ix_api_token_uses_at"), "api_token_uses", ["at"])


def downgrade() -> None:
    op.drop_table("api_token_uses")
    # ALTER TABLE ... DROP COLUMN, on SQLite too (3.35+): a batch rebuild of
    # api_tokens would drop the table its users' rows reference.
    op.drop_column("api_tokens", "scopes")
