"""The dashboard: what is in the database and what needs attention soon."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user

from ctforeclosure.db import cases, crawl_runs, skiptrace_ledger
from ctforeclosure.parsers.court_clock import court_today
from ctforeclosure.services import saved_searches
from ctforeclosure.store.sales import effective_sale_date
from webui import saved_queries
from webui.db import get_conn

bp = Blueprint("dashboard", __name__)


def month_spend(conn: sa.Connection, today: date) -> dict:
    """Return this month's skip-trace spend, real and sandbox, and records sent."""
    start = datetime(today.year, today.month, 1, tzinfo=UTC)
    rows = conn.execute(
        sa.select(
            skiptrace_ledger.c.sandbox,
            sa.func.coalesce(sa.func.sum(skiptrace_ledger.c.cost), 0),
            sa.func.coalesce(sa.func.sum(skiptrace_ledger.c.records_sent), 0),
        )
        .where(skiptrace_ledger.c.at >= start)
        .group_by(skiptrace_ledger.c.sandbox)
    ).all()
    out = {"cost": 0, "records": 0, "sandbox_cost": 0, "sandbox_records": 0}
    for sandbox, cost, records in rows:
        prefix = "sandbox_" if sandbox else ""
        out[prefix + "cost"] = cost
        out[prefix + "records"] = records
    return out


#: The columns of the upcoming law days' and sales' lists.
UPCOMING_COLUMNS = (
    cases.c.docket_no,
    cases.c.search_town,
    cases.c.case_name,
    cases.c.law_day,
    cases.c.sale_date,
    # The notice's sale date when the sales spider has one, else the docket's.
    effective_sale_date().label("effective_sale_date"),
)


@bp.get("/")
def index():
    """Show counts, new cases, upcoming law days and sales, crawls and spend."""
    conn = get_conn()
    today = court_today()
    by_county = _cases_by_county(conn)
    top_towns = _top_towns(conn)
    new_counts = {
        days: _filed_since(conn, today - timedelta(days=days)) for days in (7, 30)
    }
    soon = today + timedelta(days=30)
    law_days = _upcoming(conn, cases.c.law_day, today, soon)
    sales = _upcoming(conn, effective_sale_date(), today, soon)
    crawls = conn.execute(
        sa.select(crawl_runs).order_by(crawl_runs.c.id.desc()).limit(8)
    ).all()
    return render_template(
        "dashboard/index.html",
        by_county=by_county,
        top_towns=top_towns,
        total=sum(r.total for r in by_county),
        new_counts=new_counts,
        law_days=law_days,
        sales=sales,
        crawls=crawls,
        spend=month_spend(conn, today),
        watched=_watched(conn),
    )


def _watched(conn: sa.Connection) -> list:
    """Return the user's saved searches, each with how many of its cases are new
    since the user last opened it (None: its filter no longer reads)."""
    return [
        (search, saved_queries.new_since_opened(conn, search, current_user.email))
        for search in saved_searches.owned(conn, current_user.id)
    ]


def _cases_by_county(conn: sa.Connection) -> list:
    """Return each county's cases and active cases, the busiest first."""
    return conn.execute(
        sa.select(
            cases.c.county,
            sa.func.count().label("total"),
            sa.func.count().filter(cases.c.is_active.is_(True)).label("active"),
        )
        .group_by(cases.c.county)
        .order_by(sa.text("total DESC"), cases.c.county)
    ).all()


def _top_towns(conn: sa.Connection) -> list:
    """Return the 12 towns with the most cases."""
    return conn.execute(
        sa.select(cases.c.search_town, sa.func.count().label("total"))
        .group_by(cases.c.search_town)
        .order_by(sa.text("total DESC"), cases.c.search_town)
        .limit(12)
    ).all()


def _filed_since(conn: sa.Connection, since: date) -> int:
    """Return how many cases were filed on or after ``since``."""
    return conn.execute(
        sa.select(sa.func.count()).select_from(cases).where(cases.c.file_date >= since)
    ).scalar_one()


def _upcoming(conn: sa.Connection, day, today: date, soon: date) -> list:
    """Return the first 10 cases whose ``day`` (law day, sale) falls in the range."""
    return conn.execute(
        sa.select(*UPCOMING_COLUMNS)
        .where(day.between(today, soon))
        .order_by(day)
        .limit(10)
    ).all()
