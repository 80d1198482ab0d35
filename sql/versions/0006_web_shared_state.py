"""The web UI's shared state: failed sign-ins and background jobs in the database.

``ctforeclosure web`` now runs several worker processes (one process of Python
threads used one core: 227 requests/s where two processes served ~300, BENCHMARKS.md),
so what every worker must see cannot live in one process's memory any more: the
failed sign-ins that throttle logins per address and per email, and the progress of
background skip traces (started by one worker, polled through any). A restart no
longer forgets either.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_key_at"), "login_failures", ["key", "at"])
    op.create_table(
        "web_jobs",
        sa.Column("id", sa.String(32)),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(254), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("lines", JSON),
        sa.Column("error", sa.Text),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_jobs")),
    )
    op.create_index(op.f("ix_web_jobs_started_at"), "web_jobs", ["started_at"])


def downgrade() -> None:
    op.drop_table("web_jobs")
    op.drop_table("login_failures")
