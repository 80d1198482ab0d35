"""case_changes: the writing transaction's id, for the change feed (issue 18).

``GET /api/v1/changes`` pages through ``case_changes`` for integrators. On
PostgreSQL a cursor of ids alone loses rows: ids are taken when a row is inserted,
but the row becomes visible when its transaction commits, so a crawl batch that
took ids 100-199 and commits after a skip trace's id 200 would be skipped by a
reader already past 200. Each row now records ``pg_current_xact_id()`` of the
transaction that wrote it (``txid``); the feed orders rows by (txid, id) and its
cursor carries the transactions still in progress when it read
(:mod:`ctforeclosure.store.feed`).

Rows written before this revision get 0: their transactions all ended long ago.
The column is added with that constant default first (no table rewrite), then the
default becomes the function, for rows written from now on. SQLite has one writer
at a time, so its rows keep 0 and the feed pages by id there.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The writing transaction's id as a bigint (xid8 has no cast to bigint but text).
CURRENT_TXID = "(pg_current_xact_id()::text::bigint)"


def upgrade() -> None:
    op.add_column(
        "case_changes",
        sa.Column("txid", sa.BigInteger, nullable=False, server_default="0"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("case_changes", "txid", server_default=sa.text(CURRENT_TXID))
    op.create_index("ix_case_changes_txid_id", "case_changes", ["txid", "id"])


def downgrade() -> None:
    op.drop_index("ix_case_changes_txid_id", table_name="case_changes")
    with op.batch_alter_table("case_changes") as batch:
        batch.drop_column("txid")
