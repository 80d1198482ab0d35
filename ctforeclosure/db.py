"""The database: table definitions for the whole domain and the engine factory.

SQLAlchemy Core, one code path for PostgreSQL (``postgresql+psycopg://``) and the
embedded SQLite file. The schema changes only through the Alembic migrations in
``sql/`` (``ctforeclosure db upgrade``); nothing here creates tables. No Scrapy import:
the web UI and the CLI use this module too.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from ctforeclosure import config

__all__ = ["CASE_DATE_COLUMNS", "aware", "make_engine", "metadata"]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: JSON stored as JSONB on PostgreSQL and as text on SQLite.
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def aware(value: datetime | None) -> datetime | None:
    """Return a TS column's value UTC-aware: SQLite hands back naive ones (in UTC)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _seen_columns() -> list[sa.Column]:
    return [
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
    ]


towns = sa.Table(
    "towns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("town", sa.String(64), nullable=False, unique=True),  # "East Hartford"
    sa.Column("county", sa.String(32), nullable=False, index=True),  # "Hartford"
    sa.Column("normalized_name", sa.String(64), nullable=False, unique=True),
    sa.Column("planning_region", sa.String(80)),
    sa.Column("source", sa.String(16), nullable=False),  # statelib | bundled
    *_seen_columns(),
    sa.Column("updated_at", TS, nullable=False),
)

crawl_runs = sa.Table(
    "crawl_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("spider", sa.String(32), nullable=False),
    sa.Column("args", JSON, nullable=False, default=dict),
    sa.Column("job_id", sa.String(64)),  # scrapyd job id when run there
    sa.Column("node", sa.String(200)),
    sa.Column("started_at", TS, nullable=False, index=True),
    sa.Column("finished_at", TS),
    sa.Column("status", sa.String(16), nullable=False),  # running|finished|failed|...
    sa.Column("finish_reason", sa.String(64)),
    sa.Column("items_scraped", sa.Integer, nullable=False, default=0),
    sa.Column("items_stored", sa.Integer, nullable=False, default=0),
    sa.Column("items_dropped", sa.Integer, nullable=False, default=0),
    sa.Column("items_spooled", sa.Integer, nullable=False, default=0),
    sa.Column("requests", sa.Integer, nullable=False, default=0),
    sa.Column("errors", JSON, nullable=False, default=dict),  # category -> count
    sa.Column("robots_overridden", sa.Boolean, nullable=False, default=False),
    sa.Column(
        "town_counts", JSON, nullable=False, default=dict
    ),  # town -> {site, parsed}
    sa.Column("checks", JSON, nullable=False, default=list),  # monitor results
    sa.Column("notes", JSON, nullable=False, default=list),  # fallbacks, mismatches
    sa.Column("stats", JSON),
    # Migration 0022 (extensions.crawl_outcome, jobs.lost_jobs): complete | partial
    # | failed | lost (NULL while running), the towns not finished, the towns
    # finished so far (with each heartbeat) and the last heartbeat.
    sa.Column("outcome", sa.String(16), index=True),
    sa.Column("incomplete_towns", JSON),
    sa.Column("completed_towns", JSON),
    sa.Column("heartbeat_at", TS),
)

#: What a crawl came to (``crawl_runs.outcome``, ``crawl_jobs.outcome``).
CRAWL_OUTCOMES = ("complete", "partial", "failed", "lost")

# Crawl jobs (migration 0018; ctforeclosure/jobs/crawl_jobs.py): every job posted to
# scrapyd, with who started it (kept here by job id, never a scrapyd argument), its
# state as last synced from scrapyd, and for a failed one why and whether that is
# transient (retried automatically) or permanent. A retry is a new job naming the
# job it retries (``retry_of``) and its attempt number.
CRAWL_JOB_STATUSES = ("pending", "running", "finished", "failed", "cancelled")
crawl_jobs = sa.Table(
    "crawl_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("job_id", sa.String(64), nullable=False, unique=True),
    sa.Column("node", sa.String(200)),
    sa.Column("spider", sa.String(32), nullable=False),
    sa.Column("towns", JSON, nullable=False),  # [] : every town the spider reads
    sa.Column("args", JSON, nullable=False),  # other spider arguments
    sa.Column(
        "started_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")
    ),  # NULL: the CLI, a routine, or a job found on a node
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("created_at", TS, nullable=False, index=True),
    sa.Column("started_at", TS),
    sa.Column("ended_at", TS),
    sa.Column("retry_of", sa.String(64), index=True),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
    sa.Column("failure_reason", sa.String(300)),
    sa.Column("failure_class", sa.String(16)),  # transient | permanent
    # Migration 0022: the run's outcome and incomplete towns (a retry's towns).
    sa.Column("outcome", sa.String(16)),
    sa.Column("incomplete_towns", JSON),
    sa.CheckConstraint(
        "status IN ('pending', 'running', 'finished', 'failed', 'cancelled')",
        name="status",
    ),
)

#: One row per remote site (``ctjud``): the deployment-wide rate limit, the search
#: session lease and the kill switch (ctforeclosure.store.site_budget). Times
#: are seconds since the epoch on the database's clock, so nodes' clocks don't matter.
site_budget = sa.Table(
    "site_budget",
    metadata,
    sa.Column("site", sa.String(32), primary_key=True),  # "ctjud"
    sa.Column("next_slot_at", sa.Double, nullable=False, default=0.0),
    sa.Column("session_holder", sa.String(200)),  # "node1:4242:9f3c..."
    sa.Column("session_expires_at", sa.Double),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("paused_at", TS),
    sa.Column("paused_by", sa.String(254)),
    sa.Column("pause_reason", sa.String(200)),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("docket_no", sa.String(16), primary_key=True),  # compact form
    sa.Column("docket_display", sa.String(24)),
    sa.Column("search_town", sa.String(64), nullable=False, index=True),
    sa.Column("county", sa.String(32), index=True),
    # search-results grid
    sa.Column("listing_town", sa.String(64)),
    sa.Column("listing_street", sa.Text),
    sa.Column("listing_zip", sa.String(10)),
    sa.Column("case_name", sa.Text),
    sa.Column("property_type", sa.String(64)),
    sa.Column("listing_disposition", sa.Text),
    sa.Column("paperless", sa.Boolean),
    sa.Column("listing_hash", sa.String(40)),
    # case page
    sa.Column("detail_fetched_at", TS),
    sa.Column("detail_hash", sa.String(40)),
    sa.Column("caption", sa.Text),
    sa.Column("prefix", sa.String(16)),
    sa.Column("case_type_code", sa.String(8)),
    sa.Column("case_type", sa.String(120)),
    sa.Column("file_date", sa.Date, index=True),
    sa.Column("return_date", sa.Date),
    sa.Column("court_location", sa.String(64)),
    sa.Column("list_type", sa.String(64)),
    sa.Column("last_action_date", sa.Date),
    sa.Column("disposition_date", sa.Date),
    sa.Column("disposition", sa.Text),
    sa.Column("disposition_judge", sa.String(120)),
    sa.Column("information_updated", sa.Date),
    sa.Column("property_address_raw", sa.Text),
    sa.Column("property_street", sa.Text),
    sa.Column("property_unit", sa.Text),
    sa.Column("property_town", sa.String(64)),
    sa.Column("property_state", sa.String(2)),
    sa.Column("property_zip", sa.String(10)),
    # derived
    sa.Column("judgment_type", sa.String(16), index=True),  # strict | sale
    sa.Column("law_day", sa.Date, index=True),
    sa.Column("sale_date", sa.Date, index=True),
    sa.Column("is_active", sa.Boolean, index=True),
    # What the web UI's text search reads (migration 0011): the case name, both
    # streets and every party's name (removed parties too), upper-cased and one per
    # line. Kept by the store (ctforeclosure.store.cases.refresh_search_text).
    sa.Column("search_text", sa.Text),
    sa.Column("flags", JSON, nullable=False, default=list),
    # any party's skip trace found a phone: kept by ctforeclosure.skiptrace.store and
    # purge (migration 0005), so the web UI's "has phones" filter is a column test
    sa.Column(
        "has_phones",
        sa.Boolean,
        nullable=False,
        default=False,
        server_default=sa.false(),
    ),
    # The notice's sale date of the case's newest listed sale (migration 0014; kept
    # by ctforeclosure.store.sales): the effective sale date is this, else sale_date.
    sa.Column("notice_sale_date", sa.Date, index=True),
    # Created from a sale's notice, never seen on the search grid (migration 0014):
    # the cases crawl reads its page and never marks it "no longer listed".
    sa.Column(
        "from_sale",
        sa.Boolean,
        nullable=False,
        default=False,
        server_default=sa.false(),
    ),
    # lifecycle
    sa.Column("listed", sa.Boolean, nullable=False, default=True),
    sa.Column("no_longer_listed_at", TS),
    *_seen_columns(),
    sa.Column("last_changed", TS, nullable=False),
    sa.Column("last_crawl_id", sa.Integer, sa.ForeignKey("crawl_runs.id")),
)
#: The cases' date columns, CaseItem's date fields of the same names: validation
#: checks them, the spool turns them back from ISO text.
#: (``notice_sale_date`` is the sales store's, not a CaseItem field.)
CASE_DATE_COLUMNS = tuple(
    c.name
    for c in cases.c
    if isinstance(c.type, sa.Date) and c.name != "notice_sale_date"
)

parties = sa.Table(
    "parties",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "docket_no",
        sa.String(16),
        sa.ForeignKey("cases.docket_no", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("party_no", sa.String(8), nullable=False),  # "D-01"
    sa.Column("role", sa.String(4), nullable=False),  # "D"
    sa.Column("category", sa.String(80)),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("non_appearing", sa.Boolean, nullable=False, default=False),
    sa.Column("appearances", JSON, nullable=False, default=list),
    *_seen_columns(),
    sa.Column("removed_at", TS),  # gone from the case page; kept, not deleted
    sa.UniqueConstraint("docket_no", "party_no"),
)

# Keyed on (docket_no, entry_key) with no surrogate id (migration 0008): nothing
# used the id, and its index slowed a first load's entry inserts.
docket_entries = sa.Table(
    "docket_entries",
    metadata,
    sa.Column(
        "docket_no",
        sa.String(16),
        sa.ForeignKey("cases.docket_no", ondelete="CASCADE"),
        primary_key=True,
    ),
    # entry_no|file_date|description, with "#n" for repeats: entries without a number
    # (summons, complaint, appearances) would otherwise collide.
    sa.Column("entry_key", sa.String(200), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),  # order on the page
    sa.Column("entry_no", sa.String(16)),
    sa.Column("file_date", sa.Date),
    sa.Column("filed_by", sa.String(8)),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("add_desc", sa.Text),
    sa.Column("result", sa.Text),
    sa.Column("notes", sa.Text),
    sa.Column("arguable", sa.String(8)),
    sa.Column("document_no", sa.String(24)),
    *_seen_columns(),
    sa.Column("removed_at", TS),
)

court_dates = sa.Table(
    "court_dates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "docket_no",
        sa.String(16),
        sa.ForeignKey("cases.docket_no", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("date_key", sa.String(200), nullable=False),  # date|time|description
    sa.Column("court_date", sa.Date, index=True),
    sa.Column("court_time", sa.String(16)),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("status", sa.String(64)),
    *_seen_columns(),
    sa.Column("removed_at", TS),
    sa.UniqueConstraint("docket_no", "date_key"),
)

case_changes = sa.Table(
    "case_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "docket_no",
        sa.String(16),
        sa.ForeignKey("cases.docket_no", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # new_case | disposition | docket_entry_added | law_day | sale_date |
    # party_added | party_removed | no_longer_listed | relisted | judgment |
    # phones_found | ...
    sa.Column("kind", sa.String(32), nullable=False, index=True),
    sa.Column("field", sa.String(64)),
    sa.Column("old_value", JSON),
    sa.Column("new_value", JSON),
    sa.Column("seen_at", TS, nullable=False, index=True),
    sa.Column("crawl_id", sa.Integer, sa.ForeignKey("crawl_runs.id")),
    # The writing transaction's id on PostgreSQL (its default there is
    # pg_current_xact_id(), migration 0019); 0 on SQLite and for older rows. The
    # change feed orders by (txid, id): ctforeclosure.store.feed.
    sa.Column("txid", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("ix_case_changes_txid_id", "txid", "id"),
)

#: One row per sale posting on the pending-sales site (migration 0014;
#: ctforeclosure.store.sales). The posting id is the site's key; a re-noticed sale
#: may get a new one, so its history is tracked per docket in case_changes.
sales = sa.Table(
    "sales",
    metadata,
    sa.Column("posting_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column(
        "docket_no",
        sa.String(16),
        sa.ForeignKey("cases.docket_no", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("town", sa.String(64), nullable=False, index=True),  # canonical
    sa.Column("county", sa.String(32), index=True),
    sa.Column("sale_at", TS),  # America/New_York on the site; stored aware
    sa.Column("sale_date", sa.Date, index=True),  # the local date of sale_at
    sa.Column("sale_time", sa.String(16)),  # "12:00PM", as printed
    sa.Column("sale_type", sa.String(120)),  # "PUBLIC AUCTION FORECLOSURE SALE"
    sa.Column("property_type", sa.String(120)),  # "Residential Condominium"
    sa.Column("heading", sa.Text),
    sa.Column("address_raw", sa.Text),
    sa.Column("address_street", sa.Text),
    sa.Column("address_unit", sa.Text),
    sa.Column("address_town", sa.String(64)),
    sa.Column("address_zip", sa.String(10)),
    sa.Column("inspection", sa.Text),
    sa.Column("notice_from", sa.Date),
    sa.Column("notice_thru", sa.Date),
    sa.Column("deposit", sa.Numeric(14, 2)),
    # A court-appointed official's published business contact.
    sa.Column("committee_name", sa.Text),
    sa.Column("committee_address", sa.Text),
    sa.Column("committee_phone", sa.String(40)),
    sa.Column("committee_email", sa.String(254)),
    sa.Column("status", sa.String(16), nullable=False),  # scheduled | cancelled
    sa.Column("cancel_reason", sa.Text),
    sa.Column("body", sa.Text),
    sa.Column("photo_url", sa.Text),
    sa.Column("listing_hash", sa.String(40)),
    sa.Column("notice_fetched_at", TS),
    sa.Column("flags", JSON, nullable=False, default=list),
    sa.Column("listed", sa.Boolean, nullable=False, default=True),
    sa.Column("unlisted_at", TS),
    *_seen_columns(),
    sa.Column("last_changed", TS, nullable=False),
    sa.Column("last_crawl_id", sa.Integer, sa.ForeignKey("crawl_runs.id")),
)

skiptrace_results = sa.Table(
    "skiptrace_results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "party_id",
        sa.Integer,
        sa.ForeignKey("parties.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # hash of the normalised person name + property address: the dedupe key
    sa.Column("person_key", sa.String(64), nullable=False, index=True),
    # matched | no_match | unknown_reconcile | error | review (address unusable)
    sa.Column("status", sa.String(24), nullable=False, index=True),
    sa.Column("persons", JSON, nullable=False, default=list),
    sa.Column("mailing_address", JSON),
    sa.Column("provider_request_id", sa.String(64)),
    sa.Column("sandbox", sa.Boolean, nullable=False),
    sa.Column("ledger_id", sa.Integer, sa.ForeignKey("skiptrace_ledger.id")),
    sa.Column("fetched_at", TS, nullable=False),
    sa.Column("expires_at", TS, index=True),
)

skiptrace_phones = sa.Table(
    "skiptrace_phones",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "result_id",
        sa.Integer,
        sa.ForeignKey("skiptrace_results.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("number", sa.String(20), nullable=False),  # E.164 "+18605550123"
    sa.Column("type", sa.String(24)),  # Mobile | Land Line
    sa.Column("carrier", sa.String(120)),
    sa.Column("dnc", sa.Boolean),
    sa.Column("tcpa", sa.Boolean),
    sa.Column("score", sa.Integer),
    sa.Column("rank", sa.Integer),
)

skiptrace_emails = sa.Table(
    "skiptrace_emails",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "result_id",
        sa.Integer,
        sa.ForeignKey("skiptrace_results.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("rank", sa.Integer),
)

skiptrace_ledger = sa.Table(
    "skiptrace_ledger",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", TS, nullable=False, index=True),
    sa.Column(
        "triggered_by", sa.String(120), nullable=False
    ),  # "crawl:12", "cli", user
    sa.Column("records_sent", sa.Integer, nullable=False),
    sa.Column("records_matched", sa.Integer, nullable=False),
    sa.Column("cost", sa.Numeric(12, 4), nullable=False),
    sa.Column("sandbox", sa.Boolean, nullable=False),
    sa.Column("provider_request_id", sa.String(64)),
    sa.Column(
        "status", sa.String(24), nullable=False
    ),  # ok | unknown_reconcile | error
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # admin | manager | viewer
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("last_login_at", TS),
    # Raised by sign-out, a password reset, a role change and disabling (migration
    # 0012): a session cookie holding an older number no longer signs anyone in.
    sa.Column("session_version", sa.Integer, nullable=False, server_default="0"),
    # The second factor (migration 0016; services/second_factor.py): the TOTP
    # secret, Fernet-encrypted; when enrolment was confirmed (NULL: not enrolled);
    # the 30-second step of the last code accepted (a code works once).
    sa.Column("totp_secret", sa.String(255)),
    sa.Column("totp_enabled_at", TS),
    sa.Column("totp_last_step", sa.BigInteger),
)


def _user_id_column() -> sa.Column:
    """Return the column naming the user a row belongs to (deleted with them)."""
    return sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


# Single-use links (migration 0016; services/account_links.py): a password reset by
# email or an invitation. Only the SHA-256 of the link's secret is kept.
account_links = sa.Table(
    "account_links",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _user_id_column(),
    sa.Column("purpose", sa.String(16), nullable=False),  # "reset" | "invite"
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("used_at", TS),
)

# Ten one-time recovery codes per enrolled user, SHA-256 hashed (migration 0016).
recovery_codes = sa.Table(
    "recovery_codes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _user_id_column(),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("used_at", TS),
)

# Settings the admins change in the web UI (migration 0016): "require_2fa_managers".
account_settings = sa.Table(
    "account_settings",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("updated_by", sa.String(254), nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("last_used_at", TS),
    sa.Column("revoked_at", TS),
    # comma-separated, e.g. "read,contacts" (migration 0013; services/tokens.py)
    sa.Column("scopes", sa.String(200), nullable=False, server_default="read"),
)

# One row per API request (migration 0013): what a token was used for, and what
# its rate limit counts. The route is the template, never the path's values or the
# query (they hold names); rows older than 30 days are pruned.
api_token_uses = sa.Table(
    "api_token_uses",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    ),
    sa.Column(
        "token_id",
        sa.Integer,
        sa.ForeignKey("api_tokens.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("at", TS, nullable=False, index=True),
    sa.Column("method", sa.String(8), nullable=False),  # "GET"
    sa.Column("route", sa.String(200), nullable=False),  # "/api/v1/cases/<docket_no>"
    sa.Column("status", sa.SmallInteger, nullable=False),  # 200
    sa.Index("ix_api_token_uses_token_id_at", "token_id", "at"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", TS, nullable=False, index=True),
    sa.Column("actor", sa.String(254), nullable=False),  # user email, "cli", "crawl:12"
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("target", sa.String(200)),
    sa.Column("details", JSON),
)


# The outreach workspace (migration 0015): a lead per case with its status,
# assignee, tags and follow-up date; notes; and the do-not-contact list. Kept apart
# from the crawl tables, so a re-crawl or a re-trace never touches them.


def _case_key(**kwargs) -> sa.Column:
    """The ``docket_no`` column of an outreach table: its case's, deleted with it."""
    return sa.Column(
        "docket_no",
        sa.String(16),
        sa.ForeignKey("cases.docket_no", ondelete="CASCADE"),
        **kwargs,
    )


# Saved searches (migration 0017; issue 18): a cases-list or sales-list filter
# kept under a name. ``query`` holds the list's query arguments as given; they are
# validated again on every use, so a filter that no longer reads is reported.
saved_searches = sa.Table(
    "saved_searches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "owner_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("list", sa.String(8), nullable=False),  # "cases" | "sales"
    sa.Column("query", JSON, nullable=False),
    sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("last_opened_at", TS),
    sa.UniqueConstraint("owner_id", "name"),
    sa.CheckConstraint("list IN ('cases', 'sales')", name="list"),
)


# Calendar feeds (migration 0020; issue 18 part 5): a user's secret iCalendar
# address of the upcoming law days and sales of a saved search (none: all cases).
# Only the secret's SHA-256 digest is kept (ctforeclosure.services.calendar_feeds).
calendar_feeds = sa.Table(
    "calendar_feeds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column(
        "saved_search_id",
        sa.Integer,
        sa.ForeignKey("saved_searches.id", ondelete="CASCADE"),
    ),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("revoked_at", TS),
    sa.Column("last_fetched_at", TS),
)


def _cascading(name: str, table: str, **kwargs) -> sa.Column:
    """A required reference to ``table``'s id, deleted with the row it names."""
    return sa.Column(
        name,
        sa.Integer,
        sa.ForeignKey(f"{table}.id", ondelete="CASCADE"),
        nullable=False,
        **kwargs,
    )


# Subscriptions on saved searches (migration 0021; issue 18 parts 2, 3, 6): which
# events a user wants of a saved search, by email (immediately or a daily digest at
# digest_hour, America/New_York) and/or a signed webhook. The webhook's URL and
# secret are Fernet-encrypted (ctforeclosure.services.subscriptions).
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _cascading("user_id", "users", index=True),
    _cascading("saved_search_id", "saved_searches", index=True),
    sa.Column("events", JSON, nullable=False),  # ["new_case", "sale_moved", ...]
    sa.Column("email_mode", sa.String(9), nullable=False, server_default="off"),
    sa.Column("digest_hour", sa.SmallInteger),  # 0-23 America/New_York, digest only
    sa.Column("webhook_url", sa.Text),  # encrypted; None: no webhook
    sa.Column("webhook_secret", sa.Text),  # encrypted
    sa.Column("include_caption", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.CheckConstraint(
        "email_mode IN ('off', 'immediate', 'digest')", name="email_mode"
    ),
    sa.CheckConstraint(
        "(email_mode = 'digest') = (digest_hour IS NOT NULL)"
        " AND (digest_hour IS NULL OR digest_hour BETWEEN 0 AND 23)",
        name="digest_hour",
    ),
)

#: One delivery per (subscription, change, channel), made once by the matcher and
#: sent (retried with backoff) by the sender (ctforeclosure.services.notify). Every
#: attempt carries the row's delivery_id, so a resend after a crash between sending
#: and recording is recognisable.
notification_outbox = sa.Table(
    "notification_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _cascading("subscription_id", "subscriptions"),
    _cascading("change_id", "case_changes", index=True),
    sa.Column("channel", sa.String(8), nullable=False),  # email | webhook
    sa.Column("delivery_id", sa.String(36), nullable=False, unique=True),  # a uuid4
    sa.Column("status", sa.String(8), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", TS, nullable=False),
    sa.Column("last_error", sa.Text),  # no personal data
    sa.Column("created_at", TS, nullable=False),
    sa.Column("sent_at", TS),
    sa.UniqueConstraint("subscription_id", "change_id", "channel"),
    sa.CheckConstraint("channel IN ('email', 'webhook')", name="channel"),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
    sa.Index("ix_notification_outbox_due", "status", "next_attempt_at"),
)

#: The in-app bell: one row per (subscription, change), read or not.
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _cascading("user_id", "users"),
    _cascading("subscription_id", "subscriptions"),
    _cascading("change_id", "case_changes", index=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("read_at", TS),
    sa.UniqueConstraint("subscription_id", "change_id"),
    sa.Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
)

#: Where the notify matcher stopped: the change feed's cursor (store.feed.Cursor).
notify_state = sa.Table(
    "notify_state",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("cursor", sa.Text, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

lead_statuses = sa.Table(
    "lead_statuses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40), nullable=False, unique=True),  # "Contacting"
    sa.Column("position", sa.Integer, nullable=False),  # the order shown
    # Won, Lost, Not a lead: no longer worked (My work leaves them out)
    sa.Column("closed", sa.Boolean, nullable=False, default=False),
)

leads = sa.Table(
    "leads",
    metadata,
    _case_key(primary_key=True),
    sa.Column(
        "status_id", sa.Integer, sa.ForeignKey("lead_statuses.id"), nullable=False
    ),
    sa.Column(
        "assignee_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="SET NULL"),
        index=True,
    ),
    sa.Column("follow_up", sa.Date, index=True),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("updated_by", sa.String(254), nullable=False),
    sa.Index("ix_leads_status_id_docket_no", "status_id", "docket_no"),
)

lead_tags = sa.Table(
    "lead_tags",
    metadata,
    _case_key(primary_key=True),
    sa.Column("tag", sa.String(40), primary_key=True, index=True),  # "hot-list"
)

notes = sa.Table(
    "notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _case_key(nullable=False, index=True),
    sa.Column("party_id", sa.Integer, sa.ForeignKey("parties.id", ondelete="SET NULL")),
    sa.Column("author", sa.String(254), nullable=False),  # the user's email
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("edited_at", TS),
)

#: The internal do-not-contact list. It keeps no contact data of its own: a keyed
#: hash (HMAC-SHA256, key CTF_SUPPRESSION_KEY) of the E.164 number, the lower-cased
#: email or the skip trace's person key, and the last 4 characters to recognise it
#: by. ``purge`` never removes a row; an admin's removal is kept (who, when, why).
suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),  # phone | email | person
    sa.Column("value_hash", sa.String(64), nullable=False),
    sa.Column("last4", sa.String(4)),  # "0123"; none for a person
    sa.Column("reason", sa.String(32), nullable=False),  # "wrong_number"
    # a person at a property: the case and party it was added from
    sa.Column("docket_no", sa.String(16)),
    sa.Column("party_no", sa.String(8)),
    sa.Column("added_by", sa.String(254), nullable=False),
    sa.Column("added_at", TS, nullable=False),
    sa.Column("removed_at", TS),
    sa.Column("removed_by", sa.String(254)),
    sa.Column("removal_reason", sa.String(200)),
)
# One active entry per value (a removed one may be added again).
_ACTIVE = suppressions.c.removed_at.is_(None)
sa.Index(
    "uq_suppressions_value_hash_active",
    suppressions.c.value_hash,
    unique=True,
    sqlite_where=_ACTIVE,
    postgresql_where=_ACTIVE,
)


# The web UI's shared state, in the database so that every worker process of
# ``ctforeclosure web`` sees the same: failed sign-ins (throttling, migration 0012)
# and background jobs' progress (skip traces, migration 0006).
login_failures = sa.Table(
    "login_failures",
    metadata,
    # HMAC-SHA256 (hex) of what is counted, keyed with the app's secret key: an
    # (account, address) pair, an address or an account; never the typed text.
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_at", TS, nullable=False, index=True),
)

web_jobs = sa.Table(
    "web_jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("owner", sa.String(254), nullable=False),
    sa.Column("started_at", TS, nullable=False, index=True),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # running | finished | failed
    sa.Column("done", sa.Integer, nullable=False, default=0),
    sa.Column("total", sa.Integer, nullable=False, default=0),
    sa.Column("lines", JSON),
    sa.Column("error", sa.Text),
)


# Indexes for the web UI's lists and searches (migrations 0003-0005, 0010, 0011).
# Trigram GIN indexes make LIKE '%text%' searches fast on PostgreSQL (pg_trgm); on
# SQLite they are plain indexes.
_TRIGRAM = {"postgresql_using": "gin"}
# Lists in the order shown (migration 0004): newest first, undated last, then docket.
# SQLite has no NULLS LAST in an index; its NULLs sort lowest, so the migration
# creates them there as plain DESC (same order) and create_all skips them.
# On PostgreSQL they include the status and judgment type, so that a list's count
# reads only the index (migration 0010).
_NEWEST = cases.c.file_date.desc().nulls_last()
_COUNTED = {"postgresql_include": ["is_active", "judgment_type"]}
sa.Index(
    "ix_cases_search_town_newest",
    cases.c.search_town,
    _NEWEST,
    cases.c.docket_no,
    **_COUNTED,
).ddl_if(dialect="postgresql")
sa.Index(
    "ix_cases_county_newest", cases.c.county, _NEWEST, cases.c.docket_no, **_COUNTED
).ddl_if(dialect="postgresql")
sa.Index("ix_cases_newest", _NEWEST, cases.c.docket_no, **_COUNTED).ddl_if(
    dialect="postgresql"
)
sa.Index("ix_cases_law_day_docket_no", cases.c.law_day, cases.c.docket_no)
# Cases with phones in the order shown (migration 0005): partial, so small.
sa.Index(
    "ix_cases_phones_town_newest",
    cases.c.search_town,
    _NEWEST,
    cases.c.docket_no,
    postgresql_where=cases.c.has_phones,
).ddl_if(dialect="postgresql")
sa.Index(
    "ix_cases_phones_newest",
    _NEWEST,
    cases.c.docket_no,
    postgresql_where=cases.c.has_phones,
).ddl_if(dialect="postgresql")
# The web UI's text search (migration 0011): one trigram index over each case's
# search text, matched with LIKE on upper-cased text (ILIKE is slower).
sa.Index(
    "ix_cases_search_text_trgm",
    cases.c.search_text,
    postgresql_ops={"search_text": "gin_trgm_ops"},
    **_TRIGRAM,
)
# The API's defendant search.
sa.Index(
    "ix_parties_name_trgm",
    parties.c.name,
    postgresql_ops={"name": "gin_trgm_ops"},
    **_TRIGRAM,
)


def _uuid_text() -> str:
    return str(uuid.uuid4())


def make_engine(url: str, **kwargs) -> sa.Engine:
    """Create an engine; on SQLite make the folder, turn on WAL and foreign keys."""
    engine_url = sa.make_url(url)
    if engine_url.get_backend_name() == "sqlite":
        database = engine_url.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = sa.create_engine(engine_url, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # PostgreSQL's name, so that one statement makes ids on both databases
            dbapi_conn.create_function("gen_random_uuid", 0, _uuid_text)

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs["connect_args"] = _postgres_timeouts() | kwargs.get("connect_args", {})
    return sa.create_engine(engine_url, **kwargs)


def _postgres_timeouts() -> dict[str, int]:
    """libpq's settings that make a silent server an error within
    :func:`config.db_timeout_seconds`: the connection attempt, data left
    unacknowledged (``tcp_user_timeout``, ms), and keepalives for idle connections."""
    seconds = config.db_timeout_seconds()
    return {
        "connect_timeout": max(2, math.ceil(seconds)),
        "tcp_user_timeout": math.ceil(seconds * 1000),
        "keepalives": 1,
        "keepalives_idle": max(1, math.ceil(seconds / 3)),
        "keepalives_interval": max(1, math.ceil(seconds / 6)),
        "keepalives_count": 3,
    }
