"""Docket entries: the natural key (docket_no, entry_key) is the primary key.

The surrogate ``id`` was never used (the store and the web UI find entries by docket
and entry key), but every insert paid for its sequence and its own btree next to the
``(docket_no, entry_key)`` unique index. A first load writes ~20 entries per case:
without the extra index the COPY of 400,000 entries took 2.77 s instead of 3.14 s
(20,000 cases, BENCHMARKS.md "Item pipelines", 2026-11-24 evening). The web API's
docket entries no longer carry an ``id``.

PostgreSQL builds the primary key's index, then drops the unique one (a unique
constraint's index cannot be promoted): the table is locked while the index is
built, seconds for a few million entries; dropping the column is a catalog change.
SQLite rebuilds the table (batch mode). The downgrade gives every entry a new id.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "docket_entries"
PK = "pk_docket_entries"
UNIQUE = "uq_docket_entries_docket_no_entry_key"
KEY = ["docket_no", "entry_key"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(PK, TABLE, type_="primary")
        op.drop_column(TABLE, "id")  # its sequence goes with it (SERIAL)
        op.create_primary_key(PK, TABLE, KEY)
        op.drop_constraint(UNIQUE, TABLE, type_="unique")
        return
    with op.batch_alter_table(TABLE, recreate="always") as batch:
        batch.drop_constraint(UNIQUE, type_="unique")
        batch.drop_column("id")
        batch.create_primary_key(PK, KEY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(PK, TABLE, type_="primary")
        op.create_unique_constraint(UNIQUE, TABLE, KEY)
        op.execute(f"ALTER TABLE {TABLE} ADD COLUMN id SERIAL")
        op.create_primary_key(PK, TABLE, ["id"])
        return
    with op.batch_alter_table(TABLE, recreate="always") as batch:
        batch.drop_constraint(PK, type_="primary")
        batch.add_column(sa.Column("id", sa.Integer(), nullable=True))
    # SQLite: number the rows, then make id the primary key (an INTEGER PRIMARY
    # KEY, as 0001 created it).
    op.execute("UPDATE docket_entries SET id = rowid")
    with op.batch_alter_table(TABLE, recreate="always") as batch:
        batch.alter_column("id", existing_type=sa.Integer(), nullable=False)
        batch.create_primary_key(PK, ["id"])
        batch.create_unique_constraint(UNIQUE, KEY)
