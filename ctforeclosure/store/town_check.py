"""Re-check every stored case's towns against the current towns reference.

A case's towns were canonicalised when it was stored (the town pipeline), by the
reference list of that day. When the list changes (an alias added, a typo rule
tightened) stored cases may no longer agree with it: ``ctforeclosure towns
revalidate`` lists them, and with ``--fix`` corrects them, each correction a
``town_revalidated`` change in the case's history (its timeline says what moved).

Checked per case, by the same rule as ``pipelines/normalize_town.py``: the search
town's spelling and its county, the property town's spelling, and the
``town_mismatch`` flag (the property's town, else the grid's, is another town than
the search town). A name the reference does not know is reported, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import sqlalchemy as sa

from ctforeclosure import towns as reference
from ctforeclosure.db import case_changes, cases
from ctforeclosure.store.changes import Changes

__all__ = ["CHANGE_KIND", "Mismatch", "apply", "check"]

#: The ``case_changes`` kind of a correction.
CHANGE_KIND = "town_revalidated"
MISMATCH_FLAG = "town_mismatch"
_COLUMNS = (
    cases.c.docket_no,
    cases.c.search_town,
    cases.c.county,
    cases.c.property_town,
    cases.c.listing_town,
    cases.c.flags,
)


@dataclass(frozen=True)
class Mismatch:
    """One stored value the reference disagrees with: ``new`` None = unknown name
    (reported, not fixable)."""

    docket_no: str
    field: str  # search_town | county | property_town | town_mismatch
    old: object
    new: object

    @property
    def fixable(self) -> bool:
        return self.new is not None


@cache
def _match(name: str) -> reference.Town | None:
    return reference.match(name)


def _case_mismatches(row) -> Iterator[Mismatch]:
    docket = row.docket_no
    search = _match(row.search_town)
    if search is None:
        yield Mismatch(docket, "search_town", row.search_town, None)
    elif search.name != row.search_town:
        yield Mismatch(docket, "search_town", row.search_town, search.name)
    if search is not None and search.county != row.county:
        yield Mismatch(docket, "county", row.county, search.county)
    prop = _match(row.property_town.strip()) if row.property_town else None
    if row.property_town and prop is None:
        yield Mismatch(docket, "property_town", row.property_town, None)
    elif prop is not None and prop.name != row.property_town:
        yield Mismatch(docket, "property_town", row.property_town, prop.name)
    printed = row.property_town or row.listing_town
    found = _match(printed.strip()) if printed and printed.strip() else None
    if search is not None and found is not None:
        flagged = MISMATCH_FLAG in (row.flags or [])
        differs = found.name != search.name
        if flagged != differs:
            yield Mismatch(docket, MISMATCH_FLAG, flagged, differs)


def check(conn: sa.Connection) -> list[Mismatch]:
    """Return every stored value the current reference disagrees with."""
    found: list[Mismatch] = []
    rows = conn.execute(sa.select(*_COLUMNS).order_by(cases.c.docket_no))
    for row in rows:
        found.extend(_case_mismatches(row))
    return found


def _corrected(row, fixes: list[Mismatch]) -> dict:
    values = {}
    for fix in fixes:
        if fix.field == MISMATCH_FLAG:
            flags = [f for f in (row.flags or []) if f != MISMATCH_FLAG]
            values["flags"] = [*flags, MISMATCH_FLAG] if fix.new else flags
        else:
            values[fix.field] = fix.new
    return values


def apply(conn: sa.Connection, mismatches: list[Mismatch]) -> int:
    """Correct the fixable mismatches, recording each in ``case_changes``; return
    how many cases changed. Run inside the caller's transaction."""
    by_case: dict[str, list[Mismatch]] = {}
    for mismatch in mismatches:
        if mismatch.fixable:
            by_case.setdefault(mismatch.docket_no, []).append(mismatch)
    now = datetime.now(UTC)
    changes = Changes(now, crawl_id=None)
    for docket, fixes in by_case.items():
        row = conn.execute(
            sa.select(cases.c.flags).where(cases.c.docket_no == docket)
        ).one()
        conn.execute(
            cases.update()
            .where(cases.c.docket_no == docket)
            .values(**_corrected(row, fixes), last_changed=now)
        )
        for fix in fixes:
            changes.add(docket, CHANGE_KIND, fix.field, fix.old, fix.new)
    if changes.rows:
        conn.execute(case_changes.insert(), changes.rows)
    return len(by_case)
