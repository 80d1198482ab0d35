"""The change feed: every ``case_changes`` row once, page by page, in a stable order.

Integrators poll ``GET /api/v1/changes`` (:mod:`webui.api.changes`) with the cursor
the last answer gave; they must never miss a change nor get one twice.

Why not ``id > n``: on PostgreSQL ids are taken at insert and rows become visible
at commit, so a crawl batch holding ids 100-199 that commits after a skip trace's
id 200 was skipped by a reader who had already read 200. So each row records its
writing transaction (``txid``, ``pg_current_xact_id()``, migration 0019) and the
feed runs in (txid, id) order; each read also takes the reader's snapshot
(``pg_current_snapshot()``: xmin, xmax and the transactions in progress), in the
same statement as its rows (a column of the plain SELECT, which is built
once: building it per page cost about as much as PostgreSQL's answer at 100 a
page, BENCHMARKS.md). The cursor holds:

- the last (txid, id) delivered in that order, and
- ``pending``: transactions below that point that were still in progress when
  read (or not yet delivered to the end), each with the last id delivered of it.

The next read returns the rows after the point plus the now visible rows of the
pending transactions (these first: their txids are smaller). A pending
transaction leaves the cursor once it has ended (committed or rolled back) and a
read has delivered all of its rows. A transaction that had no id yet at a read
gets a larger one than any delivered, so the point covers it.

SQLite has one writer at a time: rows commit in id order, every txid is 0 and the
cursor is the last id.

Filters (kinds, town, county, a saved search's cases) narrow what is returned,
not the cursor: a cursor marks a point in the whole feed, and the rows before it
are never returned again, whatever the filters of the next call.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from ctforeclosure.db import case_changes, cases

__all__ = [
    "COLUMNS",
    "KEY_COLUMNS",
    "BadCursor",
    "Cursor",
    "Page",
    "conditions",
    "read_changes",
]

#: The columns of a delivered change (``txid`` orders, the rest is the change).
COLUMNS = (
    case_changes.c.txid,
    case_changes.c.id,
    case_changes.c.docket_no,
    case_changes.c.kind,
    case_changes.c.field,
    case_changes.c.old_value,
    case_changes.c.new_value,
    case_changes.c.seen_at,
    case_changes.c.crawl_id,
    cases.c.search_town.label("town"),
    cases.c.county,
)
#: A change without its values nor its case's town and county (the notify matcher
#: reads a page of 10,000: decoding the values' JSON was most of its read).
KEY_COLUMNS = (
    case_changes.c.txid,
    case_changes.c.id,
    case_changes.c.docket_no,
    case_changes.c.kind,
    case_changes.c.seen_at,
)
#: More pending transactions than this in one cursor means something is wrong.
MAX_PENDING = 1000
_MAX_BIGINT = 2**63 - 1


class BadCursor(ValueError):
    """A cursor that this feed did not issue (or that was altered)."""


@dataclass(frozen=True)
class Cursor:
    """Where a reader is in the feed (see the module docstring)."""

    txid: int = 0
    id: int = 0
    pending: tuple[tuple[int, int], ...] = ()  # (txid, last id delivered of it)

    def encode(self) -> str:
        """Return the cursor as opaque text: base64url of compact JSON."""
        data = {"t": self.txid, "i": self.id, "p": [list(p) for p in self.pending]}
        text = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(text).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Read a cursor from :meth:`encode`; raise :class:`BadCursor` if it is none."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            data = json.loads(raw)
        except (binascii.Error, ValueError):
            raise BadCursor("not a cursor this feed gave") from None
        if not isinstance(data, dict) or set(data) != {"t", "i", "p"}:
            raise BadCursor("not a cursor this feed gave")
        pending = data["p"]
        if not isinstance(pending, list) or len(pending) > MAX_PENDING:
            raise BadCursor("not a cursor this feed gave")
        numbers = [data["t"], data["i"], *(n for p in pending for n in _pair(p))]
        if not all(_count(n) for n in numbers):
            raise BadCursor("not a cursor this feed gave")
        return cls(data["t"], data["i"], tuple(tuple(p) for p in pending))


def _pair(value) -> list:
    return value if isinstance(value, list) and len(value) == 2 else [None]


def _count(value) -> bool:
    return type(value) is int and 0 <= value <= _MAX_BIGINT


@dataclass
class Page:
    """One read: the rows (oldest first), the cursor for the next read, and whether
    more rows were already waiting."""

    rows: list = field(default_factory=list)
    next: Cursor = field(default_factory=Cursor)
    more: bool = False


@dataclass(frozen=True)
class _Snapshot:
    """A reader's ``pg_current_snapshot()``: which transactions it saw as ended."""

    xmin: int
    xmax: int
    in_progress: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> _Snapshot:
        xmin, xmax, xip = text.split(":")
        running = frozenset(int(x) for x in xip.split(",") if x)
        return cls(int(xmin), int(xmax), running)

    def ended(self, txid: int) -> bool:
        return txid < self.xmin or (txid < self.xmax and txid not in self.in_progress)


def conditions(
    kinds: Sequence[str] = (), town: str = "", county: str = ""
) -> list[sa.ColumnElement]:
    """Return the WHERE conditions of the feed's plain filters (canonical names)."""
    where = []
    if kinds:
        where.append(case_changes.c.kind.in_(list(kinds)))
    if town:
        where.append(cases.c.search_town == town)
    if county:
        where.append(cases.c.county == county)
    return where


#: The reader's snapshot, as text ("xmin:xmax:xip,..."): an uncorrelated scalar
#: subquery, evaluated once per statement, under the statement's own snapshot.
_SNAPSHOT = (
    sa.select(sa.cast(sa.func.pg_current_snapshot(), sa.Text))
    .scalar_subquery()
    .label("snapshot")
)


@functools.lru_cache(maxsize=8)
def _base(snapshot: bool, columns: tuple = COLUMNS) -> sa.Select:
    """The read without its conditions, built once (building it per page cost about
    as much as PostgreSQL's answer at 100 a page), with and without the snapshot."""
    c = case_changes.c
    return (
        sa.select(*columns, *([_SNAPSHOT] if snapshot else []))
        .select_from(case_changes.join(cases, cases.c.docket_no == c.docket_no))
        .order_by(c.txid, c.id)
    )


#: The cursor's point, as bound values (the statement's cache key stays the same).
_AFTER = sa.tuple_(case_changes.c.txid, case_changes.c.id) > sa.tuple_(
    sa.bindparam("after_txid", type_=sa.BigInteger),
    sa.bindparam("after_id", type_=sa.BigInteger),
)


def _statement(cursor: Cursor, where, limit: int, base: sa.Select) -> sa.Select:
    """Return the rows after the cursor: its pending transactions' rows first,
    then those after its point, each part read along the (txid, id) index."""
    c = case_changes.c
    main = base.where(_AFTER, *where).limit(limit)
    if not cursor.pending:
        return main
    unfinished = sa.or_(
        *(sa.and_(c.txid == txid, c.id > last) for txid, last in cursor.pending)
    )
    both = sa.union_all(base.where(unfinished, *where).limit(limit), main)
    ordered = both.subquery()
    return sa.select(ordered).order_by(ordered.c.txid, ordered.c.id).limit(limit)


def read_changes(
    conn: sa.Connection,
    cursor: Cursor,
    limit: int,
    where: Sequence[sa.ColumnElement] = (),
    params: Mapping | None = None,
    columns: tuple = COLUMNS,
) -> Page:
    """Return the next ``limit`` changes after ``cursor`` that meet ``where`` (its
    bound values in ``params``), and the cursor to read on from; ``columns``: a
    reader that needs fewer (:data:`KEY_COLUMNS`) reads faster.

    On PostgreSQL each row carries the snapshot it was read under (the same for
    all: one statement). A read that finds nothing returns the cursor it was given:
    nothing was delivered, and its pending transactions wait for a read with rows.
    """
    postgresql = conn.dialect.name == "postgresql"
    statement = _statement(cursor, where, limit + 1, _base(postgresql, columns))
    bound = {**(params or {}), "after_txid": cursor.txid, "after_id": cursor.id}
    rows = conn.execute(statement, bound).all()
    if not rows:
        return Page(rows=[], next=cursor, more=False)
    snapshot = _Snapshot.parse(rows[0].snapshot) if postgresql else None
    return _page(cursor, rows, limit, snapshot)


def _page(cursor: Cursor, rows: list, limit: int, snapshot: _Snapshot | None) -> Page:
    """Return the page of ``rows`` (one more than ``limit`` if more are waiting)."""
    more = len(rows) > limit
    rows = rows[:limit]
    point = (cursor.txid, cursor.id)
    pending = dict(cursor.pending)
    for row in rows:
        if row.txid in pending:
            pending[row.txid] = row.id
        else:
            point = (row.txid, row.id)
    if snapshot is not None:
        for txid in snapshot.in_progress:
            if txid < point[0]:
                pending.setdefault(txid, 0)
        last = rows[-1].txid if rows else None
        pending = {
            txid: done
            for txid, done in pending.items()
            # ended, and every row of it delivered: none waits past this page
            if not (snapshot.ended(txid) and (not more or txid < last))
        }
    next_cursor = Cursor(point[0], point[1], tuple(sorted(pending.items())))
    return Page(rows=rows, next=next_cursor, more=more)
