"""Cases: a ``has_phones`` flag and small partial indexes for the "has phones" list.

The web UI's "has phones" filter ran an EXISTS through parties, skip-trace results
and phones for every case it looked at: 90-160 ms for a big town (200,000 cases).
The flag is set by ``ctforeclosure.skiptrace.store`` when phones are stored and
recomputed by the purge when results are deleted; this migration fills it in from
the results already stored. The partial indexes hold only the flagged cases, in the
shown order (newest first, undated last, then docket), for one town and for all.
SQLite has no ``NULLS LAST`` in an index but sorts NULLs lowest, so plain ``DESC``
gives the same order there (as in migration 0004).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEWEST = "file_date DESC NULLS LAST"
INDEXES = (
    ("ix_cases_phones_town_newest", ["search_town", NEWEST, "docket_no"]),
    ("ix_cases_phones_newest", [NEWEST, "docket_no"]),
)

# Light table stand-ins: a migration must not import today's table definitions.
cases = sa.table("cases", sa.column("docket_no"), sa.column("has_phones"))
parties = sa.table("parties", sa.column("id"), sa.column("docket_no"))
results = sa.table("skiptrace_results", sa.column("id"), sa.column("party_id"))
phones = sa.table("skiptrace_phones", sa.column("result_id"))


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "cases",
        sa.Column("has_phones", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    with_phones = (
        sa.select(parties.c.docket_no)
        .join(results, results.c.party_id == parties.c.id)
        .join(phones, phones.c.result_id == results.c.id)
    )
    op.execute(
        cases.update()
        .where(cases.c.docket_no.in_(with_phones))
        .values(has_phones=sa.true())
    )
    flagged = sa.text("has_phones")
    for name, columns in INDEXES:
        op.create_index(
            name,
            "cases",
            [sa.text(c.replace(" NULLS LAST", "") if sqlite else c) for c in columns],
            postgresql_where=flagged,
            sqlite_where=flagged,
        )


def downgrade() -> None:
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("has_phones")
