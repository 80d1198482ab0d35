"""The replica's pending sales: which postings exist, how they evolve, their truth.

A pending sale is an active case with a judgment of foreclosure by sale and a sale
date on or after the replica's today (``sales.py`` renders it). On top of that,
per-docket overrides model what the site does between two crawls, through
``POST /_replica/mutate`` with one of :data:`SALE_KINDS`:

- ``sale_move``: the sale date moves 7 days later (same posting id);
- ``sale_renotice``: the sale is noticed again under a new posting id, 14 days later;
- ``sale_cancel``: cancelled, said on the list ("CANCELLED - JUDGMENT OPENED AND
  VACATED" appended) or only on the notice ("This Sale is Cancelled."), by seed;
- ``sale_remove``: the posting leaves the list (before its date, or after it when
  the date is already past the crawler's clock).

A sale added is the cases' own ``sale_date`` kind on a case without a judgment.
``/_replica/sales_truth.json`` answers every listed posting with the item field
names of ``ctforeclosure.items.SaleItem``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .data import RESIDENTIAL, Case, Dataset

SALE_KINDS = ("sale_move", "sale_renotice", "sale_cancel", "sale_remove")
SALE_TIME = "12:00PM"
#: Heading texts seen in the capture (spacing and commas vary) [CAPTURE].
HEADINGS = (
    "PUBLIC AUCTION FORECLOSURE SALE: {ptype} <br> ADDRESS: {street} {town} CT",
    "PUBLIC AUCTION FORECLOSURE SALE:{ptype} <br> ADDRESS:  {street}, {town}, CT {zip}",
)
LIST_CANCEL_TEXT = "CANCELLED - JUDGMENT OPENED AND VACATED"  # [CODE]
NOTICE_CANCEL_TEXT = "This Sale is Cancelled."  # [CODE/MOCK]
RENOTICE_OFFSET = 30000


@dataclass
class SaleOverride:
    """What happened to one docket's sale since the data was generated."""

    posting_id: int | None = None
    date: date | None = None
    cancelled: str | None = None  # "list" | "notice"
    removed: bool = False


@dataclass(frozen=True)
class Posting:
    """One listed sale as the site shows it."""

    case: Case
    posting_id: int
    sale_date: date
    cancelled: str | None
    deposit: Decimal
    street: str
    unit: str | None
    ptype: str
    heading_form: int


def overrides(dataset: Dataset) -> dict[str, SaleOverride]:
    """Return the dataset's sale overrides (created on first use)."""
    found = getattr(dataset, "sale_overrides", None)
    if found is None:
        found = dataset.sale_overrides = {}
    return found


def base_posting_id(dataset: Dataset, case: Case) -> int:
    """Return the posting id of a case's first notice: stable per docket, unique."""
    given = getattr(dataset, "posting_ids", None)
    if given is None:
        given = dataset.posting_ids = {}
    found = given.get(case.docket_no)
    if found is None:
        used = set(given.values())
        found = 60000 + sum(ord(ch) * (i + 1) for i, ch in enumerate(case.docket_no))
        found = 60000 + found % 30000
        while found in used:
            found += 1
        given[case.docket_no] = found
    return found


def _posting(dataset: Dataset, case: Case, detail: dict) -> Posting | None:
    change = overrides(dataset).get(case.docket_no) or SaleOverride()
    day = change.date or detail["sale_date"]
    if change.removed or (change.date is None and day < dataset.today):
        return None
    rng = random.Random(f"sale-{case.docket_no}")
    unit = detail["property_unit"]
    if case.property_type != RESIDENTIAL:
        ptype = case.property_type
    elif unit and unit.startswith(("Unit", "Apt")):
        ptype = "Residential Condominium"
    else:
        ptype = RESIDENTIAL
    return Posting(
        case=case,
        posting_id=change.posting_id or base_posting_id(dataset, case),
        sale_date=day,
        cancelled=change.cancelled,
        deposit=Decimal(rng.randrange(5_000, 90_000, 500)),
        street=detail["property_street"],
        unit=unit,
        ptype=ptype,
        heading_form=rng.randrange(len(HEADINGS)),
    )


def pending_sales(dataset: Dataset) -> list[Posting]:
    """Return every listed posting, by town, sale date, docket."""
    with dataset.lock:
        key = (dataset.ordered, getattr(dataset, "sales_version", 0))
        cached = getattr(dataset, "_sales_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        cases = list(dataset.ordered)
    postings = []
    for case in cases:
        if not case.is_active:
            continue
        detail = dataset.detail(case)
        if detail["judgment_type"] != "sale":
            continue
        posting = _posting(dataset, case, detail)
        if posting is not None:
            postings.append(posting)
    postings.sort(key=lambda p: (p.case.town.name, p.sale_date, p.case.docket_no))
    with dataset.lock:
        dataset._sales_cache = (key, postings)
    return postings


def apply_sale_change(dataset: Dataset, kind: str, rng: random.Random, docket=None):
    """Apply one sale change; return its report, or None when no sale fits."""
    pool = [p for p in pending_sales(dataset) if not p.cancelled]
    if docket:
        pool = [p for p in pool if p.case.docket_no == docket]
    if not pool:
        return None
    posting = rng.choice(sorted(pool, key=lambda p: p.case.docket_no))
    change = overrides(dataset).setdefault(posting.case.docket_no, SaleOverride())
    report = {"kind": kind, "docket_no": posting.case.docket_no}
    if kind == "sale_move":
        change.date = posting.sale_date + timedelta(days=7)
    elif kind == "sale_renotice":
        change.date = posting.sale_date + timedelta(days=14)
        change.posting_id = posting.posting_id + RENOTICE_OFFSET
    elif kind == "sale_cancel":
        change.cancelled = rng.choice(("list", "notice"))
        report["where"] = change.cancelled
    elif kind == "sale_remove":
        change.removed = True
    report.update(
        posting_id=posting.posting_id, sale_date=posting.sale_date.isoformat()
    )
    if change.date:
        report["new_sale_date"] = change.date.isoformat()
    if change.posting_id:
        report["new_posting_id"] = change.posting_id
    dataset.sales_version = getattr(dataset, "sales_version", 0) + 1
    return report


def posting_truth(posting: Posting, *, notice: bool = True) -> dict:
    """Return one posting with SaleItem's field names (dates ISO, deposit text)."""
    case = posting.case
    street = ", ".join(p for p in (posting.street, posting.unit) if p)
    row = {
        "posting_id": posting.posting_id,
        "docket_no": case.docket_no,
        "town": case.town.name,
        "county": case.town.county,
        "sale_date": posting.sale_date.isoformat(),
        "sale_time": SALE_TIME,
        "sale_type": "PUBLIC AUCTION FORECLOSURE SALE",
        "property_type": posting.ptype,
        "address_street": street,
        "status": "cancelled" if posting.cancelled else "scheduled",
        "cancel_reason": {"list": LIST_CANCEL_TEXT, "notice": NOTICE_CANCEL_TEXT}.get(
            posting.cancelled
        ),
    }
    if notice:
        row["deposit"] = f"{posting.deposit:.2f}"
        row["committee_name"] = committee(posting)[0]
    return row


def committee(posting: Posting) -> tuple[str, str, str, str]:
    """Return the sale's committee: name, address, phone, email (all fake)."""
    number = posting.posting_id % 97
    return (
        f"Attorney Committee {number:02d}",
        f"{100 + number} Example Street, Hartford, CT 06103",
        f"(860) 555-{number:04d}",
        f"committee{number:02d}@example.org",
    )


def sales_truth(dataset: Dataset, town: str | None = None) -> list[dict]:
    """Return the truth for every listed posting, optionally for one town."""
    return [
        posting_truth(p)
        for p in pending_sales(dataset)
        if not town or p.case.town.name == town
    ]
