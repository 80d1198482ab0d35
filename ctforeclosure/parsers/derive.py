"""Derive a foreclosure's stage from its docket entries: judgment, law day, sale date.

The rule (one, applied in docket order, oldest first, so later entries win):

- **judgment type**: the last *granted* judgment motion decides — "MOTION FOR
  JUDGMENT-STRICT FORECLOSURE" → ``"strict"``, "MOTION FOR JUDGMENT OF FORECLOSURE BY
  SALE" → ``"sale"`` (both titles quoted by docs/SITES.md §3.5 from a scraper that read
  real pages). Without one, a disposition naming the judgment decides; otherwise None
  ("no judgment yet"). A motion that was denied, or has no result yet, decides nothing.
- **law day** / **sale date**: the date that the last entry mentioning one gives
  (in its result, additional description or notes), e.g. "Law Day(s) assigned to begin
  03/15/2026" or "Sale Date set for 08/15/2026". None when no entry states one.
- **is_active**: a case is active until it has a disposition (active cases show an
  empty Disposition in every captured grid row, docs/SITES.md §2.2).

How the court words granted results, law days and sale dates was never seen on a
real foreclosure page: those wordings are the ``UNVERIFIED`` constants below, so one
real capture can correct them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from ctforeclosure.items import DocketEntryItem

#: Judgment motion titles [CODE: Mramos0133/ct-foreclosure-bot motions.py,
#: docs/SITES.md §3.5].
STRICT_MOTION = "MOTION FOR JUDGMENT-STRICT FORECLOSURE"
SALE_MOTION = "MOTION FOR JUDGMENT OF FORECLOSURE BY SALE"
#: A result granting a motion starts with this word ("Granted 9/26/2023 HON ...", seen
#: in the real case-detail capture for other motions).
GRANTED_RESULT_RE = re.compile(r"^\s*(?:RESULT:\s*)?Granted\b", re.IGNORECASE)
#: Dispositions that name a judgment: UNVERIFIED (docs/SITES.md §9).
STRICT_DISPOSITION_RE = re.compile(r"STRICT FORECLOSURE", re.IGNORECASE)
SALE_DISPOSITION_RE = re.compile(r"FORECLOSURE BY SALE", re.IGNORECASE)
#: "Law Day(s) assigned to begin 03/15/2026": UNVERIFIED (docs/SITES.md §9).
LAW_DAY_RE = re.compile(
    r"law\s+days?(?:\s*\(s\))?\b[^0-9]{0,60}?(\d{1,2}/\d{1,2}/\d{4})", re.IGNORECASE
)
#: "Sale Date set for 08/15/2026": UNVERIFIED (docs/SITES.md §9).
SALE_DATE_RE = re.compile(
    r"sale\s+date\b[^0-9]{0,60}?(\d{1,2}/\d{1,2}/\d{4})", re.IGNORECASE
)


@dataclass(frozen=True)
class Derived:
    """What the docket entries say about a case's stage."""

    judgment_type: str | None  # "strict", "sale" or None
    law_day: date | None
    sale_date: date | None
    is_active: bool


def _date(text: str) -> date | None:
    month, day, year = (int(p) for p in text.split("/"))
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _texts(entry: DocketEntryItem) -> str:
    return " ".join(t for t in (entry.result, entry.add_desc, entry.notes) if t)


def judgment_of(entry: DocketEntryItem) -> str | None:
    """Return "strict"/"sale" when this entry is a granted judgment motion."""
    if not entry.result or not GRANTED_RESULT_RE.match(entry.result):
        return None
    title = re.sub(r"\s+", " ", entry.description or "").strip().upper()
    if title == STRICT_MOTION:
        return "strict"
    if title == SALE_MOTION:
        return "sale"
    return None


def derive(
    entries: Iterable[DocketEntryItem], disposition: str | None = None
) -> Derived:
    """Apply the module's rule to a case's docket entries and disposition."""
    ordered = sorted(
        enumerate(entries), key=lambda pair: (pair[1].file_date or date.min, pair[0])
    )
    judgment = law_day = sale_date = None
    for _, entry in ordered:
        judgment = judgment_of(entry) or judgment
        text = _texts(entry)
        if found := LAW_DAY_RE.findall(text):
            law_day = _date(found[-1]) or law_day
        if found := SALE_DATE_RE.findall(text):
            sale_date = _date(found[-1]) or sale_date
    if judgment is None and disposition:
        if STRICT_DISPOSITION_RE.search(disposition):
            judgment = "strict"
        elif SALE_DISPOSITION_RE.search(disposition):
            judgment = "sale"
    return Derived(
        judgment_type=judgment,
        law_day=law_day,
        sale_date=sale_date,
        is_active=not (disposition or "").strip(),
    )
