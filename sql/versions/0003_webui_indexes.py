"""Web UI indexes: town/county lists by file date, trigram search on names and streets.

The cases list filters by town or county and sorts by file date; the search box
matches party names, case names and streets anywhere in the text (ILIKE '%...%'),
which only a trigram index (pg_trgm, a trusted extension since PostgreSQL 13) can
serve on PostgreSQL. On SQLite the trigram indexes are plain indexes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 12:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM = (
    ("ix_parties_name_trgm", "parties", "name"),
    ("ix_cases_case_name_trgm", "cases", "case_name"),
    ("ix_cases_property_street_trgm", "cases", "property_street"),
    ("ix_cases_listing_street_trgm", "cases", "listing_street"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_cases_search_town_file_date", "cases", ["search_town", "file_date"]
    )
    op.create_index("ix_cases_county_file_date", "cases", ["county", "file_date"])
    for name, table, column in TRIGRAM:
        op.create_index(
            name,
            table,
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    for name, table, _column in reversed(TRIGRAM):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_cases_county_file_date", table_name="cases")
    op.drop_index("ix_cases_search_town_file_date", table_name="cases")
