"""Pending foreclosure sales: the ``sales`` table and the cases' sale markers.

The ``sales`` spider reads the Judicial Branch's pending-sales site (docs/SITES.md
§5); each posting is one row of ``sales``, keyed on the site's posting id, linked to
its case by docket. Two columns on ``cases``:

- ``from_sale``: the case was created from a sale (its docket was never seen on the
  search grid, e.g. a commercial property). The cases crawl reads its page and
  never marks it "no longer listed" for lacking a grid row.
- ``notice_sale_date``: the notice's sale date of the case's newest listed sale,
  kept by the sales store; the effective sale date the web UI, API and exports read
  is this, else the date the docket wording gives (``sale_date``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _columns() -> list:
    text_columns = [
        "heading",
        "address_raw",
        "address_street",
        "address_unit",
        "inspection",
        "committee_name",
        "committee_address",
        "cancel_reason",
        "body",
        "photo_url",
    ]
    return [
        sa.Column("posting_id", sa.Integer, autoincrement=False),
        sa.Column("docket_no", sa.String(16), nullable=False),
        sa.Column("town", sa.String(64), nullable=False),
        sa.Column("county", sa.String(32)),
        sa.Column("sale_at", TS),
        sa.Column("sale_date", sa.Date),
        sa.Column("sale_time", sa.String(16)),
        sa.Column("sale_type", sa.String(120)),
        sa.Column("property_type", sa.String(120)),
        *(sa.Column(name, sa.Text) for name in text_columns),
        sa.Column("address_town", sa.String(64)),
        sa.Column("address_zip", sa.String(10)),
        sa.Column("notice_from", sa.Date),
        sa.Column("notice_thru", sa.Date),
        sa.Column("deposit", sa.Numeric(14, 2)),
        sa.Column("committee_phone", sa.String(40)),
        sa.Column("committee_email", sa.String(254)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("listing_hash", sa.String(40)),
        sa.Column("notice_fetched_at", TS),
        sa.Column("flags", JSON, nullable=False),
        sa.Column("listed", sa.Boolean, nullable=False),
        sa.Column("unlisted_at", TS),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.Column("last_changed", TS, nullable=False),
        sa.Column("last_crawl_id", sa.Integer),
    ]


def upgrade() -> None:
    op.add_column("cases", sa.Column("notice_sale_date", sa.Date))
    op.add_column(
        "cases",
        sa.Column("from_sale", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index(op.f("ix_cases_notice_sale_date"), "cases", ["notice_sale_date"])
    op.create_table(
        "sales",
        *_columns(),
        sa.PrimaryKeyConstraint("posting_id", name=op.f("pk_sales")),
        sa.ForeignKeyConstraint(
            ["docket_no"],
            ["cases.docket_no"],
            name=op.f("fk_sales_docket_no_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["last_crawl_id"],
            ["crawl_runs.id"],
            name=op.f("fk_sales_last_crawl_id_crawl_runs"),
        ),
    )
    for column in ("docket_no", "town", "county", "sale_date"):
        op.create_index(op.f(f"ix_sales_{column}"), "sales", [column])


def downgrade() -> None:
    op.drop_table("sales")
    op.drop_index(op.f("ix_cases_notice_sale_date"), table_name="cases")
    # ALTER TABLE ... DROP COLUMN, on SQLite too (3.35+): a batch rebuild of cases
    # would drop the table its children reference.
    op.drop_column("cases", "from_sale")
    op.drop_column("cases", "notice_sale_date")
