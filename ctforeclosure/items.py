"""The items the spiders yield and the pipelines store.

Field names are the database column names (``ctforeclosure.db``) and the replica's
ground-truth names, so a crawl's feed can be compared with the truth directly.
Dates are ``datetime.date``; the JSON feed writes them as ISO strings. No validation
happens here: that is the validation pipeline's job.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from itemadapter import ItemAdapter


@dataclass(kw_only=True)
class TownItem:
    """One of Connecticut's 169 towns."""

    town: str  # "East Hartford"
    county: str  # "Hartford"
    planning_region: str | None = None  # "Capitol Planning Region"
    source: str = (
        "statelib"  # "statelib" (parsed from the page) or "bundled" (fallback)
    )


@dataclass(kw_only=True)
class Appearance:
    """An attorney's appearance for a party (the site shows no home address)."""

    attorney: str  # "MAKI LAW LLC"
    juris_no: str | None = None  # "437597"
    address: str | None = None  # "467 NAUBUC AVENUE, GLASTONBURY, CT 06033"
    file_date: date | None = None
    efiled: bool = False


@dataclass(kw_only=True)
class PartyItem:
    """A party to a case, as the Parties & Appearances grid lists it."""

    party_no: str  # "D-01"
    role: str  # "D" (the letter as shown: P, D, L or any other)
    name: str  # "JANE Q DOE" (natural order, as shown)
    category: str | None = None  # "Defendant", "For Notice Only or Proposed Intervenor"
    non_appearing: bool = False
    appearances: list[Appearance] = field(default_factory=list)


@dataclass(kw_only=True)
class DocketEntryItem:
    """A row of the Motions / Pleadings / Documents / Case Status grid."""

    entry_no: str | None = None  # "101.00"; None for summons, complaint, appearance
    file_date: date | None = None
    filed_by: str | None = None  # "P", "D", "C"
    description: str  # "MOTION FOR JUDGMENT-STRICT FORECLOSURE"
    add_desc: str | None = None  # "re: Defendants' Service of Form IRP"
    result: str | None = None  # "Granted 11/14/2024 HON JANE ROE"
    notes: str | None = None
    arguable: str | None = None  # "Yes" / "No"
    document_no: str | None = None  # DocumentInquiry.aspx?DocumentNo=23571952


@dataclass(kw_only=True)
class CourtDateItem:
    """A row of the Scheduled Court Dates grid."""

    court_date: date | None = None
    court_time: str | None = None  # "9:00AM"
    description: str  # "Remote Mediation"
    status: str | None = None  # "Proceeding"


@dataclass(kw_only=True)
class CaseItem:
    """One foreclosure case: its search-grid row, and its case page when read.

    ``detail_fetched`` False means only the listing was seen: empty ``parties`` then
    says nothing about the case's parties and must never be stored as "no parties".
    """

    docket_no: str  # compact: "HHDCV226160660S"
    docket_display: str | None = None  # grid form: "HHD-CV-22-6160660-S"
    search_town: str  # canonical town the case was searched under: "Hartford"
    county: str | None = None

    # From the search-results grid.
    listing_town: str | None = None  # as printed: "EAST HARTFORD"
    listing_street: str | None = None  # lines joined with "\n": "1 Russell St.\nUnit 5"
    listing_zip: str | None = None  # dirty: "00000", "06"
    case_name: str | None = None  # "BANK v. DOE, JANE" (each side cut at 50 chars)
    property_type: str | None = None  # "Residential"
    listing_disposition: str | None = None
    paperless: bool | None = None

    # From the case page.
    detail_fetched: bool = False
    detail_fetched_at: datetime | None = None
    caption: str | None = None
    prefix: str | None = None  # "HD2"
    case_type_code: str | None = None  # "P00"
    case_type: str | None = None  # "Property - Foreclosure"
    file_date: date | None = None
    return_date: date | None = None
    court_location: str | None = None  # "HARTFORD JD"
    list_type: str | None = None
    last_action_date: date | None = None
    disposition_date: date | None = None
    disposition: str | None = None
    disposition_judge: str | None = None
    information_updated: date | None = None
    property_address_raw: str | None = (
        None  # "1 Russell St., Unit 5, Middletown, CT 06457"
    )
    property_street: str | None = None
    property_unit: str | None = None
    property_town: str | None = None
    property_state: str | None = None
    property_zip: str | None = None

    parties: list[PartyItem] = field(default_factory=list)
    docket_entries: list[DocketEntryItem] = field(default_factory=list)
    court_dates: list[CourtDateItem] = field(default_factory=list)

    # Derived from the docket entries (ctforeclosure.parsers.derive).
    judgment_type: str | None = None  # "strict", "sale" or None (none yet)
    law_day: date | None = None
    sale_date: date | None = None
    is_active: bool | None = None

    # Data-quality flags ("zip_placeholder", "address_unparsed", "town_mismatch", ...).
    flags: list[str] = field(default_factory=list)


#: The search-grid row's fields: a case page is fetched again only when these
#: changed (or the stored page is old), and the store skips unchanged cases by
#: comparing their hash instead of the rows.
LISTING_FIELDS = (
    "docket_no",
    "listing_town",
    "listing_street",
    "listing_zip",
    "case_name",
    "property_type",
    "listing_disposition",
)


def listing_hash(case: Any) -> str:
    """Return the hash of a case's search-grid row (item, dataclass or mapping)."""
    data = case if isinstance(case, Mapping) else ItemAdapter(case).asdict()
    values = [data.get(name) for name in LISTING_FIELDS]
    text = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass(kw_only=True)
class SaleItem:
    """One posting on the pending foreclosure sales site (docs/SITES.md §5).

    ``notice_fetched`` False means only the town list's row was read: the notice's
    fields (inspection, deposit, committee, body, ...) are then unknown, not empty,
    and the store keeps what an earlier notice said.
    """

    posting_id: int  # 61252
    docket_no: str  # compact: "FBTCV256151688S"
    town: str  # the list's town: "Fairfield"
    county: str | None = None
    sale_at: datetime | None = None  # aware, America/New_York
    sale_date: date | None = None
    sale_time: str | None = None  # "12:00PM"
    sale_type: str | None = None  # "PUBLIC AUCTION FORECLOSURE SALE"
    property_type: str | None = None  # "Residential Condominium"
    heading: str | None = None
    address_raw: str | None = None  # "12 Example Road Fairfield CT"
    address_street: str | None = None
    address_unit: str | None = None
    address_town: str | None = None
    address_zip: str | None = None
    status: str = "scheduled"  # scheduled | cancelled
    cancel_reason: str | None = None  # "CANCELLED - JUDGMENT OPENED AND VACATED"

    # From the notice.
    notice_fetched: bool = False
    notice_fetched_at: datetime | None = None
    inspection: str | None = None
    notice_from: date | None = None
    notice_thru: date | None = None
    deposit: Decimal | None = None
    committee_name: str | None = None
    committee_address: str | None = None
    committee_phone: str | None = None
    committee_email: str | None = None
    body: str | None = None
    photo_url: str | None = None

    flags: list[str] = field(default_factory=list)


#: What only a sale's notice says (the town list's row does not).
SALE_NOTICE_FIELDS = (
    "inspection",
    "notice_from",
    "notice_thru",
    "deposit",
    "committee_name",
    "committee_address",
    "committee_phone",
    "committee_email",
    "body",
    "photo_url",
)

#: The town list row's fields: a notice is read again only when these changed.
SALE_LISTING_FIELDS = (
    "posting_id",
    "docket_no",
    "sale_date",
    "sale_time",
    "heading",
    "status",
    "cancel_reason",
)


def sale_listing_hash(sale: Any) -> str:
    """Return the hash of a sale's town-list row (item or mapping)."""
    data = sale if isinstance(sale, Mapping) else ItemAdapter(sale).asdict()
    values = [data.get(name) for name in SALE_LISTING_FIELDS]
    text = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()
