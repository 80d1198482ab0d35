"""Parties: a copy of their case's filing date and town, for the name search.

A party-name search finds parties by the trigram index on their names, then needs
each match's case for the list's order (newest filing first) and, often, its town.
Looking up ~3,900 cases one by one was a third of the commonest surname's 25 ms
(200,000 cases), and within a town the trigram matches were tested against every
case of the town (10 ms). With the case's filing date and town on the party row,
the search reads them where it already is: 25 -> 15 ms, and 10 -> 3.5 ms with a
town, where an index on the copy of the town narrows the trigram matches before any
row is read (BENCHMARKS.md, web UI, fifth pass).

The store writes the copies with the parties and rewrites them when a case's filing
date or town changes (``ctforeclosure.store.cases.refresh_party_copies``); this
migration fills them in from the cases already stored.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_parties_case_town"

# Light table stand-ins: a migration must not import today's table definitions.
cases = sa.table(
    "cases", sa.column("docket_no"), sa.column("file_date"), sa.column("search_town")
)
parties = sa.table(
    "parties",
    sa.column("docket_no"),
    sa.column("case_file_date"),
    sa.column("case_town"),
)


def upgrade() -> None:
    op.add_column("parties", sa.Column("case_file_date", sa.Date))
    op.add_column("parties", sa.Column("case_town", sa.String(64)))
    own_case = cases.c.docket_no == parties.c.docket_no
    op.execute(
        parties.update().values(
            case_file_date=sa.select(cases.c.file_date)
            .where(own_case)
            .scalar_subquery(),
            case_town=sa.select(cases.c.search_town).where(own_case).scalar_subquery(),
        )
    )
    op.create_index(INDEX, "parties", ["case_town"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="parties")
    # ALTER TABLE ... DROP COLUMN, on SQLite too: a batch rebuild drops the table,
    # and SQLite then deletes the skip-trace results that reference its rows.
    op.drop_column("parties", "case_town")
    op.drop_column("parties", "case_file_date")
