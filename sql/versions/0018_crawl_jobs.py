"""Crawl jobs under staff control (issue 21): one row per scrapyd job.

- ``crawl_jobs``: the scrapyd job id (unique) and node, the spider, its towns and
  other arguments (JSON), who started it (a user id, NULL for the CLI, a routine or
  a job found on a node; kept here, never passed to scrapyd, which shows job
  arguments to anyone with its password), its status (pending, running, finished,
  failed, cancelled) and times, and for a retry the job it retries and its attempt
  number; for a failed job why, and whether that is transient or permanent.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "crawl_jobs",
        sa.Column("id", sa.Integer),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("node", sa.String(200)),
        sa.Column("spider", sa.String(32), nullable=False),
        sa.Column("towns", JSON, nullable=False),
        sa.Column("args", JSON, nullable=False),
        sa.Column("started_by", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("ended_at", TS),
        sa.Column("retry_of", sa.String(64)),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
        sa.Column("failure_reason", sa.String(300)),
        sa.Column("failure_class", sa.String(16)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crawl_jobs")),
        sa.UniqueConstraint("job_id", name=op.f("uq_crawl_jobs_job_id")),
        sa.ForeignKeyConstraint(
            ["started_by"],
            ["users.id"],
            name=op.f("fk_crawl_jobs_started_by_users"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'finished', 'failed', 'cancelled')",
            name=op.f("ck_crawl_jobs_status"),
        ),
    )
    op.create_index(op.f("ix_crawl_jobs_status"), "crawl_jobs", ["status"])
    op.create_index(op.f("ix_crawl_jobs_created_at"), "crawl_jobs", ["created_at"])
    op.create_index(op.f("ix_crawl_jobs_retry_of"), "crawl_jobs", ["retry_of"])


def downgrade() -> None:
    op.drop_table("crawl_jobs")
