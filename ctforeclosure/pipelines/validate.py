"""Check every item before it is stored: drop only what cannot be stored correctly.

A case is keyed on its compact docket number and its children on their own keys
(party number, entry key, date key), so an item without a valid docket, with a party
number that is not one, with two parties under one number, or with a value that is
not a date where a date belongs cannot be stored without corrupting what is already
there: it is dropped (``DropItem`` naming the docket and the reason), counted in the
stats as ``ctf/dropped/<reason>`` and written to a rejects file (JSON lines, mode 0600,
under ``config.rejects_dir``) for review.

Dirty but real data ("00000" or "06" zip codes, "See Clerk's Note" for a street) is
the court's and is kept, with a flag in ``flags`` saying what is odd about it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict, fields
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from scrapy.exceptions import DropItem

from ctforeclosure import config, dockets
from ctforeclosure.db import CASE_DATE_COLUMNS
from ctforeclosure.items import (
    CaseItem,
    CourtDateItem,
    DocketEntryItem,
    PartyItem,
    SaleItem,
    TownItem,
)

logger = logging.getLogger(__name__)

#: A party number as the Parties grid prints it: "P-01", "D-12", "L-01".
#: UNVERIFIED (docs/SITES.md §9): two-letter roles or three-digit sequences were
#: never seen; they are accepted so that a big case is not dropped for its 100th
#: defendant.
PARTY_NO_RE = re.compile(r"^[A-Z]{1,2}-\d{2,3}$")

#: Connecticut zip codes are 06001-06928; anything else on a CT case is suspicious.
CT_ZIP_RE = re.compile(r"^06\d{3}$")
ZIP_RE = re.compile(r"^\d{5}(?:-\d{4})?$")
#: Placeholder zips the grid prints when the clerk had none ("00000").
PLACEHOLDER_ZIPS = frozenset({"00000", "99999"})
#: Street text the clerk writes instead of an address.
SEE_CLERK_RE = re.compile(r"see\s+clerk", re.IGNORECASE)


class Rejected(Exception):
    """Why an item cannot be stored: ``reason`` is a short stats-friendly key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def _as_date(value, where: str):
    """Return the value as a date (a datetime's date), or raise :class:`Rejected`."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    raise Rejected("invalid_date", f"{where}={value!r}")


def _as_datetime(value, where: str):
    if value is None or isinstance(value, datetime):
        return value
    raise Rejected("invalid_date", f"{where}={value!r}")


def _require_text(value, reason: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Rejected(reason, where)
    return value


def add_flag(case: CaseItem, flag: str) -> None:
    """Add a data-quality flag to the case once."""
    if flag not in case.flags:
        case.flags.append(flag)


def check_town(item: TownItem) -> TownItem:
    """Return the town item, or raise :class:`Rejected`."""
    _require_text(item.town, "town_missing", "town")
    _require_text(item.county, "county_missing", "county")
    return item


def check_case(case: CaseItem) -> CaseItem:
    """Return the case with its docket compacted and flags added, or raise."""
    if not case.docket_no:
        raise Rejected("docket_missing")
    try:
        case.docket_no = dockets.compact(case.docket_no)
    except (dockets.InvalidDocket, TypeError) as exc:
        raise Rejected("docket_invalid", repr(case.docket_no)) from exc
    _require_text(case.search_town, "search_town_missing", "search_town")
    if not isinstance(case.flags, list):
        raise Rejected("broken_structure", "flags is not a list")
    for name in CASE_DATE_COLUMNS:
        setattr(case, name, _as_date(getattr(case, name), name))
    case.detail_fetched_at = _as_datetime(case.detail_fetched_at, "detail_fetched_at")
    _check_children(case)
    _flag_dirty(case)
    _fit_lengths(case)
    return case


def check_sale(sale: SaleItem) -> SaleItem:
    """Return the sale with its docket compacted and dirty text flagged, or raise.

    A sale is keyed on its posting id and joined to its case by docket: without
    either it cannot be stored. Everything else is the site's and is kept.
    """
    if not isinstance(sale.posting_id, int) or sale.posting_id <= 0:
        raise Rejected("posting_id_invalid", repr(sale.posting_id))
    try:
        sale.docket_no = dockets.compact(sale.docket_no)
    except (dockets.InvalidDocket, TypeError) as exc:
        raise Rejected("docket_invalid", repr(sale.docket_no)) from exc
    _require_text(sale.town, "town_missing", "town")
    if sale.status not in SALE_STATUSES:
        raise Rejected("sale_status_invalid", repr(sale.status))
    sale.sale_date = _as_date(sale.sale_date, "sale_date")
    sale.notice_from = _as_date(sale.notice_from, "notice_from")
    sale.notice_thru = _as_date(sale.notice_thru, "notice_thru")
    if sale.sale_at is not None and (
        not isinstance(sale.sale_at, datetime) or sale.sale_at.tzinfo is None
    ):
        raise Rejected("invalid_date", f"sale_at={sale.sale_at!r} (not aware)")
    for needed, flag in (
        (sale.sale_at, "sale_date_missing"),
        (not sale.notice_fetched or sale.deposit is not None, "deposit_missing"),
        (sale.address_street, "address_unparsed"),
    ):
        if not needed and flag not in sale.flags:
            sale.flags.append(flag)
    for name, length in _limits("sales", SaleItem):
        value = getattr(sale, name)
        if value.__class__ is str and len(value) > length:
            setattr(sale, name, value[:length])
            sale.flags.append(f"truncated_{name}")
    return sale


#: A sale's status: the list or the notice says cancelled, or it is scheduled.
SALE_STATUSES = ("scheduled", "cancelled")


def _check_children(case: CaseItem) -> None:
    for name, kind in (
        ("parties", PartyItem),
        ("docket_entries", DocketEntryItem),
        ("court_dates", CourtDateItem),
    ):
        children = getattr(case, name)
        if not isinstance(children, list) or not all(
            isinstance(child, kind) for child in children
        ):
            raise Rejected(
                "broken_structure", f"{name} is not a list of {kind.__name__}"
            )
    if case.detail_fetched and case.detail_fetched_at is None:
        case.detail_fetched_at = datetime.now(UTC)
    seen: set[str] = set()
    for number, party in enumerate(case.parties, 1):
        if not isinstance(party.party_no, str) or not PARTY_NO_RE.match(party.party_no):
            raise Rejected("party_no_invalid", f"party {number}: {party.party_no!r}")
        if party.party_no in seen:
            raise Rejected("party_no_duplicate", party.party_no)
        seen.add(party.party_no)
        _require_text(party.name, "party_name_missing", party.party_no)
        _require_text(party.role, "party_role_missing", party.party_no)
        for appearance in party.appearances:
            appearance.file_date = _as_date(
                appearance.file_date, f"{party.party_no} appearance file_date"
            )
    for number, entry in enumerate(case.docket_entries, 1):
        _require_text(entry.description, "entry_description_missing", f"entry {number}")
        entry.file_date = _as_date(entry.file_date, f"entry {number} file_date")
    for number, court_date in enumerate(case.court_dates, 1):
        _require_text(
            court_date.description, "court_date_description_missing", f"date {number}"
        )
        court_date.court_date = _as_date(court_date.court_date, f"date {number}")


@cache
def _limits(table_name: str, item_class: type) -> tuple[tuple[str, int], ...]:
    """Return (field, VARCHAR length) for the item's fields stored in bounded text."""
    from ctforeclosure import db

    names = {f.name for f in fields(item_class)}
    return tuple(
        (c.name, c.type.length)
        for c in db.metadata.tables[table_name].c
        if c.name in names and isinstance(c.type, sa.String) and c.type.length
    )


def _fit(case: CaseItem, objs, limits, where: str) -> None:
    """Cut over-long text to its column's width (PostgreSQL would refuse it)."""
    for obj in objs:
        for name, length in limits:
            value = getattr(obj, name)
            if value.__class__ is str and len(value) > length:
                setattr(obj, name, value[:length])
                add_flag(case, f"truncated_{where}{name}")


def _fit_lengths(case: CaseItem) -> None:
    _fit(case, (case,), _limits("cases", CaseItem), "")
    _fit(case, case.parties, _limits("parties", PartyItem), "party_")
    _fit(
        case, case.docket_entries, _limits("docket_entries", DocketEntryItem), "entry_"
    )
    _fit(case, case.court_dates, _limits("court_dates", CourtDateItem), "court_date_")


def _flag_dirty(case: CaseItem) -> None:
    for source, zip_code in (
        ("listing", case.listing_zip),
        ("property", case.property_zip),
    ):
        if zip_code is None or zip_code == "":
            continue
        text = str(zip_code).strip()
        if text in PLACEHOLDER_ZIPS:
            add_flag(case, f"{source}_zip_placeholder")
        elif not ZIP_RE.match(text):
            add_flag(case, f"{source}_zip_malformed")
        elif not CT_ZIP_RE.match(text[:5]):
            add_flag(case, f"{source}_zip_out_of_state")
    for street in (case.listing_street, case.property_street):
        if street and SEE_CLERK_RE.search(street):
            add_flag(case, "address_see_clerk")
    if case.detail_fetched and not case.property_address_raw:
        add_flag(case, "property_address_missing")


class ValidatePipeline:
    """Drop what cannot be stored correctly; flag what is dirty but real."""

    def __init__(self, crawler, rejects_dir: Path):
        self.crawler = crawler
        self.stats = crawler.stats
        self.rejects_dir = rejects_dir
        self._rejects = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, config.load().rejects_dir)

    def close_spider(self, spider=None) -> None:
        if self._rejects is not None:
            self._rejects.close()
            self._rejects = None

    def process_item(self, item):
        try:
            try:
                if isinstance(item, CaseItem):
                    return check_case(item)
                if isinstance(item, TownItem):
                    return check_town(item)
                if isinstance(item, SaleItem):
                    return check_sale(item)
            except (TypeError, AttributeError) as exc:
                # A field of the wrong shape (None for a list, a dict for an item).
                raise Rejected("broken_structure", type(exc).__name__) from exc
            raise Rejected("unknown_item_type", type(item).__name__)
        except Rejected as exc:
            self._reject(item, exc)
            key = getattr(item, "docket_no", None) or getattr(item, "town", None)
            if isinstance(item, SaleItem):
                key = f"sale {item.posting_id} ({key})"
            raise DropItem(
                f"{key or 'item without a docket'} dropped: {exc.reason}"
                + (f" ({exc.detail})" if exc.detail else "")
            ) from exc

    def _reject(self, item, exc: Rejected) -> None:
        self.stats.inc_value(f"ctf/dropped/{exc.reason}")
        self.stats.inc_value("ctf/errors/validation")
        record = {
            "at": datetime.now(UTC).isoformat(),
            "spider": getattr(self.crawler.spider, "name", None),
            "reason": exc.reason,
            "detail": exc.detail,
            "item_type": type(item).__name__,
            "item": _jsonable(item),
        }
        self._rejects_file().write(
            json.dumps(record, default=str, ensure_ascii=False) + "\n"
        )
        self._rejects.flush()

    def _rejects_file(self):
        if self._rejects is None:
            self.rejects_dir.mkdir(parents=True, exist_ok=True)
            name = getattr(self.crawler.spider, "name", "crawl")
            path = self.rejects_dir / f"{name}-{datetime.now(UTC):%Y%m%d}.jsonl"
            # Rejected items hold names and addresses: owner-only from the start.
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.chmod(path, 0o600)
            self._rejects = os.fdopen(fd, "a", encoding="utf-8")
            self.path = path
        return self._rejects


def _jsonable(item):
    if hasattr(item, "__dataclass_fields__"):
        try:
            return asdict(item)
        except TypeError:
            return {f.name: repr(getattr(item, f.name, None)) for f in fields(item)}
    if isinstance(item, dict):
        return item
    return repr(item)
