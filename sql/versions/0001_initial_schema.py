"""Initial schema: towns, cases and their children, crawl runs, skip tracing, users.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-24 12:10:08.987942
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# JSONB on PostgreSQL, text on SQLite (as ctforeclosure.db.JSON).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("details", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_log_action"), ["action"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spider", sa.String(length=32), nullable=False),
        sa.Column("args", JSON, nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("node", sa.String(length=200), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("finish_reason", sa.String(length=64), nullable=True),
        sa.Column("items_scraped", sa.Integer(), nullable=False),
        sa.Column("items_stored", sa.Integer(), nullable=False),
        sa.Column("items_dropped", sa.Integer(), nullable=False),
        sa.Column("items_spooled", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", JSON, nullable=False),
        sa.Column("robots_overridden", sa.Boolean(), nullable=False),
        sa.Column("town_counts", JSON, nullable=False),
        sa.Column("checks", JSON, nullable=False),
        sa.Column("notes", JSON, nullable=False),
        sa.Column("stats", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crawl_runs")),
    )
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crawl_runs_started_at"), ["started_at"], unique=False
        )

    op.create_table(
        "skiptrace_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("triggered_by", sa.String(length=120), nullable=False),
        sa.Column("records_sent", sa.Integer(), nullable=False),
        sa.Column("records_matched", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("sandbox", sa.Boolean(), nullable=False),
        sa.Column("provider_request_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skiptrace_ledger")),
    )
    with op.batch_alter_table("skiptrace_ledger", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_skiptrace_ledger_at"), ["at"], unique=False
        )

    op.create_table(
        "towns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("town", sa.String(length=64), nullable=False),
        sa.Column("county", sa.String(length=32), nullable=False),
        sa.Column("normalized_name", sa.String(length=64), nullable=False),
        sa.Column("planning_region", sa.String(length=80), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_towns")),
        sa.UniqueConstraint("normalized_name", name=op.f("uq_towns_normalized_name")),
        sa.UniqueConstraint("town", name=op.f("uq_towns_town")),
    )
    with op.batch_alter_table("towns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_towns_county"), ["county"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_api_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "cases",
        sa.Column("docket_no", sa.String(length=16), nullable=False),
        sa.Column("docket_display", sa.String(length=24), nullable=True),
        sa.Column("search_town", sa.String(length=64), nullable=False),
        sa.Column("county", sa.String(length=32), nullable=True),
        sa.Column("listing_town", sa.String(length=64), nullable=True),
        sa.Column("listing_street", sa.Text(), nullable=True),
        sa.Column("listing_zip", sa.String(length=10), nullable=True),
        sa.Column("case_name", sa.Text(), nullable=True),
        sa.Column("property_type", sa.String(length=64), nullable=True),
        sa.Column("listing_disposition", sa.Text(), nullable=True),
        sa.Column("paperless", sa.Boolean(), nullable=True),
        sa.Column("listing_hash", sa.String(length=40), nullable=True),
        sa.Column("detail_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail_hash", sa.String(length=40), nullable=True),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("prefix", sa.String(length=16), nullable=True),
        sa.Column("case_type_code", sa.String(length=8), nullable=True),
        sa.Column("case_type", sa.String(length=120), nullable=True),
        sa.Column("file_date", sa.Date(), nullable=True),
        sa.Column("return_date", sa.Date(), nullable=True),
        sa.Column("court_location", sa.String(length=64), nullable=True),
        sa.Column("list_type", sa.String(length=64), nullable=True),
        sa.Column("last_action_date", sa.Date(), nullable=True),
        sa.Column("disposition_date", sa.Date(), nullable=True),
        sa.Column("disposition", sa.Text(), nullable=True),
        sa.Column("disposition_judge", sa.String(length=120), nullable=True),
        sa.Column("information_updated", sa.Date(), nullable=True),
        sa.Column("property_address_raw", sa.Text(), nullable=True),
        sa.Column("property_street", sa.Text(), nullable=True),
        sa.Column("property_unit", sa.Text(), nullable=True),
        sa.Column("property_town", sa.String(length=64), nullable=True),
        sa.Column("property_state", sa.String(length=2), nullable=True),
        sa.Column("property_zip", sa.String(length=10), nullable=True),
        sa.Column("judgment_type", sa.String(length=16), nullable=True),
        sa.Column("law_day", sa.Date(), nullable=True),
        sa.Column("sale_date", sa.Date(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=True),
        sa.Column("flags", JSON, nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("no_longer_listed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_changed", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_crawl_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["last_crawl_id"],
            ["crawl_runs.id"],
            name=op.f("fk_cases_last_crawl_id_crawl_runs"),
        ),
        sa.PrimaryKeyConstraint("docket_no", name=op.f("pk_cases")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_county"), ["county"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cases_file_date"), ["file_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cases_is_active"), ["is_active"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cases_judgment_type"), ["judgment_type"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_law_day"), ["law_day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cases_sale_date"), ["sale_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cases_search_town"), ["search_town"], unique=False
        )

    op.create_table(
        "case_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("docket_no", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("old_value", JSON, nullable=True),
        sa.Column("new_value", JSON, nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("crawl_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["crawl_id"],
            ["crawl_runs.id"],
            name=op.f("fk_case_changes_crawl_id_crawl_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["docket_no"],
            ["cases.docket_no"],
            name=op.f("fk_case_changes_docket_no_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_changes")),
    )
    with op.batch_alter_table("case_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_changes_docket_no"), ["docket_no"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_changes_kind"), ["kind"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_changes_seen_at"), ["seen_at"], unique=False
        )

    op.create_table(
        "court_dates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("docket_no", sa.String(length=16), nullable=False),
        sa.Column("date_key", sa.String(length=200), nullable=False),
        sa.Column("court_date", sa.Date(), nullable=True),
        sa.Column("court_time", sa.String(length=16), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["docket_no"],
            ["cases.docket_no"],
            name=op.f("fk_court_dates_docket_no_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_court_dates")),
        sa.UniqueConstraint(
            "docket_no", "date_key", name=op.f("uq_court_dates_docket_no_date_key")
        ),
    )
    with op.batch_alter_table("court_dates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_court_dates_court_date"), ["court_date"], unique=False
        )

    op.create_table(
        "docket_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("docket_no", sa.String(length=16), nullable=False),
        sa.Column("entry_key", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_no", sa.String(length=16), nullable=True),
        sa.Column("file_date", sa.Date(), nullable=True),
        sa.Column("filed_by", sa.String(length=8), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("add_desc", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("arguable", sa.String(length=8), nullable=True),
        sa.Column("document_no", sa.String(length=24), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["docket_no"],
            ["cases.docket_no"],
            name=op.f("fk_docket_entries_docket_no_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_docket_entries")),
        sa.UniqueConstraint(
            "docket_no", "entry_key", name=op.f("uq_docket_entries_docket_no_entry_key")
        ),
    )
    op.create_table(
        "parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("docket_no", sa.String(length=16), nullable=False),
        sa.Column("party_no", sa.String(length=8), nullable=False),
        sa.Column("role", sa.String(length=4), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("non_appearing", sa.Boolean(), nullable=False),
        sa.Column("appearances", JSON, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["docket_no"],
            ["cases.docket_no"],
            name=op.f("fk_parties_docket_no_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parties")),
        sa.UniqueConstraint(
            "docket_no", "party_no", name=op.f("uq_parties_docket_no_party_no")
        ),
    )
    op.create_table(
        "skiptrace_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("persons", JSON, nullable=False),
        sa.Column("mailing_address", JSON, nullable=True),
        sa.Column("provider_request_id", sa.String(length=64), nullable=True),
        sa.Column("sandbox", sa.Boolean(), nullable=False),
        sa.Column("ledger_id", sa.Integer(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ledger_id"],
            ["skiptrace_ledger.id"],
            name=op.f("fk_skiptrace_results_ledger_id_skiptrace_ledger"),
        ),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["parties.id"],
            name=op.f("fk_skiptrace_results_party_id_parties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skiptrace_results")),
    )
    with op.batch_alter_table("skiptrace_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_skiptrace_results_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_skiptrace_results_party_id"), ["party_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_skiptrace_results_person_key"), ["person_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_skiptrace_results_status"), ["status"], unique=False
        )

    op.create_table(
        "skiptrace_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["skiptrace_results.id"],
            name=op.f("fk_skiptrace_emails_result_id_skiptrace_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skiptrace_emails")),
    )
    with op.batch_alter_table("skiptrace_emails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_skiptrace_emails_result_id"), ["result_id"], unique=False
        )

    op.create_table(
        "skiptrace_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=True),
        sa.Column("carrier", sa.String(length=120), nullable=True),
        sa.Column("dnc", sa.Boolean(), nullable=True),
        sa.Column("tcpa", sa.Boolean(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["skiptrace_results.id"],
            name=op.f("fk_skiptrace_phones_result_id_skiptrace_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skiptrace_phones")),
    )
    with op.batch_alter_table("skiptrace_phones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_skiptrace_phones_result_id"), ["result_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("skiptrace_phones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skiptrace_phones_result_id"))

    op.drop_table("skiptrace_phones")
    with op.batch_alter_table("skiptrace_emails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skiptrace_emails_result_id"))

    op.drop_table("skiptrace_emails")
    with op.batch_alter_table("skiptrace_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skiptrace_results_status"))
        batch_op.drop_index(batch_op.f("ix_skiptrace_results_person_key"))
        batch_op.drop_index(batch_op.f("ix_skiptrace_results_party_id"))
        batch_op.drop_index(batch_op.f("ix_skiptrace_results_expires_at"))

    op.drop_table("skiptrace_results")
    op.drop_table("parties")
    op.drop_table("docket_entries")
    with op.batch_alter_table("court_dates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_court_dates_court_date"))

    op.drop_table("court_dates")
    with op.batch_alter_table("case_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_changes_seen_at"))
        batch_op.drop_index(batch_op.f("ix_case_changes_kind"))
        batch_op.drop_index(batch_op.f("ix_case_changes_docket_no"))

    op.drop_table("case_changes")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_search_town"))
        batch_op.drop_index(batch_op.f("ix_cases_sale_date"))
        batch_op.drop_index(batch_op.f("ix_cases_law_day"))
        batch_op.drop_index(batch_op.f("ix_cases_judgment_type"))
        batch_op.drop_index(batch_op.f("ix_cases_is_active"))
        batch_op.drop_index(batch_op.f("ix_cases_file_date"))
        batch_op.drop_index(batch_op.f("ix_cases_county"))

    op.drop_table("cases")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    with op.batch_alter_table("towns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_towns_county"))

    op.drop_table("towns")
    with op.batch_alter_table("skiptrace_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skiptrace_ledger_at"))

    op.drop_table("skiptrace_ledger")
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crawl_runs_started_at"))

    op.drop_table("crawl_runs")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
