"""What the cases spider asks the store once at start, about its towns' cases.

With ``details=changed`` the spider fetches a case page only for a docket that is new,
whose search-grid row changed (same :func:`ctforeclosure.items.listing_hash` as the
store) or whose stored page is older than ``DETAILS_MAX_AGE_DAYS``:
:func:`load_case_index` answers, in one query per chunk of towns, docket -> (listing
hash, when the page was last read). To search the towns with the most cases first,
:func:`stored_town_sizes` answers how many cases each town holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from ctforeclosure.db import aware, cases

__all__ = ["load_case_index", "stored_town_sizes", "unread_sale_cases"]


def load_case_index(
    engine: sa.Engine, towns: Iterable[str] | None = None
) -> dict[str, tuple[str | None, datetime | None]]:
    """Return ``{docket_no: (listing_hash, detail_fetched_at)}`` for the towns' cases.

    ``towns`` are canonical search-town names; None means every stored case.
    ``detail_fetched_at`` is timezone-aware (UTC) on both databases.
    """
    query = sa.select(
        cases.c.docket_no, cases.c.listing_hash, cases.c.detail_fetched_at
    )
    wanted = None if towns is None else sorted(set(towns))
    index: dict[str, tuple[str | None, datetime | None]] = {}
    with engine.connect() as conn:
        if wanted is None:
            batches = [query]
        else:
            batches = [
                query.where(cases.c.search_town.in_(wanted[i : i + 200]))
                for i in range(0, len(wanted), 200)
            ]
        for stmt in batches:
            for docket, lhash, fetched in conn.execute(stmt):
                index[docket] = (lhash, aware(fetched))
    return index


def stored_town_sizes(engine: sa.Engine, towns: Iterable[str]) -> dict[str, int]:
    """Return ``{search_town: number of stored cases}`` for the towns that have any."""
    query = (
        sa.select(cases.c.search_town, sa.func.count())
        .where(cases.c.search_town.in_(sorted(set(towns))))
        .group_by(cases.c.search_town)
    )
    with engine.connect() as conn:
        return {town: n for town, n in conn.execute(query)}


def unread_sale_cases(engine: sa.Engine, towns: Iterable[str]) -> dict[str, list[str]]:
    """Return ``{search_town: [docket, ...]}`` of cases created from a sale whose
    page was never read: the cases spider reads them after the town's search."""
    query = (
        sa.select(cases.c.search_town, cases.c.docket_no)
        .where(
            cases.c.from_sale.is_(True),
            cases.c.detail_fetched_at.is_(None),
            cases.c.search_town.in_(sorted(set(towns))),
        )
        .order_by(cases.c.docket_no)
    )
    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for town, docket in conn.execute(query):
            found.setdefault(town, []).append(docket)
    return found
