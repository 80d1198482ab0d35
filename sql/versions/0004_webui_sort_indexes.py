"""Web UI sort indexes: lists in the order they are shown, newest first, nulls last.

The cases list sorts by file date, newest first with undated cases last, then by
docket number (``ORDER BY file_date DESC NULLS LAST, docket_no``). Migration 0003's
``(town|county, file_date)`` indexes, read backwards, give *nulls first*, so
PostgreSQL fetched every case of a county and sorted them for each page. These
indexes hold the rows in the shown order, so a page is the first rows of an index
scan: town, county, all cases by file date, and law days soonest first (the
upcoming-law-day list). SQLite has no ``NULLS LAST`` in an index, but sorts NULLs
lowest, so plain ``DESC`` gives the same order there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 13:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEWEST = "file_date DESC NULLS LAST"
# PostgreSQL only: SQLite has no NULLS LAST in an index.
INDEXES = (
    ("ix_cases_search_town_newest", ["search_town", NEWEST, "docket_no"]),
    ("ix_cases_county_newest", ["county", NEWEST, "docket_no"]),
    ("ix_cases_newest", [NEWEST, "docket_no"]),
)


def _on_sqlite(column: str) -> str:
    # SQLite sorts NULLs first ascending (so last descending) and has no NULLS LAST.
    return column.replace(" NULLS LAST", "")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, columns in INDEXES:
        op.create_index(
            name, "cases", [sa.text(_on_sqlite(c) if sqlite else c) for c in columns]
        )
    op.create_index("ix_cases_law_day_docket_no", "cases", ["law_day", "docket_no"])
    # superseded by the town and county indexes above (same leading columns)
    op.drop_index("ix_cases_search_town_file_date", table_name="cases")
    op.drop_index("ix_cases_county_file_date", table_name="cases")


def downgrade() -> None:
    op.create_index("ix_cases_county_file_date", "cases", ["county", "file_date"])
    op.create_index(
        "ix_cases_search_town_file_date", "cases", ["search_town", "file_date"]
    )
    op.drop_index("ix_cases_law_day_docket_no", table_name="cases")
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="cases")
