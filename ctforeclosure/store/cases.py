"""Store cases and their parties, docket entries and court dates; record what changed.

The upsert pipeline and ``ctforeclosure spool replay`` call :func:`upsert_cases` with
a batch of validated, town-normalised :class:`~ctforeclosure.items.CaseItem` inside one
transaction, and :func:`mark_town_listing` when a town's search was complete.
One code path for SQLite and PostgreSQL, keyed on the compact docket number: every
write goes through :func:`_upsert`, which on SQLite runs an executemany of ``insert
... on conflict do update`` and on PostgreSQL COPYs the rows into a temporary table
and runs one ``insert ... select ... on conflict do update`` (the bulk path, several
times faster than psycopg's per-row executemany).

Rules:

- A case is skipped cheaply when nothing about it changed: its listing hash (the
  search-grid row, :func:`ctforeclosure.items.listing_hash`) and, for a case page
  read this time, its detail hash (the page's fields, children and flags) equal the
  stored ones. Only ``last_seen`` (and ``detail_fetched_at``) move.
- Children are synchronised only from items whose case page was read
  (``detail_fetched``): an item with only the grid row says nothing about parties.
  A child gone from the page gets ``removed_at`` (kept, never deleted); one that comes
  back loses it. A child's ``last_seen`` moves when its case page is synchronised
  after a change, not on every unchanged read (that is what keeps a refresh cheap).
- ``case_changes`` gets one row per meaningful change, old and new values included:
  ``new_case``, ``disposition``, ``docket_entry_added``/``_removed``, ``law_day``,
  ``sale_date``, ``court_date_added``/``_removed``, ``party_added``/``_removed``,
  ``no_longer_listed``, ``relisted``. Changes to what the case page shows are recorded
  only when the page had been read before (a first read has nothing to compare with).
- Every case written gets its search text rewritten from its stored rows
  (:func:`refresh_search_text`), what the web UI's search box matches.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from ctforeclosure import dockets as docket_forms
from ctforeclosure.db import case_changes, cases, court_dates, docket_entries, parties
from ctforeclosure.items import (
    Appearance,
    CaseItem,
    CourtDateItem,
    DocketEntryItem,
    PartyItem,
    listing_hash,
)

__all__ = [
    "UpsertResult",
    "entry_keys",
    "mark_town_listing",
    "refresh_search_text",
    "upsert_cases",
]

#: Dockets per ``IN (...)`` query: well under SQLite's bound-parameter limit.
CHUNK = 500

LISTING_COLUMNS = (
    "docket_display",
    "search_town",
    "county",
    "listing_town",
    "listing_street",
    "listing_zip",
    "case_name",
    "property_type",
    "listing_disposition",
    "paperless",
)
DETAIL_COLUMNS = (
    "detail_fetched_at",
    "caption",
    "prefix",
    "case_type_code",
    "case_type",
    "file_date",
    "return_date",
    "court_location",
    "list_type",
    "last_action_date",
    "disposition_date",
    "disposition",
    "disposition_judge",
    "information_updated",
    "property_address_raw",
    "property_street",
    "property_unit",
    "property_town",
    "property_state",
    "property_zip",
    "judgment_type",
    "law_day",
    "sale_date",
    "is_active",
)
#: What the detail hash leaves out: the listing's own hash covers those fields, and
#: the time of reading is not content.
_DETAIL_HASH_EXCLUDE = (*LISTING_COLUMNS, "docket_no", "detail_fetched_at")

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


@dataclass
class UpsertResult:
    """What one batch did."""

    stored: int = 0  # items written or confirmed
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    changes: int = 0  # case_changes rows written
    new_parties: list[dict] = field(default_factory=list)


def _upsert(conn, table, rows, keys: Sequence[str] = (), keep: Sequence[str] = ()):
    """Insert rows or update them on a key conflict (all columns but keys/keep).

    Without keys, a plain insert. One entry point for both dialects; only the way
    the rows travel differs (see :func:`_copy_upsert`).
    """
    if not rows:
        return
    names = list(rows[0])
    updates = [n for n in names if n not in keys and n not in keep]
    if conn.dialect.name == "postgresql":
        _copy_upsert(conn, table, rows, names, keys, updates)
        return
    if not keys:
        conn.execute(table.insert(), rows)
        return
    stmt = sqlite.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={n: stmt.excluded[n] for n in updates}
    )
    # SQLite: executemany of one prepared statement is already in-process and fast.
    conn.execute(stmt, rows)


#: Names for the per-call staging tables (unique within a transaction).
_staging = itertools.count()


def _copy_upsert(conn, table, rows, names, keys, updates) -> None:
    """PostgreSQL: COPY the rows into a temporary table, then one INSERT ... SELECT.

    Why: psycopg's executemany sends one statement per row (~27 rows a case);
    COPY plus one set-based ``INSERT ... ON CONFLICT`` measured 2-3x the rows/s
    (STACK.md). Same semantics as the SQLite executemany: later values win on a
    key conflict, ``keep`` columns keep their stored value.
    """
    if not keys:  # nothing to merge: straight into the table
        _copy_rows(conn, table, table.name, rows, names)
        return
    tmp = _stage(conn, table, rows, names)
    cols = ", ".join(f'"{n}"' for n in names)
    sql = f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM "{tmp}"'  # noqa: S608
    target = ", ".join(f'"{k}"' for k in keys)
    if updates:
        sets = ", ".join(f'"{n}" = EXCLUDED."{n}"' for n in updates)
        sql += f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
    else:
        sql += f" ON CONFLICT ({target}) DO NOTHING"
    conn.exec_driver_sql(sql)
    conn.exec_driver_sql(f'DROP TABLE "{tmp}"')


def _update_many(conn, table, rows, keys: Sequence[str]) -> None:
    """Update existing rows, one per dict: match on ``keys``, set the other columns.

    SQLite: an executemany of ``UPDATE``; PostgreSQL: COPY into a temporary table
    and one ``UPDATE ... FROM`` (a per-row executemany there cost most of a refresh).
    """
    if not rows:
        return
    names = list(rows[0])
    sets = [n for n in names if n not in keys]
    if conn.dialect.name == "postgresql":
        tmp = _stage(conn, table, rows, names)
        assign = ", ".join(f'"{n}" = s."{n}"' for n in sets)
        match = " AND ".join(f't."{k}" = s."{k}"' for k in keys)
        conn.exec_driver_sql(
            f'UPDATE "{table.name}" AS t SET {assign} '  # noqa: S608
            f'FROM "{tmp}" AS s WHERE {match}'
        )
        conn.exec_driver_sql(f'DROP TABLE "{tmp}"')
        return
    # bindparam names may not be column names in an UPDATE's SET: prefix them.
    stmt = (
        table.update()
        .where(*(table.c[k] == sa.bindparam(f"p_{k}") for k in keys))
        .values({n: sa.bindparam(f"p_{n}") for n in sets})
    )
    conn.execute(stmt, [{f"p_{n}": row[n] for n in names} for row in rows])


def _stage(conn, table, rows, names) -> str:
    """PostgreSQL: COPY rows into a new temporary table; return its name.

    The table has only the loaded columns, with the target's types and no
    constraints or defaults (no sequence is used); it is dropped at commit at the
    latest. Identifiers come from ctforeclosure.db's tables, never from data.
    """
    tmp = f"_ctf_stage_{table.name}_{next(_staging)}"
    cols = ", ".join(f'"{n}"' for n in names)
    conn.exec_driver_sql(
        f'CREATE TEMPORARY TABLE "{tmp}" ON COMMIT DROP AS '  # noqa: S608
        f'SELECT {cols} FROM "{table.name}" WITH NO DATA'
    )
    _copy_rows(conn, table, tmp, rows, names)
    return tmp


def _copy_rows(conn, table, target: str, rows, names, *, tuples=False) -> None:
    """PostgreSQL: COPY rows (dicts of ``table``'s columns) into ``target``.

    With ``tuples``, ``rows`` is any iterable of value sequences in ``names``'
    order, e.g. a generator, consumed while the server already stores the rows
    sent before.
    """
    from psycopg.types.json import Jsonb

    cols = ", ".join(f'"{n}"' for n in names)
    # JSON columns: psycopg would dump a list as an array; None stays JSON null,
    # as SQLAlchemy's JSON type stores it.
    json_at = [i for i, n in enumerate(names) if isinstance(table.c[n].type, sa.JSON)]
    # Dates and times go as their ISO text, rendered once per distinct value: most
    # are the batch's ``now`` (first_seen, last_seen) or repeat (file dates), and
    # psycopg's own dumper costs ~0.7 us a value. The server parses the same text
    # it would get from psycopg (text COPY is untyped), so nothing stored changes.
    # Measured: 400,000 docket-entry rows, 1.07 -> 0.28 s of client CPU.
    temporal_at = [
        i
        for i, n in enumerate(names)
        if isinstance(table.c[n].type, (sa.Date, sa.DateTime))
    ]
    rendered: dict[Any, str] = {}
    get = operator.itemgetter(*names)
    copy_sql = f'COPY "{target}" ({cols}) FROM STDIN'
    raw = conn.connection.driver_connection
    try:
        with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                if tuples:
                    values = list(row)
                else:
                    values = list(get(row)) if len(names) > 1 else [row[names[0]]]
                for i in temporal_at:
                    value = values[i]
                    if value is not None and value.__class__ is not str:
                        text = rendered.get(value)
                        if text is None:
                            text = rendered[value] = value.isoformat()
                        values[i] = text
                for i in json_at:
                    values[i] = Jsonb(values[i])
                copy.write_row(values)
    except conn.dialect.loaded_dbapi.Error as exc:
        # Raise it as SQLAlchemy would (the pipeline spools on DBAPIError), and let
        # the pool drop a connection the server closed.
        disconnect = conn.dialect.is_disconnect(exc, raw, None)
        if disconnect:
            conn.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            copy_sql,
            None,
            exc,
            conn.dialect.loaded_dbapi.Error,
            dialect=conn.dialect,
            is_disconnect=disconnect,
        ) from exc


def _chunks(values: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _key(first, second, third) -> str:
    """Return "first|second|third" (None as empty, dates as ISO), at most KEY_MAX."""
    # An f-string formats str, dates and numbers as str() does; measured 2x the
    # speed of a join over a generator (400,000 keys per 20,000 cases).
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


_CASE_SCALARS = tuple(
    f.name
    for f in fields(CaseItem)
    if f.name not in ("parties", "docket_entries", "court_dates")
)
_HASHED_SCALARS = tuple(n for n in _CASE_SCALARS if n not in _DETAIL_HASH_EXCLUDE)
_APPEARANCE_FIELDS = tuple(f.name for f in fields(Appearance))
_PARTY_ITEM_FIELDS = tuple(f.name for f in fields(PartyItem) if f.name != "appearances")
_ENTRY_ITEM_FIELDS = tuple(f.name for f in fields(DocketEntryItem))
_DATE_ITEM_FIELDS = tuple(f.name for f in fields(CourtDateItem))


def _scalars(case: CaseItem) -> dict[str, Any]:
    """Return the case's own fields (no children): cheaper than ``asdict``."""
    return {name: getattr(case, name) for name in _CASE_SCALARS}


_SCALAR_VALUES = operator.attrgetter(*_HASHED_SCALARS)
_PARTY_VALUES = operator.attrgetter(*_PARTY_ITEM_FIELDS)
_APPEARANCE_VALUES = operator.attrgetter(*_APPEARANCE_FIELDS)
_ENTRY_ITEM_VALUES = operator.attrgetter(*_ENTRY_ITEM_FIELDS)
_DATE_ITEM_VALUES = operator.attrgetter(*_DATE_ITEM_FIELDS)


def detail_hash(case: CaseItem) -> str:
    """Return the hash of what the case page showed: its fields, children, flags.

    The values are gathered as tuples (one C call per object), which JSON writes
    exactly as lists: the hashes stay those already stored.
    """
    payload = [
        _SCALAR_VALUES(case),
        [
            [*_PARTY_VALUES(p), *map(_APPEARANCE_VALUES, p.appearances)]
            for p in case.parties
        ],
        list(map(_ENTRY_ITEM_VALUES, case.docket_entries)),
        list(map(_DATE_ITEM_VALUES, case.court_dates)),
    ]
    text = json.dumps(payload, default=str, separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _dedupe(items: Sequence[CaseItem]) -> list[CaseItem]:
    """Keep one item per docket: the last, unless only an earlier one read the page."""
    chosen: dict[str, CaseItem] = {}
    for item in items:
        before = chosen.get(item.docket_no)
        if before is not None and before.detail_fetched and not item.detail_fetched:
            continue
        chosen[item.docket_no] = item
    return list(chosen.values())


def _load_existing(conn, dockets: list[str]) -> dict[str, Any]:
    cols = [
        cases.c.docket_no,
        cases.c.listing_hash,
        cases.c.detail_hash,
        cases.c.search_town,
        cases.c.file_date,
        cases.c.paperless,
        cases.c.docket_display,
        cases.c.listing_disposition,
        cases.c.disposition,
        cases.c.law_day,
        cases.c.sale_date,
        cases.c.listed,
        cases.c.flags,
    ]
    found = {}
    for chunk in _chunks(dockets):
        for row in conn.execute(sa.select(*cols).where(cases.c.docket_no.in_(chunk))):
            found[row.docket_no] = row
    return found


class _Changes:
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
                "old_value": _json_value(old),
                "new_value": _json_value(new),
                "seen_at": self.now,
                "crawl_id": self.crawl_id,
            }
        )


def _json_value(value):
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def upsert_cases(
    conn: sa.Connection,
    items: Sequence[CaseItem],
    *,
    now: datetime,
    crawl_id: int | None = None,
) -> UpsertResult:
    """Store a batch of cases inside the caller's transaction; return what it did."""
    result = UpsertResult()
    batch = _dedupe(items)
    if not batch:
        return result
    existing = _load_existing(conn, [c.docket_no for c in batch])
    changes = _Changes(now, crawl_id)
    touch: list[dict] = []  # unchanged: last_seen only
    touch_read: list[dict] = []  # unchanged page read again: + detail_fetched_at
    listing_rows: list[dict] = []
    detail_rows: list[dict] = []
    synced: list[tuple[CaseItem, bool]] = []  # (case, page read before)
    for case in batch:
        data = _scalars(case)
        lhash = listing_hash(data)
        dhash = detail_hash(case) if case.detail_fetched else None
        old = existing.get(case.docket_no)
        base = {
            "docket_no": case.docket_no,
            **{c: data[c] for c in LISTING_COLUMNS},
            "listing_hash": lhash,
        }
        if not base["docket_display"]:
            base["docket_display"] = docket_forms.dashed(case.docket_no)
        if old is None:
            result.new += 1
            changes.add(
                case.docket_no,
                "new_case",
                new={"search_town": case.search_town, "file_date": case.file_date},
            )
        else:
            listing_same = (
                old.listing_hash == lhash
                and old.listed
                and old.search_town == case.search_town
                and old.paperless == case.paperless
            )
            if listing_same and (dhash is None or dhash == old.detail_hash):
                result.unchanged += 1
                if case.detail_fetched:
                    touch_read.append(
                        {"k": case.docket_no, "fetched": case.detail_fetched_at}
                    )
                else:
                    touch.append({"k": case.docket_no})
                continue
            result.changed += 1
            _record_case_changes(changes, case, old)
        row = {
            **base,
            "listed": True,
            "no_longer_listed_at": None,
            "first_seen": now,
            "last_seen": now,
            "last_changed": now,
            "last_crawl_id": crawl_id,
        }
        if case.detail_fetched:
            row.update({c: data[c] for c in DETAIL_COLUMNS})
            row["detail_hash"] = dhash
            row["flags"] = list(case.flags)
            detail_rows.append(row)
            synced.append((case, old is not None and old.detail_hash is not None))
        else:
            stored_flags = list(old.flags or []) if old is not None else []
            row["flags"] = stored_flags + [
                f for f in case.flags if f not in stored_flags
            ]
            listing_rows.append(row)
    _upsert(conn, cases, listing_rows, ["docket_no"], keep=["first_seen"])
    _upsert(conn, cases, detail_rows, ["docket_no"], keep=["first_seen"])
    _touch(conn, touch, touch_read, now, crawl_id)
    if synced:
        result.new_parties = _sync_children(conn, synced, changes, now)
    refresh_search_text(conn, [row["docket_no"] for row in listing_rows + detail_rows])
    _upsert(conn, case_changes, changes.rows)
    result.changes = len(changes.rows)
    result.stored = len(batch)
    return result


def _search_text():
    """The text the web UI's search matches, computed from a case's row and its
    parties' rows: case name, streets and every party's name (removed ones too), one
    per line, upper-cased so that a search matches with LIKE, not ILIKE (migration
    0011). In SQL, so that it is the same whoever writes the rows."""
    names = (
        sa.select(sa.func.aggregate_strings(parties.c.name, "\n"))
        .where(parties.c.docket_no == cases.c.docket_no)
        .scalar_subquery()
    )
    lines = [
        sa.func.coalesce(column, "")
        for column in (
            cases.c.case_name,
            cases.c.property_street,
            cases.c.listing_street,
            names,
        )
    ]
    return sa.func.upper(functools.reduce(lambda text, line: text + "\n" + line, lines))


def refresh_search_text(
    conn: sa.Connection, docket_nos: Iterable[str] | None = None
) -> None:
    """Rewrite these cases' (every case's when None) search text from their rows.
    The store calls it for every case it writes; tests and tools that write rows
    around the store call it after."""
    update = cases.update().values(search_text=_search_text())
    if docket_nos is None:
        conn.execute(update)
        return
    for chunk in _chunks(sorted(set(docket_nos))):
        conn.execute(update.where(cases.c.docket_no.in_(chunk)))


def _record_case_changes(changes: _Changes, case: CaseItem, old) -> None:
    if old.listing_disposition != case.listing_disposition and not case.detail_fetched:
        changes.add(
            case.docket_no,
            "disposition",
            "listing_disposition",
            old.listing_disposition,
            case.listing_disposition,
        )
    if not old.listed:
        changes.add(case.docket_no, "relisted", "listed", False, True)
    if not case.detail_fetched or old.detail_hash is None:
        return
    for name in ("disposition", "law_day", "sale_date"):
        before, after = getattr(old, name), getattr(case, name)
        if before != after:
            changes.add(case.docket_no, name, name, before, after)


def _touch(conn, touch, touch_read, now, crawl_id) -> None:
    """Move last_seen (and detail_fetched_at) of unchanged cases."""
    for chunk in _chunks([t["k"] for t in touch]):
        conn.execute(
            cases.update()
            .where(cases.c.docket_no.in_(chunk))
            .values(last_seen=now, last_crawl_id=crawl_id)
        )
    _update_many(
        conn,
        cases,
        [
            {
                "docket_no": t["k"],
                "detail_fetched_at": t["fetched"],
                "last_seen": now,
                "last_crawl_id": crawl_id,
            }
            for t in touch_read
        ],
        ["docket_no"],
    )


def _load_children(conn, table, key_col, dockets, fields_) -> dict[str, dict]:
    """Return docket -> key -> stored row (with removed_at and the fields)."""
    found: dict[str, dict] = {}
    cols = [table.c.docket_no, table.c[key_col], table.c.removed_at]
    cols += [table.c[f] for f in fields_]
    for chunk in _chunks(dockets):
        for row in conn.execute(sa.select(*cols).where(table.c.docket_no.in_(chunk))):
            found.setdefault(row.docket_no, {})[getattr(row, key_col)] = row
    return found


def _same(row, wanted: dict, fields_) -> bool:
    return row.removed_at is None and all(getattr(row, f) == wanted[f] for f in fields_)


def _assign_ids(conn, table, rows: list[dict]) -> None:
    """PostgreSQL: give rows about to be inserted ids from the table's sequence.

    One query for the batch, so that the new rows' ids are known without reading
    them back (that read-back cost 0.7 s of 10.9 s for 20,000 new cases).
    """
    if not rows or conn.dialect.name != "postgresql":
        return
    ids = conn.exec_driver_sql(
        "SELECT nextval(seq) FROM pg_get_serial_sequence(%(table)s, 'id') AS seq, "
        "generate_series(1, %(count)s)",
        {"table": table.name, "count": len(rows)},
    ).scalars()
    for row, id_ in zip(rows, ids, strict=True):
        row["id"] = id_


def _sync_table(
    conn,
    table,
    key_col,
    fields_,
    wanted_by_case,
    stored,
    now,
    on_added,
    on_removed,
    assign_ids=False,
):
    """Upsert new/changed/returning children, mark vanished ones removed.

    ``wanted_by_case`` maps docket -> key -> the whole row to write. A case with
    no stored rows in the table (read for the first time) cannot conflict: its
    rows are plainly inserted (on PostgreSQL, COPYed straight into the table), the
    bulk of a first load.
    """
    upserts: list[dict] = []
    inserts: list[dict] = []
    removed: list[dict] = []
    for docket, wanted in wanted_by_case.items():
        have = stored.get(docket)
        if not have:
            for key, values in wanted.items():
                on_added(docket, key, values, None)
            inserts.extend(wanted.values())
            continue
        for key, values in wanted.items():
            row = have.get(key)
            if row is not None and _same(row, values, fields_):
                continue
            if row is None or row.removed_at is not None:
                on_added(docket, key, values, row)
            upserts.append(values)
        for key, row in have.items():
            if key not in wanted and row.removed_at is None:
                removed.append({"docket_no": docket, key_col: key, "removed_at": now})
                on_removed(docket, key, row)
    if assign_ids:
        _assign_ids(conn, table, inserts)
    _upsert(conn, table, inserts)
    _upsert(conn, table, upserts, ["docket_no", key_col], keep=["first_seen"])
    _update_many(conn, table, removed, ["docket_no", key_col])
    return inserts + upserts


_SEEN = ("first_seen", "last_seen", "removed_at")
_ENTRY_ROW = ("docket_no", "entry_key", *ENTRY_FIELDS, *_SEEN)
_DATE_ROW = ("docket_no", "date_key", *DATE_FIELDS, *_SEEN)
_ENTRY_VALUES = operator.attrgetter(*ENTRY_FIELDS[1:])  # all but "seq"
_DATE_VALUES = operator.attrgetter(*DATE_FIELDS)


def _sync_children(conn, synced, changes: _Changes, now) -> list[dict]:
    """Synchronise parties, entries and dates of cases whose page changed.

    The rows to write are built whole, once (a first load writes them as they
    are): one ``dict(zip(...))`` per entry, the bulk of a case's rows.
    """
    read_before = {case.docket_no: before for case, before in synced}
    known = [d for d, before in read_before.items() if before]
    want_parties, want_entries, want_dates = {}, {}, {}
    for case, _ in synced:
        docket = case.docket_no
        want_parties[docket] = {
            p.party_no: {
                "docket_no": docket,
                "party_no": p.party_no,
                "role": p.role,
                "category": (p.category or "").strip() or None,
                "name": p.name,
                "non_appearing": bool(p.non_appearing),
                "appearances": [
                    {n: _json_value(getattr(a, n)) for n in _APPEARANCE_FIELDS}
                    for a in p.appearances
                ],
                "first_seen": now,
                "last_seen": now,
                "removed_at": None,
            }
            for p in case.parties
        }
        if not read_before[docket]:
            continue  # entries and dates: streamed by _insert_first_read below
        want_entries[docket] = {
            row[1]: dict(zip(_ENTRY_ROW, row, strict=True))
            for row in _entry_rows(case, now)
        }
        want_dates[docket] = {
            row[1]: dict(zip(_DATE_ROW, row, strict=True))
            for row in _date_rows(case, now)
        }
    # Cases read for the first time have nothing stored: skip the lookups.
    stored_parties = _load_children(conn, parties, "party_no", known, PARTY_FIELDS)
    stored_entries = _load_children(
        conn, docket_entries, "entry_key", known, ENTRY_FIELDS
    )
    stored_dates = _load_children(conn, court_dates, "date_key", known, DATE_FIELDS)

    def party_added(docket, key, values, row):
        if read_before[docket]:
            changes.add(
                docket,
                "party_added",
                key,
                None,
                {"party_no": key, "role": values["role"], "name": values["name"]},
            )

    def party_removed(docket, key, row):
        changes.add(
            docket,
            "party_removed",
            key,
            {"party_no": key, "role": row.role, "name": row.name},
            None,
        )

    def entry_added(docket, key, values, row):
        if read_before[docket]:
            changes.add(
                docket,
                "docket_entry_added",
                values["entry_no"],
                None,
                {
                    "entry_no": values["entry_no"],
                    "file_date": values["file_date"],
                    "description": values["description"],
                },
            )

    def entry_removed(docket, key, row):
        changes.add(
            docket,
            "docket_entry_removed",
            row.entry_no,
            {
                "entry_no": row.entry_no,
                "file_date": row.file_date,
                "description": row.description,
            },
            None,
        )

    def date_added(docket, key, values, row):
        if read_before[docket]:
            changes.add(
                docket,
                "court_date_added",
                "court_date",
                None,
                {f: values[f] for f in DATE_FIELDS},
            )

    def date_removed(docket, key, row):
        changes.add(
            docket,
            "court_date_removed",
            "court_date",
            {f: getattr(row, f) for f in DATE_FIELDS},
            None,
        )

    party_rows = _sync_table(
        conn,
        parties,
        "party_no",
        PARTY_FIELDS,
        want_parties,
        stored_parties,
        now,
        party_added,
        party_removed,
        assign_ids=True,
    )
    _sync_table(
        conn,
        docket_entries,
        "entry_key",
        ENTRY_FIELDS,
        want_entries,
        stored_entries,
        now,
        entry_added,
        entry_removed,
    )
    _sync_table(
        conn,
        court_dates,
        "date_key",
        DATE_FIELDS,
        want_dates,
        stored_dates,
        now,
        date_added,
        date_removed,
    )
    first_read = [case for case, before in synced if not before]
    _insert_first_read(conn, docket_entries, _ENTRY_ROW, first_read, _entry_rows, now)
    _insert_first_read(conn, court_dates, _DATE_ROW, first_read, _date_rows, now)
    return _new_parties(conn, party_rows, stored_parties)


def _entry_rows(case: CaseItem, now) -> Iterable[tuple]:
    """Yield the case's docket-entry rows as tuples in ``_ENTRY_ROW`` order."""
    docket = case.docket_no
    for seq, (key, e) in enumerate(
        zip(entry_keys(case), case.docket_entries, strict=True), 1
    ):
        yield (docket, key, seq, *_ENTRY_VALUES(e), now, now, None)


def _date_rows(case: CaseItem, now) -> Iterable[tuple]:
    """Yield the case's court-date rows as tuples in ``_DATE_ROW`` order."""
    docket = case.docket_no
    for key, d in zip(date_keys(case), case.court_dates, strict=True):
        yield (docket, key, *_DATE_VALUES(d), now, now, None)


def _insert_first_read(conn, table, names, first_read, rows_of, now) -> None:
    """Insert the children of cases whose page is read for the first time.

    Nothing of theirs is stored, so nothing can conflict and no change is
    recorded (a first read has nothing to compare with). On PostgreSQL the rows
    are built while the COPY runs: the server stores the rows already sent while
    Python builds the next ones, instead of waiting for all of them (a first load
    is ~20 entries a case; the server's part of that COPY is the longer one).
    """
    if not first_read:
        return
    rows = (row for case in first_read for row in rows_of(case, now))
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, table, table.name, rows, names, tuples=True)
        return
    batch = [dict(zip(names, row, strict=True)) for row in rows]
    if batch:
        conn.execute(table.insert(), batch)


_NEW_PARTY_FIELDS = ("docket_no", "party_no", "role", "category", "name")


def _new_parties(conn, party_rows, stored_parties) -> list[dict]:
    """Return the parties this batch inserted (not updated or returning), with ids,
    in docket and party-number order.

    Rows inserted with ids from :func:`_assign_ids` (PostgreSQL) are known as they
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
    for chunk in _chunks(dockets):
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


def mark_town_listing(
    conn: sa.Connection,
    town: str,
    listed_dockets: Iterable[str],
    *,
    now: datetime,
    crawl_id: int | None = None,
) -> tuple[int, int]:
    """Apply a complete search of one town: unlist the stored cases it no longer
    shows, relist those it shows again. Return (unlisted, relisted)."""
    wanted = set()
    for value in listed_dockets:
        try:
            wanted.add(docket_forms.compact(value))
        except docket_forms.InvalidDocket:
            continue
    stored = conn.execute(
        sa.select(cases.c.docket_no, cases.c.listed).where(cases.c.search_town == town)
    ).all()
    gone = [r.docket_no for r in stored if r.listed and r.docket_no not in wanted]
    back = [r.docket_no for r in stored if not r.listed and r.docket_no in wanted]
    changes = _Changes(now, crawl_id)
    for chunk in _chunks(gone):
        conn.execute(
            cases.update()
            .where(cases.c.docket_no.in_(chunk))
            .values(listed=False, no_longer_listed_at=now, last_changed=now)
        )
    for chunk in _chunks(back):
        conn.execute(
            cases.update()
            .where(cases.c.docket_no.in_(chunk))
            .values(listed=True, no_longer_listed_at=None, last_changed=now)
        )
    for docket in gone:
        changes.add(docket, "no_longer_listed", "listed", True, False)
    for docket in back:
        changes.add(docket, "relisted", "listed", False, True)
    _upsert(conn, case_changes, changes.rows)
    return len(gone), len(back)
