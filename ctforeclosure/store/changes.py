"""The change history one batch records: rows for ``case_changes``.

The case upsert, the child-table sync and a town's listing marks all add to one
:class:`Changes` per batch, which the store writes in one bulk insert at the end.
Old and new values are stored as JSON, dates as ISO text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ctforeclosure.db import case_changes

__all__ = ["KINDS", "SALE_KINDS", "SHOWN_COLUMNS", "Changes", "json_value"]

#: A change's columns as the web UI and the API show it: the writing transaction's
#: id (``txid``) only orders the change feed.
SHOWN_COLUMNS = tuple(c for c in case_changes.c if c.name != "txid")

#: The kinds of change a sale posting records (store.sales).
SALE_KINDS = (
    "sale_scheduled",
    "sale_moved",
    "sale_cancelled",
    "sale_unlisted",
    "sale_relisted",
)
#: Every kind of change the stores record: the cases' (store.cases, store.children),
#: the sales' (store.sales), the skip traces' (skiptrace.store) and the towns
#: re-check's (store.town_check). The change feed's ``kinds`` filter accepts these;
#: the web UI reads each as a sentence.
KINDS = (
    "new_case",
    "disposition",
    "law_day",
    "sale_date",
    "judgment",
    "no_longer_listed",
    "relisted",
    "party_added",
    "party_removed",
    "docket_entry_added",
    "docket_entry_removed",
    "court_date_added",
    "court_date_removed",
    *SALE_KINDS,
    "phones_found",
    "town_revalidated",
)


def json_value(value: Any) -> Any:
    """Return the value as JSON holds it: dates as ISO text, dicts converted inside."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class Changes:
    """Collects case_changes rows for one batch."""

    def __init__(self, now: datetime, crawl_id: int | None):
        self.now = now
        self.crawl_id = crawl_id
        self.rows: list[dict] = []

    def add(self, docket_no, kind, field_name=None, old=None, new=None) -> None:
        self.rows.append(
            {
                "docket_no": docket_no,
                "kind": kind,
                "field": field_name,
                "old_value": json_value(old),
                "new_value": json_value(new),
                "seen_at": self.now,
                "crawl_id": self.crawl_id,
            }
        )
