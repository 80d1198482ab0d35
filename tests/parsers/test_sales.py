"""The pending-sales parsers on the scrubbed Fairfield capture and the §5 markups."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ctforeclosure.parsers import sales as p

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sales"
NY = ZoneInfo("America/New_York")


def _read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_parse_town_sales_reads_the_fairfield_capture_exactly():
    page = p.parse_town_sales(_read("town_details__fairfield_2026-08-10.html"))
    assert page.town == "Fairfield"
    assert page.pager is False
    got = [
        (r.posting_id, r.docket_no, r.sale_at, r.sale_type, r.property_type)
        for r in page.rows
    ]
    assert got == [
        (
            61252,
            "FBTCV256151688S",
            datetime(2026, 8, 15, 12, 0, tzinfo=NY),
            "PUBLIC AUCTION FORECLOSURE SALE",
            "Residential",
        ),
        (
            61304,
            "FBTCV246133765S",
            datetime(2026, 8, 15, 12, 0, tzinfo=NY),
            "PUBLIC AUCTION FORECLOSURE SALE",
            "Residential",
        ),
        (
            61355,
            "FBTCV256152305S",
            datetime(2026, 8, 29, 12, 0, tzinfo=NY),
            "PUBLIC AUCTION Judgment Of Partition By Sale",
            "Residential Condominium",
        ),
    ]
    assert [r.address_raw for r in page.rows] == [
        "157 Dan Bentavnomp Road Fairfield CT",
        "434 Haslekso Road, Fairfield, CT 06824",
        "506 Melpraton Lekno Road, Fairfield CT",
    ]
    assert {r.status for r in page.rows} == {"scheduled"}


@pytest.mark.parametrize(
    ("raw", "street", "zip_code"),
    [
        ("157 Dan Bentavnomp Road Fairfield CT", "157 Dan Bentavnomp Road", None),
        ("434 Haslekso Road, Fairfield, CT 06824", "434 Haslekso Road", "06824"),
        ("506 Melpraton Lekno Road, Fairfield CT", "506 Melpraton Lekno Road", None),
    ],
)
def test_split_sale_address_splits_every_captured_spelling(raw, street, zip_code):
    parts = p.split_sale_address(raw, "Fairfield")
    assert (parts["street"], parts["town"], parts["zip"]) == (
        street,
        "Fairfield",
        zip_code,
    )
    assert parts["flags"] == []


def test_split_sale_address_flags_what_it_cannot_split_and_keeps_it():
    parts = p.split_sale_address("See Clerk's Note", "Fairfield")
    assert parts["street"] is None
    assert parts["flags"] == ["address_unparsed"]


def test_parse_town_sales_reads_a_cancelled_row_with_ids_without_ctl00():
    html = _read("town_details__fairfield_2026-08-10.html")
    html = html.replace("ctl00_cphBody_", "cphBody_").replace(
        "Fairfield CT</span>",
        "Fairfield CT <br> CANCELLED - JUDGMENT OPENED AND VACATED</span>",
        1,
    )
    rows = p.parse_town_sales(html).rows
    assert (rows[0].status, rows[0].cancel_reason) == (
        "cancelled",
        "CANCELLED - JUDGMENT OPENED AND VACATED",
    )
    assert rows[0].address_raw == "157 Dan Bentavnomp Road Fairfield CT"
    assert [r.status for r in rows[1:]] == ["scheduled", "scheduled"]


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><p>Service unavailable</p></body></html>",
        "",
        '<table id="cphBody_GridView1"><tr><th>Town</th></tr></table>',
    ],
)
def test_parse_town_sales_raises_layout_changed_never_no_sales(html):
    with pytest.raises(p.LayoutChanged):
        p.parse_town_sales(html)


@pytest.mark.parametrize(
    ("fixture", "milford"),
    [("town_index__panel.html", None), ("town_index__grid.html", 2)],
)
def test_parse_town_index_reads_both_markups(fixture, milford):
    towns = p.parse_town_index(_read(fixture))
    counts = {t.name: t.count for t in towns}
    assert counts["Avon"] == 1
    assert counts["New Haven"] == 12
    assert counts.get("Milford") == milford  # markup (b): "Milford   " stripped


def test_parse_town_index_raises_layout_changed_on_another_page():
    with pytest.raises(p.LayoutChanged):
        p.parse_town_index("<html><body><h1>Maintenance</h1></body></html>")


def test_parse_notice_reads_deposit_committee_and_dates():
    notice = p.parse_notice(_read("notice__61252.html"))
    assert notice["docket_no"] == "FBTCV256151688S"
    assert notice["sale_at"] == datetime(2026, 8, 15, 12, 0, tzinfo=NY)
    assert notice["deposit"] == Decimal("53000.00")
    assert (notice["notice_from"], notice["notice_thru"]) == (
        date(2026, 7, 25),
        date(2026, 8, 15),
    )
    assert notice["committee_name"] == "Attorney Example Committee"
    assert notice["committee_address"] == "100 Sample Street, Bridgeport, CT 06604"
    assert notice["committee_phone"] == "(203) 555-0147"
    assert notice["committee_email"] == "committee@example.org"
    assert notice["status"] == "scheduled"
    assert notice["photo_url"] == "../Photos/61252.jpg"
    assert notice["inspection"].startswith("Open house")


def test_parse_notice_reads_a_cancelled_glued_notice_without_deposit():
    html = (
        _read("notice__61252.html")
        .replace("cphBody_", "ctl00_cphBody_")
        .replace(
            '"ctl00_cphBody_lblSaleDate">Aug 15, 2026',
            '"ctl00_cphBody_lblSaleDate">08/15/202612:00PM',
        )
        .replace('<span id="ctl00_cphBody_lblSaleTime">12:00PM</span>', "")
        .replace("in the amount of $53,000.00", "in an amount set by the court")
        .replace('lblStatus"></span>', 'lblStatus">This Sale is Cancelled.</span>')
    )
    notice = p.parse_notice(html)
    assert notice["sale_at"] == datetime(2026, 8, 15, 12, 0, tzinfo=NY)
    assert notice["deposit"] is None
    assert notice["status"] == "cancelled"


def test_parse_notice_raises_layout_changed_without_its_ids():
    with pytest.raises(p.LayoutChanged):
        p.parse_notice("<html><body>Error</body></html>")


def test_parse_town_sales_reports_a_pager_and_keeps_page_one():
    """A pager's markup on this site is unknown: a GridView pager row is reported."""
    html = _read("town_details__fairfield_2026-08-10.html").replace(
        "</table>",
        '<tr><td colspan="5"><a href="javascript:__doPostBack('
        "'ctl00$cphBody$GridView1','Page$2')\">2</a></td></tr></table>",
        1,
    )
    page = p.parse_town_sales(html)
    assert page.pager is True
    assert len(page.rows) == 3
