"""Many saved searches' filters over a page's changed cases, in a few statements.

Each saved search's filter is the web UI's own statement (``dockets_of``: the
dockets it matches, with its bound values); it is not rewritten nor evaluated
here. Two things are changed about where it runs:

- it reads a temporary copy of the page's changed cases instead of ``cases``
  (the same columns), so it looks at thousands of rows, not 200,000;
- searches whose statements have the same structure (the same filter fields: a
  town and a status, say) and differ only in their bound values run as ONE
  statement: each bound value becomes a column of a ``VALUES`` list (a CTE)
  holding a row per search, and the statement returns (search, docket) pairs. A
  thousand saved searches make a few dozen statements, not a thousand round trips
  (BENCHMARKS.md, "Notify").

A statement with a list parameter (an ``IN`` of values) runs on its own, as do
searches whose structure no other shares.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.sql.elements import BindParameter

from ctforeclosure.db import cases

__all__ = ["matches", "on_copy"]


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
    members: list[tuple[Hashable, list]] = field(default_factory=list)


def _grouped(statements: dict) -> tuple[list[_Group], list[Hashable]]:
    """Split the statements into groups of one structure, and those run alone."""
    groups: dict = {}
    alone = []
    for key, (statement, bound) in statements.items():
        cache_key = statement._generate_cache_key()
        if cache_key is None or any(p.expanding for p in cache_key.bindparams):
            alone.append(key)
            continue
        params = list(cache_key.bindparams)
        values = [bound.get(p.key, p.effective_value) for p in params]
        group = groups.setdefault(cache_key.key, _Group(statement, params))
        group.members.append((key, values))
    return list(groups.values()), alone


def _run_group(conn: sa.Connection, copy: sa.Table, group: _Group) -> dict:
    """Run one group's statement; return {search key: the dockets it matches}."""
    if not group.params:  # no values: the same question for every member
        dockets = set(conn.execute(on_copy(copy, group.template)).scalars())
        return {key: dockets for key, _values in group.members}
    columns = [sa.column(f"p{i}", p.type) for i, p in enumerate(group.params)]
    searches = sa.values(sa.column("search", sa.Integer), *columns, name="searches")
    rows = [(n, *v) for n, (_k, v) in enumerate(group.members)]
    searches = searches.data(rows).cte("searches")  # SQLite reads VALUES as a CTE
    swaps = {id(p): searches.c[f"p{i}"] for i, p in enumerate(group.params)}
    statement = on_copy(copy, group.template, swaps).add_columns(searches.c.search)
    found: dict = {key: set() for key, _values in group.members}
    for docket, n in conn.execute(statement):
        found[group.members[n][0]].add(docket)
    return found


def matches(conn: sa.Connection, copy: sa.Table, statements: dict) -> dict:
    """Return {key: the dockets of ``copy`` its statement matches} for
    ``statements`` ({key: (statement, bound values)})."""
    groups, alone = _grouped(statements)
    found: dict = {}
    for group in groups:
        found.update(_run_group(conn, copy, group))
    for key in alone:
        statement, bound = statements[key]
        found[key] = set(conn.execute(on_copy(copy, statement), bound).scalars())
    return found
