"""What a sales export holds: its column header and a generator of row tuples.

Kept apart from the writing (``webui.streaming``, called by ``webui.exports``), so
that the export's content is one header list and one generator over a filtered
query, and the writer (CSV/XLSX) is a separate concern.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from webui import sales_queries
from webui.filters import docket_dashed, judiciary_url

SALES_HEADER = (
    "Sale date",
    "Sale time",
    "Town",
    "County",
    "Docket",
    "Case",
    "Property address",
    "Sale type",
    "Property type",
    "Status",
    "Cancelled because",
    "Deposit",
    "Posting id",
    "Judiciary link",
)


def sale_rows(engine: sa.Engine, flt: sales_queries.SaleFilter) -> Iterator[tuple]:
    """Yield one row per matching sale, soonest first, in SALES_HEADER's order."""
    for s in sales_queries.iter_sales(engine, flt):
        yield (
            s.sale_date,
            s.sale_time or "",
            s.town,
            s.county or "",
            docket_dashed(s.docket_no),
            s.case_name or "",
            s.address_raw or "",
            s.sale_type or "",
            s.property_type or "",
            s.status,
            s.cancel_reason or "",
            s.deposit,
            s.posting_id,
            judiciary_url(s.docket_no),
        )
