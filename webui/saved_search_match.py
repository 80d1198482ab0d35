"""The cases a saved search watches, for every reader that follows one: the change
feed (``GET /api/v1/changes?saved_search=``) and the calendar feeds.

A search is looked up as a given user sees it (their own or a shared one); another
user's private search is :class:`SearchNotVisible`, as if it did not exist. Its
stored query is validated again on each use, as the list page would read it, so a
filter that no longer reads (a renamed town, a bad date) is
:class:`SearchNoLongerReads` with the reason, never "every case".
"""

from __future__ import annotations

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from ctforeclosure.db import saved_searches
from webui import queries, sales_queries


class SearchNotVisible(LookupError):
    """No saved search of this id that the user sees."""


class SearchNoLongerReads(ValueError):
    """The saved search's filter no longer validates; the message says why."""


def watched_dockets(
    conn: sa.Connection, search_id: int, user_id: int, email: str
) -> tuple[sa.Select, dict]:
    """Return a statement selecting the dockets the saved search matches (for an
    ``IN``) and its bound values, as the user ``user_id`` (``email``) sees it."""
    s = saved_searches.c
    visible = sa.or_(s.owner_id == user_id, s.shared.is_(True))
    search = conn.execute(
        sa.select(s.list, s.query).where(s.id == search_id, visible)
    ).first()
    if search is None:
        raise SearchNotVisible(f"no such saved search: {search_id}")
    args = MultiDict(search.query if isinstance(search.query, dict) else {})
    try:
        if search.list == "sales":
            flt = sales_queries.SaleFilter.from_args(args)
            return sales_queries.matching_dockets(flt), {}
        flt = queries.CaseFilter.from_args(args, me=email)
        return queries.matching_dockets(conn, flt)
    except ValueError as exc:  # a BadParameter, or search text too short
        problem = f"saved search {search_id} no longer reads: {exc}"
        raise SearchNoLongerReads(problem) from None
