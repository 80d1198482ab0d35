"""Many saved searches' filters over a page's changed cases, in a few statements.

Each saved search's filter is the web UI's own statement (``dockets_of``: the
dockets it matches, with its bound values); it is not rewritten nor evaluated
here. What changes is where it runs and where its answer goes:

- it reads a temporary copy of the page's changed cases instead of ``cases``
  (the same columns), so it looks at thousands of rows, not 200,000;
- searches whose statements have the same structure (the same filter fields: a
  town and a status, say) and differ only in their bound values run as ONE
  statement: each bound value becomes a column of a ``VALUES`` list (a CTE)
  holding a row per search, and the statement yields (docket, search) pairs. A
  thousand saved searches make a few dozen statements, not a thousand round trips
  (BENCHMARKS.md, "Notify");
- its pairs are inserted into a temporary table with ``INSERT ... SELECT``, where
  the matcher joins them to the changes' events: none travels to Python.

A statement with a list parameter (an ``IN`` of values), or with no value at
all, runs once per search.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.sql.elements import BindParameter

from ctforeclosure.db import cases

__all__ = ["insert_matches", "on_copy"]


def on_copy(copy: sa.Table, statement: sa.Select, swaps: dict | None = None):
    """Return ``statement`` reading ``copy`` where it read ``cases`` (and each bound
    parameter in ``swaps``, by identity, replaced by its column)."""
    swaps = swaps or {}

    def swap(element, **_kw):
        if element is cases:
            return copy
        if isinstance(element, sa.Column) and element.table is cases:
            return copy.c[element.name]
        if isinstance(element, BindParameter):
            return swaps.get(id(element))
        return None

    return sa.sql.visitors.replacement_traverse(statement, {}, swap)


@dataclass
class _Group:
    """Searches whose statements differ only in their bound values."""

    template: sa.Select
    params: list[BindParameter]
    members: list[tuple[int, list]] = field(default_factory=list)


def _grouped(statements: dict) -> tuple[list[_Group], list[int]]:
    """Split the statements into groups of one structure, and those run alone.

    A statement object shared by several searches (the web UI builds one per
    filter shape) has its cache key made once."""
    groups: dict = {}
    keys_of: dict[int, tuple] = {}  # id(statement): its cache key
    alone = []
    for key, (statement, bound) in statements.items():
        if id(statement) not in keys_of:
            keys_of[id(statement)] = statement._generate_cache_key()
        cache_key = keys_of[id(statement)]
        if cache_key is None or any(p.expanding for p in cache_key.bindparams):
            alone.append(key)
            continue
        params = list(cache_key.bindparams)
        values = [bound.get(p.key, p.effective_value) for p in params]
        group = groups.setdefault(cache_key.key, _Group(statement, params))
        group.members.append((key, values))
    return list(groups.values()), alone


def _group_select(copy: sa.Table, group: _Group) -> sa.Select:
    """Return the group's statement over ``copy`` as (docket, search key) rows:
    each member's values are a row of a ``VALUES`` list joined in."""
    columns = [sa.column(f"p{i}", p.type) for i, p in enumerate(group.params)]
    searches = sa.values(sa.column("search", sa.Integer), *columns, name="searches")
    rows = [(key, *values) for key, values in group.members]
    searches = searches.data(rows).cte("searches")  # SQLite reads VALUES as a CTE
    swaps = {id(p): searches.c[f"p{i}"] for i, p in enumerate(group.params)}
    return on_copy(copy, group.template, swaps).add_columns(searches.c.search)


def insert_matches(
    conn: sa.Connection, copy: sa.Table, statements: dict, found: sa.Table
) -> None:
    """Insert into ``found`` (docket_no, search_key) a row for each docket of ``copy``
    that a statement matches; ``statements`` is {key (an int): (statement, bound
    values)}. The pairs stay in the database: nothing is read back."""
    names = ["docket_no", "search_key"]
    groups, alone = _grouped(statements)
    for group in groups:
        if group.params:
            select = _group_select(copy, group)
            conn.execute(found.insert().from_select(names, select))
            continue
        alone.extend(key for key, _values in group.members)  # nothing to join on
    for key in alone:
        statement, bound = statements[key]
        select = on_copy(copy, statement).add_columns(sa.literal(key, sa.Integer))
        conn.execute(found.insert().from_select(names, select), bound)
