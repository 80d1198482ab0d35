"""Cases: a covering index for the text search's party matches (PostgreSQL).

A party-name search finds docket numbers in ``parties`` (trigram index), then the
cases they belong to. Read from the primary key and the table, each of those cases
cost a heap visit; the commonest surname matches ~4,800 cases of 200,000. This index
holds the docket with the columns the search sorts and filters on most (filing date,
town, county, active), so those lookups are index-only: the commonest surname's list
45 -> ~18 ms (BENCHMARKS.md, web UI fourth pass). SQLite has no INCLUDE: there it
is a plain docket index, kept only so that both databases have the same schema.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 21:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_cases_docket_no_search"
INCLUDED = ["file_date", "search_town", "county", "is_active"]


def upgrade() -> None:
    op.create_index(NAME, "cases", ["docket_no"], postgresql_include=INCLUDED)


def downgrade() -> None:
    op.drop_index(NAME, table_name="cases")
