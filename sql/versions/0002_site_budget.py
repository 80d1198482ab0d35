"""Site budget: one shared rate limit, search-session lease and kill switch per site.

Every crawl process on every scrapyd node takes its turn on the court's site from this
one row (ctforeclosure.middlewares.site_budget), so more nodes never mean more load.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "site_budget",
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("next_slot_at", sa.Double(), nullable=False),
        sa.Column("session_holder", sa.String(length=200), nullable=True),
        sa.Column("session_expires_at", sa.Double(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_by", sa.String(length=254), nullable=True),
        sa.Column("pause_reason", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("site", name=op.f("pk_site_budget")),
    )
    # The court's hosts (civil inquiry and the sales site) share one budget.
    op.bulk_insert(table, [{"site": "ctjud", "next_slot_at": 0.0, "paused": False}])


def downgrade() -> None:
    op.drop_table("site_budget")
