"""Crafted cases for storage and pipeline tests (fake names and addresses only)."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.items import (
    Appearance,
    CaseItem,
    CourtDateItem,
    DocketEntryItem,
    PartyItem,
)

FETCHED_AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def make_case(docket_no: str = "HHDCV246000001S", detail: bool = True, **overrides):
    """Return a Hartford foreclosure case with 3 parties, 3 entries and a court date."""
    case = CaseItem(
        docket_no=docket_no,
        search_town="Hartford",
        county="Hartford",
        listing_town="HARTFORD",
        listing_street="12 Example Ave.\nUnit 3",
        listing_zip="06105",
        case_name="EXAMPLE BANK, N.A. v. DOE, JANE",
        property_type="Residential",
        listing_disposition=None,
        paperless=True,
    )
    if detail:
        case.detail_fetched = True
        case.detail_fetched_at = FETCHED_AT
        case.caption = "EXAMPLE BANK, N.A. v. DOE, JANE Et Al"
        case.case_type_code = "P00"
        case.case_type = "Property - Foreclosure"
        case.file_date = date(2024, 3, 1)
        case.return_date = date(2024, 4, 2)
        case.court_location = "HARTFORD JD"
        case.property_address_raw = "12 Example Ave., Unit 3, Hartford, CT 06105"
        case.property_street = "12 Example Ave."
        case.property_unit = "Unit 3"
        case.property_town = "Hartford"
        case.property_state = "CT"
        case.property_zip = "06105"
        case.is_active = True
        case.parties = [
            PartyItem(
                party_no="P-01",
                role="P",
                name="EXAMPLE BANK, N.A.",
                category="Plaintiff ",
                appearances=[
                    Appearance(
                        attorney="SAMPLE LAW LLC",
                        juris_no="400001",
                        file_date=date(2024, 3, 1),
                        efiled=True,
                    )
                ],
            ),
            PartyItem(
                party_no="D-01", role="D", name="JANE Q DOE", category="Defendant"
            ),
            PartyItem(
                party_no="D-02",
                role="D",
                name="JOHN R DOE",
                category="Defendant",
                non_appearing=True,
            ),
        ]
        case.docket_entries = [
            DocketEntryItem(
                file_date=date(2024, 3, 1), filed_by="P", description="SUMMONS"
            ),
            DocketEntryItem(
                file_date=date(2024, 3, 1), filed_by="P", description="COMPLAINT"
            ),
            DocketEntryItem(
                entry_no="100.30",
                file_date=date(2024, 3, 20),
                filed_by="P",
                description="RETURN OF SERVICE",
            ),
        ]
        case.court_dates = [
            CourtDateItem(
                court_date=date(2026, 12, 1),
                court_time="9:00AM",
                description="Remote Mediation",
                status="Proceeding",
            )
        ]
    for name, value in overrides.items():
        setattr(case, name, value)
    return case


def clone(case: CaseItem) -> CaseItem:
    return copy.deepcopy(case)


#: Columns that say when, not what: they move on every crawl.
TIME_COLUMNS = {
    "first_seen",
    "last_seen",
    "last_changed",
    "detail_fetched_at",
    "removed_at",
    "no_longer_listed_at",
    "notice_fetched_at",
    "unlisted_at",
    "seen_at",
    "last_crawl_id",
    "crawl_id",
}


def snapshot(engine: sa.Engine, with_times: bool = False) -> dict[str, list[tuple]]:
    """Return every crawl-data table's rows (without time columns), sorted."""
    out = {}
    with engine.connect() as conn:
        for table in (
            db.cases,
            db.parties,
            db.docket_entries,
            db.court_dates,
            db.case_changes,
            db.sales,
        ):
            # ids and the writing transaction's id (case_changes.txid) are
            # bookkeeping: two databases given the same items differ in them
            left_out = TIME_COLUMNS | {"id", "txid"}
            cols = [c for c in table.c if with_times or c.name not in left_out]
            rows = conn.execute(sa.select(*cols)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def changes(engine: sa.Engine) -> list[tuple]:
    """Return (docket, kind, field, old, new) of every recorded change, in order."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                db.case_changes.c.docket_no,
                db.case_changes.c.kind,
                db.case_changes.c.field,
                db.case_changes.c.old_value,
                db.case_changes.c.new_value,
            ).order_by(db.case_changes.c.id)
        ).all()
    return [tuple(r) for r in rows]
