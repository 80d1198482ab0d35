"""What a saved search's stored filter means: the cases it matches, read with the
same filters as the cases list and the sales list (:mod:`webui.queries`,
:mod:`webui.sales_queries`).

A saved search keeps the list page's query arguments. Towns get renamed and a
filter may have been stored by an older version; a filter that no longer reads is
a :class:`BrokenSearch` naming the argument and why, never a filter that is
quietly dropped (which would watch every case). The pages, the API and the change
feed all resolve saved searches here.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from ctforeclosure.db import cases
from ctforeclosure.services.saved_searches import SavedSearch
from webui import params, queries, sales_queries

#: Each list's filter (its query arguments are what a saved search keeps).
FILTERS = {"cases": queries.CaseFilter, "sales": sales_queries.SaleFilter}
#: Arguments a saved search does not keep: where the list was, not what it shows.
NOT_KEPT = frozenset({"page"})


class BrokenSearch(ValueError):
    """A saved search's filter no longer reads: the argument, and why."""

    def __init__(self, search: SavedSearch, parameter: str, reason: str):
        self.parameter = parameter
        super().__init__(
            f"saved search {search.name!r} no longer reads: {reason} "
            "(edit its filter or delete it)"
        )


def _read(list_name: str, args: Mapping, me: str | None):
    """Return the list's filter read from ``args``; raise BadParameter, or
    ValueError for search text too short to search for."""
    if list_name == "sales":
        return sales_queries.SaleFilter.from_args(args)
    flt = queries.CaseFilter.from_args(args, me=me)
    if problem := flt.search_problem():
        raise params.BadParameter("q", params.TEXT_TEXT, problem)
    return flt


def kept_args(
    list_name: str, args: Mapping, me: str | None, *, strict: bool = False
) -> dict[str, str]:
    """Return the arguments a saved search keeps from a list's ``args`` (its
    filter's, not empty, not the page); raise BadParameter naming a bad one, and
    with ``strict`` one that is not the list's (a page's address may carry others;
    an API body that does has a typo, which would widen the search)."""
    if list_name not in FILTERS:
        raise params.BadParameter("list", " | ".join(FILTERS))
    if not isinstance(args, MultiDict):
        args = MultiDict({k: _text(v) for k, v in args.items()})
    fields = FILTERS[list_name].__dataclass_fields__
    unknown = sorted(set(args) - set(fields)) if strict else []
    if unknown:
        accepts = f"an argument of the {list_name} list: " + ", ".join(fields)
        raise params.BadParameter(unknown[0], accepts, f"not a {list_name} filter")
    _read(list_name, args, me)
    return {
        k: v
        for k, v in args.to_dict(flat=True).items()
        if k in fields and k not in NOT_KEPT and v != ""
    }


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def filter_of(search: SavedSearch, me: str | None, **overrides):
    """Return the search's filter (``overrides``: the page, say); raise
    BrokenSearch naming what no longer reads."""
    args = MultiDict({k: _text(v) for k, v in search.query.items()})
    for name, value in overrides.items():
        args[name] = _text(value)
    try:
        return _read(search.list, args, me)
    except params.BadParameter as exc:
        raise BrokenSearch(search, exc.name, str(exc)) from None


def matching_dockets(
    conn: sa.Connection, search: SavedSearch, me: str | None
) -> tuple[sa.Select, dict]:
    """Return a statement selecting the dockets the search matches now (for an
    ``IN``) and its bound values; raise BrokenSearch."""
    flt = filter_of(search, me)
    if search.list == "sales":
        return sales_queries.matching_dockets(flt), {}
    return queries.matching_dockets(conn, flt)


def new_since_opened(conn: sa.Connection, search: SavedSearch, me: str) -> int | None:
    """Return how many matching cases were first seen after the owner last opened
    the search (or saved it), None when its filter no longer reads."""
    try:
        dockets, bound = matching_dockets(conn, search, me)
    except BrokenSearch:
        return None
    count = (
        sa.select(sa.func.count())
        .select_from(cases)
        .where(cases.c.docket_no.in_(dockets), cases.c.first_seen > search.since())
    )
    return conn.execute(count, bound).scalar_one()


def sale_search_cases(
    conn: sa.Connection, search: SavedSearch, page: int, per_page: int
) -> tuple[list, int]:
    """Return one page of the cases a sales search matches (newest filed first)
    and how many it matches; raise BrokenSearch."""
    dockets, bound = matching_dockets(conn, search, None)
    where = cases.c.docket_no.in_(dockets)
    rows = conn.execute(
        sa.select(*queries.LIST_COLUMNS)
        .where(where)
        .order_by(cases.c.file_date.desc().nulls_last(), cases.c.docket_no)
        .limit(per_page)
        .offset((page - 1) * per_page),
        bound,
    ).all()
    total = conn.execute(
        sa.select(sa.func.count()).select_from(cases).where(where), bound
    ).scalar_one()
    return rows, total
