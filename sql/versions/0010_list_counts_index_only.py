"""Cases: the list indexes carry the status and judgment type, so counts read only them.

A list shows its first page from one of migration 0004's indexes (town, county or
all cases, newest first) and counts its matches up to 1,001. With a status or
judgment-type filter, the count read each candidate case from the table to test it:
a county's active cases 2.1 ms, strict foreclosures filed in three years 4.5 ms
(200,000 cases). With those two columns in the indexes (INCLUDE), the count is an
index-only scan: 0.3 and 0.5 ms (BENCHMARKS.md, web UI, fifth pass).

PostgreSQL only, as in migration 0004 (SQLite has no INCLUDE; there this migration
does nothing). Each index is built under a new name, then the old one dropped.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEWEST = "file_date DESC NULLS LAST"
INCLUDED = ["is_active", "judgment_type"]
INDEXES = (
    ("ix_cases_search_town_newest", ["search_town", NEWEST, "docket_no"]),
    ("ix_cases_county_newest", ["county", NEWEST, "docket_no"]),
    ("ix_cases_newest", [NEWEST, "docket_no"]),
)


def _rebuild(include: list[str] | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, columns in INDEXES:
        op.create_index(
            f"{name}_new",
            "cases",
            [sa.text(c) for c in columns],
            postgresql_include=include or [],
        )
        op.drop_index(name, table_name="cases")
        op.execute(sa.text(f'ALTER INDEX "{name}_new" RENAME TO "{name}"'))


def upgrade() -> None:
    _rebuild(INCLUDED)


def downgrade() -> None:
    _rebuild(None)
