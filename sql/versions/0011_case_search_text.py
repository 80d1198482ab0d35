"""Cases: one search text per case (names and streets), matched with LIKE.

The web UI's text search matched four columns in two tables with ILIKE: the case
name and both streets (three trigram indexes on cases) and every party's name (one
on parties), then merged the two lists of matches. The commonest surname took 13-16
ms (200,000 cases, 4,800 matches), a street 8-11 ms: 3 requests in 16 of the web UI
benchmark, they took much of its database time (BENCHMARKS.md, web UI, sixth
pass). Most of it was rechecking each candidate row: a party row per match in a
127 MB table, and ILIKE folding the case of every character it compared.

Now each case carries ``search_text``: its case name, streets and parties' names
(removed ones too, as before), upper-cased, one per line, under one trigram index.
A search is one LIKE over one table, on text already upper-cased: 4,600 matches
counted in 4.4 ms instead of 9 with ILIKE on the same text. The case row has every
filter and sort, so the parties' copies of their case's filing date and town
(migration 0009) and the covering index the party matches were looked up by
(migration 0007) go, and so do the three trigram indexes on cases. The parties'
name index stays: the API's defendant search uses it.

The store writes ``search_text`` whenever it writes a case
(``ctforeclosure.store.cases.refresh_search_text``); this migration fills it in for
the cases already stored. On SQLite the index is a plain one, as migration 0003's.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_cases_search_text_trgm"
OLD_TRIGRAM = (
    ("ix_cases_case_name_trgm", "case_name"),
    ("ix_cases_property_street_trgm", "property_street"),
    ("ix_cases_listing_street_trgm", "listing_street"),
)
COVERING = "ix_cases_docket_no_search"  # migration 0007
COVERED = ["file_date", "search_town", "county", "is_active"]
COPIES_INDEX = "ix_parties_case_town"  # migration 0009

# Light table stand-ins: a migration must not import today's table definitions.
cases = sa.table(
    "cases",
    sa.column("docket_no"),
    sa.column("file_date"),
    sa.column("search_town"),
    sa.column("case_name"),
    sa.column("property_street"),
    sa.column("listing_street"),
    sa.column("search_text"),
)
parties = sa.table(
    "parties",
    sa.column("docket_no"),
    sa.column("name"),
    sa.column("case_file_date"),
    sa.column("case_town"),
)


def _search_text():
    """The same text as ``refresh_search_text`` writes (this revision's snapshot)."""
    names = (
        sa.select(sa.func.aggregate_strings(parties.c.name, "\n"))
        .where(parties.c.docket_no == cases.c.docket_no)
        .scalar_subquery()
    )
    lines = [
        sa.func.coalesce(column, "")
        for column in (
            cases.c.case_name,
            cases.c.property_street,
            cases.c.listing_street,
            names,
        )
    ]
    joined = lines[0]
    for line in lines[1:]:
        joined = joined + "\n" + line
    return sa.func.upper(joined)


def _drop_columns(table: str, *columns: str) -> None:
    """ALTER TABLE ... DROP COLUMN, on SQLite too (3.35+), never a batch rebuild:
    rebuilding a table drops the old one, and with foreign keys on, SQLite deletes
    the rows that reference it first (a party's skip-trace results, a case's
    parties)."""
    for column in columns:
        op.drop_column(table, column)


def upgrade() -> None:
    op.add_column("cases", sa.Column("search_text", sa.Text))
    op.execute(cases.update().values(search_text=_search_text()))
    op.create_index(
        INDEX,
        "cases",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    for name, _column in OLD_TRIGRAM:
        op.drop_index(name, table_name="cases")
    op.drop_index(COVERING, table_name="cases")
    op.drop_index(COPIES_INDEX, table_name="parties")
    _drop_columns("parties", "case_town", "case_file_date")


def downgrade() -> None:
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
    op.create_index(COPIES_INDEX, "parties", ["case_town"])
    op.create_index(COVERING, "cases", ["docket_no"], postgresql_include=COVERED)
    for name, column in OLD_TRIGRAM:
        op.create_index(
            name,
            "cases",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )
    op.drop_index(INDEX, table_name="cases")
    _drop_columns("cases", "search_text")
