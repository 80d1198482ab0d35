"""Crawl outcomes that tell the truth, and lost jobs (issue 22).

- ``crawl_runs.outcome``: complete, partial (some towns incomplete), failed, or lost
  (its heartbeat stopped and its node no longer runs it); NULL while running and for
  runs recorded before this migration (their ``status`` still says what they were).
- ``crawl_runs.incomplete_towns``: the towns a partial, failed or lost run did not
  finish (JSON list); ``completed_towns``: the towns it finished so far, written with
  each heartbeat, so a lost run's incomplete towns are its towns minus these.
- ``crawl_runs.heartbeat_at``: the running crawl's last sign of life.
- ``crawl_jobs.outcome`` and ``crawl_jobs.incomplete_towns``: the same, copied from
  the job's run by the sync (or written by the lost-job routine), so a retry posts
  only the incomplete towns.

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-04 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("outcome", sa.String(16)))
        batch.add_column(sa.Column("incomplete_towns", JSON))
        batch.add_column(sa.Column("completed_towns", JSON))
        batch.add_column(sa.Column("heartbeat_at", TS))
    op.create_index(op.f("ix_crawl_runs_outcome"), "crawl_runs", ["outcome"])
    with op.batch_alter_table("crawl_jobs") as batch:
        batch.add_column(sa.Column("outcome", sa.String(16)))
        batch.add_column(sa.Column("incomplete_towns", JSON))


def downgrade() -> None:
    with op.batch_alter_table("crawl_jobs") as batch:
        batch.drop_column("incomplete_towns")
        batch.drop_column("outcome")
    op.drop_index(op.f("ix_crawl_runs_outcome"), table_name="crawl_runs")
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("completed_towns")
        batch.drop_column("incomplete_towns")
        batch.drop_column("outcome")
