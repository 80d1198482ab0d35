"""Synchronise a case's parties, docket entries and court dates with its case page.

Each child table is described by one :class:`ChildTable` (table, key, compared
fields, how the rows are built, the change kinds it records) and
:func:`sync_children` runs one loop over the three. Rules:

- Only items whose case page was read are synchronised (the case store decides).
- A child is matched on (docket, key): the party number, or for entries and dates a
  key built from their content (:func:`entry_keys`, :func:`date_keys`).
- A child gone from the page gets ``removed_at`` (kept, never deleted); one that
  comes back loses it. A child's row is rewritten (and its ``last_seen`` moves) only
  when it changed.
- Additions are recorded in ``case_changes`` only when the page had been read
  before (a first read has nothing to compare with); removals always.
- A case read for the first time has nothing stored, so its rows are plainly
  inserted, without lookups: the bulk of a first load.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ctforeclosure.db import court_dates, docket_entries, parties
from ctforeclosure.items import Appearance, CaseItem
from ctforeclosure.store.bulk import (
    assign_ids,
    chunks,
    insert_tuples,
    update_many,
    upsert,
)
from ctforeclosure.store.changes import Changes, json_value

__all__ = [
    "CHILD_TABLES",
    "DATE_FIELDS",
    "ENTRY_FIELDS",
    "PARTY_FIELDS",
    "ChildTable",
    "date_keys",
    "entry_keys",
    "sync_children",
]

PARTY_FIELDS = ("role", "category", "name", "non_appearing", "appearances")
ENTRY_FIELDS = (
    "seq",
    "entry_no",
    "file_date",
    "filed_by",
    "description",
    "add_desc",
    "result",
    "notes",
    "arguable",
    "document_no",
)
DATE_FIELDS = ("court_date", "court_time", "description", "status")
KEY_MAX = 200  # entry_key / date_key column width


def _key(first, second, third) -> str:
    """Return "first|second|third" (None as empty, dates as ISO), at most KEY_MAX."""
    # An f-string formats str, dates and numbers as str() does, faster than a join.
    text = (
        f"{'' if first is None else first!s}|{'' if second is None else second!s}"
        f"|{'' if third is None else third!s}"
    )
    if len(text) <= KEY_MAX:
        return text
    # Long descriptions: keep a readable prefix and make it unique with a digest.
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]
    return f"{text[: KEY_MAX - 18]}~{digest}"


def _numbered(bases: list[str]) -> list[str]:
    """Append "#n" to the 2nd, 3rd... occurrence of the same key."""
    seen: dict[str, int] = {}
    out = []
    for base in bases:
        count = seen.get(base, 0) + 1
        seen[base] = count
        suffix = f"#{count}"
        out.append(base if count == 1 else base[: KEY_MAX - len(suffix)] + suffix)
    return out


def entry_keys(case: CaseItem) -> list[str]:
    """Return the docket entries' keys: entry_no|file_date|description (+ "#n")."""
    return _numbered(
        [_key(e.entry_no, e.file_date, e.description) for e in case.docket_entries]
    )


def date_keys(case: CaseItem) -> list[str]:
    """Return the court dates' keys: date|time|description (+ "#n")."""
    return _numbered(
        [_key(d.court_date, d.court_time, d.description) for d in case.court_dates]
    )


_SEEN = ("first_seen", "last_seen", "removed_at")
_APPEARANCE_FIELDS = tuple(f.name for f in fields(Appearance))
_ENTRY_VALUES = operator.attrgetter(*ENTRY_FIELDS[1:])  # all but "seq"
_DATE_VALUES = operator.attrgetter(*DATE_FIELDS)


def _party_rows(case: CaseItem, now) -> Iterable[tuple]:
    """Yield the case's party rows as tuples (docket, party_no, fields, seen)."""
    docket = case.docket_no
    for p in case.parties:
        appearances = [
            {n: json_value(getattr(a, n)) for n in _APPEARANCE_FIELDS}
            for a in p.appearances
        ]
        category = (p.category or "").strip() or None
        yield (
            docket,
            p.party_no,
            p.role,
            category,
            p.name,
            bool(p.non_appearing),
            appearances,
            now,
            now,
            None,
        )


def _entry_rows(case: CaseItem, now) -> Iterable[tuple]:
    """Yield the case's docket-entry rows as tuples (docket, key, fields, seen)."""
    docket = case.docket_no
    for seq, (key, e) in enumerate(
        zip(entry_keys(case), case.docket_entries, strict=True), 1
    ):
        yield (docket, key, seq, *_ENTRY_VALUES(e), now, now, None)


def _date_rows(case: CaseItem, now) -> Iterable[tuple]:
    """Yield the case's court-date rows as tuples (docket, key, fields, seen)."""
    docket = case.docket_no
    for key, d in zip(date_keys(case), case.court_dates, strict=True):
        yield (docket, key, *_DATE_VALUES(d), now, now, None)


@dataclass(frozen=True)
class ChildTable:
    """How one child table of ``cases`` is synchronised and what its changes say."""

    table: sa.Table
    key: str  # the child's key within its case: "party_no"
    fields: tuple[str, ...]  # compared with the stored row
    rows: Callable[[CaseItem, datetime], Iterable[tuple]]  # in ``columns`` order
    added: str  # case_changes kinds: "party_added"
    removed: str
    change_field: Callable[[Mapping], Any]  # case_changes.field of a change
    summary: tuple[str, ...]  # what a change shows of the child
    #: PostgreSQL gives the new rows ids before the insert, so the new parties are
    #: known without reading them back; a first read's rows are then built whole
    #: instead of being streamed into the COPY.
    assign_ids: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return ("docket_no", self.key, *self.fields, *_SEEN)


PARTIES = ChildTable(
    table=parties,
    key="party_no",
    fields=PARTY_FIELDS,
    rows=_party_rows,
    added="party_added",
    removed="party_removed",
    change_field=operator.itemgetter("party_no"),
    summary=("party_no", "role", "name"),
    assign_ids=True,
)
ENTRIES = ChildTable(
    table=docket_entries,
    key="entry_key",
    fields=ENTRY_FIELDS,
    rows=_entry_rows,
    added="docket_entry_added",
    removed="docket_entry_removed",
    change_field=operator.itemgetter("entry_no"),
    summary=("entry_no", "file_date", "description"),
)
DATES = ChildTable(
    table=court_dates,
    key="date_key",
    fields=DATE_FIELDS,
    rows=_date_rows,
    added="court_date_added",
    removed="court_date_removed",
    change_field=lambda _child: "court_date",
    summary=DATE_FIELDS,
)
CHILD_TABLES = (PARTIES, ENTRIES, DATES)


def sync_children(
    conn, synced: Sequence[tuple[CaseItem, bool]], changes: Changes, now
) -> list[dict]:
    """Synchronise the children of cases whose page changed; return the new parties.

    ``synced`` holds (case, whether its page had been read before).
    """
    read_before = {case.docket_no: before for case, before in synced}
    known = [docket for docket, before in read_before.items() if before]
    first_read = [case for case, before in synced if not before]
    new_parties: list[dict] = []
    for child in CHILD_TABLES:
        columns = child.columns
        # Rows are built whole, once: one ``dict(zip(...))`` per child.
        wanted = {
            case.docket_no: {
                row[1]: dict(zip(columns, row, strict=True))
                for row in child.rows(case, now)
            }
            for case, before in synced
            if before or child.assign_ids
        }
        stored = _load_children(conn, child, known)
        written = _sync_table(conn, child, wanted, stored, read_before, changes, now)
        if child is PARTIES:
            new_parties = _new_parties(conn, written, stored)
        if first_read and not child.assign_ids:
            rows = (row for case in first_read for row in child.rows(case, now))
            insert_tuples(conn, child.table, columns, rows)
    return new_parties


def _load_children(conn, child: ChildTable, dockets) -> dict[str, dict]:
    """Return docket -> key -> stored row (with removed_at and the fields)."""
    table = child.table
    found: dict[str, dict] = {}
    cols = [table.c.docket_no, table.c[child.key], table.c.removed_at]
    cols += [table.c[f] for f in child.fields]
    for chunk in chunks(dockets):
        for row in conn.execute(sa.select(*cols).where(table.c.docket_no.in_(chunk))):
            found.setdefault(row.docket_no, {})[getattr(row, child.key)] = row
    return found


def _same(row, wanted: dict, fields_) -> bool:
    return row.removed_at is None and all(getattr(row, f) == wanted[f] for f in fields_)


def _sync_table(
    conn, child: ChildTable, wanted_by_case, stored, read_before, changes, now
) -> list[dict]:
    """Write new, changed and returning children; mark vanished ones removed.

    ``wanted_by_case`` maps docket -> key -> the whole row to write. Return the
    rows inserted or updated.
    """
    inserts: list[dict] = []
    upserts: list[dict] = []
    removed: list[dict] = []
    for docket, wanted in wanted_by_case.items():
        have = stored.get(docket)
        if not have:  # nothing stored: cannot conflict
            if read_before[docket]:
                for values in wanted.values():
                    _record_added(changes, child, docket, values)
            inserts.extend(wanted.values())
            continue
        for key, values in wanted.items():
            row = have.get(key)
            if row is not None and _same(row, values, child.fields):
                continue
            if (row is None or row.removed_at is not None) and read_before[docket]:
                _record_added(changes, child, docket, values)
            upserts.append(values)
        for key, row in have.items():
            if key not in wanted and row.removed_at is None:
                removed.append({"docket_no": docket, child.key: key, "removed_at": now})
                _record_removed(changes, child, docket, row._mapping)
    if child.assign_ids:
        assign_ids(conn, child.table, inserts)
    key = ["docket_no", child.key]
    upsert(conn, child.table, inserts)
    upsert(conn, child.table, upserts, key, keep=["first_seen"])
    update_many(conn, child.table, removed, key)
    return inserts + upserts


def _record_added(changes: Changes, child: ChildTable, docket, values) -> None:
    new = {f: values[f] for f in child.summary}
    changes.add(docket, child.added, child.change_field(values), None, new)


def _record_removed(changes: Changes, child: ChildTable, docket, row) -> None:
    old = {f: row[f] for f in child.summary}
    changes.add(docket, child.removed, child.change_field(row), old, None)


_NEW_PARTY_FIELDS = ("docket_no", "party_no", "role", "category", "name")


def _new_parties(conn, party_rows, stored_parties) -> list[dict]:
    """Return the parties this batch inserted (not updated or returning), with ids,
    in docket and party-number order.

    Rows inserted with ids from :func:`assign_ids` (PostgreSQL) are known as they
    are; the others (SQLite, or new parties of a stored case) are read back.
    """
    fresh = [
        r
        for r in party_rows
        if r["party_no"] not in stored_parties.get(r["docket_no"], {})
    ]
    out = [
        {"party_id": r["id"], **{n: r[n] for n in _NEW_PARTY_FIELDS}}
        for r in fresh
        if "id" in r
    ]
    wanted = {(r["docket_no"], r["party_no"]) for r in fresh if "id" not in r}
    dockets = sorted({d for d, _ in wanted})
    for chunk in chunks(dockets):
        rows = conn.execute(
            sa.select(parties.c.id, *(parties.c[n] for n in _NEW_PARTY_FIELDS)).where(
                parties.c.docket_no.in_(chunk)
            )
        )
        for row in rows:
            if (row.docket_no, row.party_no) in wanted:
                out.append(
                    {
                        "party_id": row.id,
                        **{n: getattr(row, n) for n in _NEW_PARTY_FIELDS},
                    }
                )
    out.sort(key=lambda p: (p["docket_no"], p["party_no"]))
    return out
