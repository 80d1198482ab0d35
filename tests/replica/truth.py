"""Ground truth: what the replica serves, with the project's item field names.

``/_replica/truth.json`` returns one dict per case with the field names of
``ctforeclosure.items.CaseItem`` (dockets compact, dates ISO), plus the generator's
intended derived fields, so a test can prove a crawl got every case exactly once and
right. Filtering is on the exact canonical town, not the site's substring rule.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date

from ctforeclosure.items import CaseItem

from .data import Case, Dataset

#: CaseItem fields the replica cannot know (set by the crawler or the pipelines).
NOT_TRUTH = {"detail_fetched", "detail_fetched_at", "flags"}
TRUTH_FIELDS = [f.name for f in fields(CaseItem) if f.name not in NOT_TRUTH]


def _iso(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_iso(v) for v in value]
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items() if not k.startswith("_")}
    return value


def case_truth(dataset: Dataset, case: Case, *, listing_only: bool = False) -> dict:
    """Return one case's truth dict."""
    row = {
        "docket_no": case.docket_no,
        "docket_display": case.docket_display,
        "search_town": case.town.name,
        "county": case.town.county,
        "listing_town": case.listing_town,
        "listing_street": case.listing_street,
        "listing_zip": case.zip,
        "case_name": case.case_name,
        "property_type": case.property_type,
        "listing_disposition": case.disposition or None,
        "paperless": case.paperless,
        "is_active": case.is_active,
    }
    if not listing_only:
        detail = dataset.detail(case)
        for name in TRUTH_FIELDS:
            if name not in row and name in detail:
                row[name] = detail[name]
    return _iso(row)


def truth(
    dataset: Dataset,
    *,
    town: str | None = None,
    county: str | None = None,
    listing_only: bool = False,
) -> list[dict]:
    """Return the truth for every case, optionally for one town or county."""
    with dataset.lock:
        cases = list(dataset.ordered)
    return [
        case_truth(dataset, c, listing_only=listing_only)
        for c in cases
        if (not town or c.town.name == town) and (not county or c.town.county == county)
    ]
