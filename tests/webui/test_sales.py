"""The sales page, a case's sale notices, the dashboard, sales exports and the sales
API, over sales stored by the sales store (SQLite, then PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.items import SaleItem
from ctforeclosure.store.sales import upsert_sales
from tests.webui.conftest import api_token

NY = ZoneInfo("America/New_York")
DOCKET = "HHDCV226160660S"  # a seeded Hartford case
NEW_DOCKET = "HHDCV256999001S"  # not stored: the sale creates it


def _when(days: int) -> datetime:
    day = datetime.now(NY).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=NY)


def _sale(posting_id, docket, days, **extra) -> SaleItem:
    at = _when(days)
    return SaleItem(
        posting_id=posting_id,
        docket_no=docket,
        town="Hartford",
        county="Hartford",
        sale_at=at,
        sale_date=at.date(),
        sale_time="12:00PM",
        sale_type="PUBLIC AUCTION FORECLOSURE SALE",
        property_type=extra.pop("property_type", "Residential"),
        address_raw=extra.pop("address_raw", "12 Elm Street, Hartford, CT 06106"),
        notice_fetched=True,
        deposit=Decimal("25000.00"),
        committee_name="Attorney Example Committee",
        body="A deposit by certified check in the amount of $25,000.00.",
        **extra,
    )


def _store(app, items) -> None:
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        upsert_sales(conn, items, now=datetime.now(UTC))


@pytest.fixture
def sales_app(app):
    _store(
        app,
        [
            _sale(61001, DOCKET, 40),
            _sale(
                61002,
                NEW_DOCKET,
                0,  # today: this week, and within the dashboard's 30 days
                property_type="Commercial",
                address_raw="=HYPERLINK(1) Main Street, Hartford, CT",
            ),
        ],
    )
    # The first sale moves two weeks later: one change, told as a sentence.
    _store(app, [_sale(61001, DOCKET, 54)])
    return app


def _client(app, role="viewer"):
    from tests.webui.conftest import login

    client = app.test_client()
    assert login(client, role).status_code == 302
    return client


def _sales_page_lists_sales_by_week_with_links(sales_app):
    page = _client(sales_app).get("/sales/").get_data(as_text=True)
    assert 'id="nav-sales"' in page
    assert "This week" in page and "Later" in page
    assert page.index("61002") < page.index("61001")  # soonest first
    assert f'href="/cases/{NEW_DOCKET}"' in page
    assert 'href="/sales/61001"' in page


def _sales_page_filters_and_refuses_a_bad_filter_naming_it(sales_app):
    client = _client(sales_app)
    page = client.get("/sales/?property_type=commercial").get_data(as_text=True)
    assert "61002" in page and "61001" not in page
    refused = client.get("/sales/?date_from=2026-13-01")
    assert refused.status_code == 400
    assert 'data-parameter="date_from"' in refused.get_data(as_text=True)
    backwards = client.get("/sales/?date_from=2027-02-01&date_to=2027-01-01")
    assert backwards.status_code == 400
    assert 'data-parameter="date_to"' in backwards.get_data(as_text=True)


def _case_page_shows_its_notice_and_the_move(sales_app):
    page = _client(sales_app).get(f"/cases/{DOCKET}").get_data(as_text=True)
    assert 'id="case-sales"' in page
    assert "$25,000.00" in page and "Attorney Example Committee" in page
    old, new = _when(40), _when(54)
    assert f"Sale moved from {old:%m/%d/%Y %I:%M %p} to {new:%m/%d/%Y %I:%M %p}" in page
    effective = page.split('id="effective-sale-date"')[1][:80]
    assert f">{new.date().isoformat()} " in effective and "(sale notice)" in effective


def _dashboard_upcoming_sales_read_the_notice_date(sales_app):
    page = _client(sales_app).get("/").get_data(as_text=True)
    upcoming = page.split("Sales in the next 30 days")[1].split("</section>")[0]
    assert "HHD-CV-25-6999001-S" in upcoming  # a case known only from its notice


def _sales_export_is_formula_safe_and_audited(sales_app):
    response = _client(sales_app, "manager").get("/exports/sales.csv?town=Hartford")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["Posting id"] for r in rows] == ["61002", "61001"]
    assert rows[0]["Property address"].startswith("'=HYPERLINK")
    with sales_app.extensions["ctforeclosure_engine"].connect() as conn:
        audited = conn.execute(
            sa.select(db.audit_log.c.target).where(db.audit_log.c.action == "export")
        ).scalars()
        assert "sales.csv" in list(audited)
    assert _client(sales_app).get("/exports/sales.csv").status_code == 403


def _api_lists_sales_and_one_with_its_history(sales_app):
    token = api_token(sales_app, "viewer", scopes=["read"])
    client = sales_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/sales?county=Hartford", headers=headers).get_json()
    assert [s["posting_id"] for s in listed["sales"]] == [61002, 61001]
    one = client.get("/api/v1/sales/61001", headers=headers).get_json()
    assert one["deposit"] == "25000.00"
    assert [h["kind"] for h in one["history"]] == ["sale_scheduled", "sale_moved"]
    case = client.get(f"/api/v1/cases/{DOCKET}", headers=headers).get_json()
    assert [s["posting_id"] for s in case["sales"]] == [61001]
    bad = client.get("/api/v1/sales?status=held", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "status"
    assert client.get("/api/v1/sales/99", headers=headers).status_code == 404


def test_staff_pages_show_sales(sales_app):
    """One seeded database for the pages (each setup migrates and seeds anew)."""
    _sales_page_lists_sales_by_week_with_links(sales_app)
    _sales_page_filters_and_refuses_a_bad_filter_naming_it(sales_app)
    _case_page_shows_its_notice_and_the_move(sales_app)
    _dashboard_upcoming_sales_read_the_notice_date(sales_app)


def test_sales_leave_by_export_and_api(sales_app):
    _sales_export_is_formula_safe_and_audited(sales_app)
    _api_lists_sales_and_one_with_its_history(sales_app)
