"""The outreach workspace: lead statuses, a lead per case, tags, notes and the
do-not-contact list (issue 19).

``lead_statuses`` is seeded with the defaults (New, Researching, Contacting,
Appointment set, Won, Lost, Not a lead), which admins then rename, reorder and add
to. ``leads`` holds one row per case somebody worked on (status, assignee, follow-up
date), ``lead_tags`` its tags, ``notes`` the staff's notes. ``suppressions`` is the
internal do-not-contact list: a keyed hash and the last 4 characters of a number, an
email or a person's key, never the value itself; a removal is kept (who, when, why).
None of these tables is written by a crawl or a skip trace, so neither resets them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
#: The default statuses, in order; the last three close a lead.
DEFAULT_STATUSES = (
    ("New", False),
    ("Researching", False),
    ("Contacting", False),
    ("Appointment set", False),
    ("Won", True),
    ("Lost", True),
    ("Not a lead", True),
)


def _fk(column: str, table: str, ondelete: str | None, source: str):
    return sa.ForeignKeyConstraint(
        [column],
        [f"{table}.{'docket_no' if table == 'cases' else 'id'}"],
        name=op.f(f"fk_{source}_{column}_{table}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    statuses = op.create_table(
        "lead_statuses",
        sa.Column("id", sa.Integer),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_statuses")),
        sa.UniqueConstraint("name", name=op.f("uq_lead_statuses_name")),
    )
    op.bulk_insert(
        statuses,
        [
            # ids from the sequence (explicit ones would leave it behind)
            {"name": name, "position": n, "closed": closed}
            for n, (name, closed) in enumerate(DEFAULT_STATUSES, start=1)
        ],
    )
    _create_leads()
    _create_notes()
    _create_suppressions()


def _create_leads() -> None:
    op.create_table(
        "leads",
        sa.Column("docket_no", sa.String(16)),
        sa.Column("status_id", sa.Integer, nullable=False),
        sa.Column("assignee_id", sa.Integer),
        sa.Column("follow_up", sa.Date),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(254), nullable=False),
        sa.PrimaryKeyConstraint("docket_no", name=op.f("pk_leads")),
        _fk("docket_no", "cases", "CASCADE", "leads"),
        _fk("status_id", "lead_statuses", None, "leads"),
        _fk("assignee_id", "users", "SET NULL", "leads"),
    )
    op.create_index(op.f("ix_leads_assignee_id"), "leads", ["assignee_id"])
    op.create_index(op.f("ix_leads_follow_up"), "leads", ["follow_up"])
    op.create_index(
        op.f("ix_leads_status_id_docket_no"), "leads", ["status_id", "docket_no"]
    )
    op.create_table(
        "lead_tags",
        sa.Column("docket_no", sa.String(16)),
        sa.Column("tag", sa.String(40)),
        sa.PrimaryKeyConstraint("docket_no", "tag", name=op.f("pk_lead_tags")),
        _fk("docket_no", "cases", "CASCADE", "lead_tags"),
    )
    op.create_index(op.f("ix_lead_tags_tag"), "lead_tags", ["tag"])


def _create_notes() -> None:
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer),
        sa.Column("docket_no", sa.String(16), nullable=False),
        sa.Column("party_id", sa.Integer),
        sa.Column("author", sa.String(254), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("edited_at", TS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
        _fk("docket_no", "cases", "CASCADE", "notes"),
        _fk("party_id", "parties", "SET NULL", "notes"),
    )
    op.create_index(op.f("ix_notes_docket_no"), "notes", ["docket_no"])


def _create_suppressions() -> None:
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value_hash", sa.String(64), nullable=False),
        sa.Column("last4", sa.String(4)),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("docket_no", sa.String(16)),
        sa.Column("party_no", sa.String(8)),
        sa.Column("added_by", sa.String(254), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.Column("removed_at", TS),
        sa.Column("removed_by", sa.String(254)),
        sa.Column("removal_reason", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
    )
    active = sa.text("removed_at IS NULL")
    op.create_index(
        "uq_suppressions_value_hash_active",
        "suppressions",
        ["value_hash"],
        unique=True,
        sqlite_where=active,
        postgresql_where=active,
    )


def downgrade() -> None:
    for table in ("suppressions", "notes", "lead_tags", "leads", "lead_statuses"):
        op.drop_table(table)
