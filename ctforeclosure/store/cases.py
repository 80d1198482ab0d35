"""Store cases from the search grid and case pages; record what changed.

The upsert pipeline and ``ctforeclosure spool replay`` call :func:`upsert_cases` with
a batch of validated, town-normalised :class:`~ctforeclosure.items.CaseItem` inside one
transaction, and :func:`mark_town_listing` when a town's search was complete.
One code path for SQLite and PostgreSQL, keyed on the compact docket number; the
rows travel through :mod:`ctforeclosure.store.bulk`, and the parties, docket
entries and court dates of a case whose page was read are synchronised by
:mod:`ctforeclosure.store.children`.

Rules:

- A case is skipped cheaply when nothing about it changed: its listing hash (the
  search-grid row, :func:`ctforeclosure.items.listing_hash`) and, for a case page
  read this time, its detail hash (the page's fields, children and flags) equal the
  stored ones. Only ``last_seen`` (and ``detail_fetched_at``) move.
- Children are synchronised only from items whose case page was read
  (``detail_fetched``): an item with only the grid row says nothing about parties.
- ``case_changes`` gets one row per meaningful change, old and new values included:
  ``new_case``, ``disposition``, ``docket_entry_added``/``_removed``, ``law_day``,
  ``sale_date``, ``judgment`` (a judgment of strict foreclosure or of foreclosure
  by sale entered: ``judgment_type`` became "strict" or "sale"),
  ``court_date_added``/``_removed``, ``party_added``/``_removed``,
  ``no_longer_listed``, ``relisted``. Changes to what the case page shows are recorded
  only when the page had been read before (a first read has nothing to compare with).
- Every case written gets its search text, what the web UI's search box matches. A
  new case gets it in its own ``INSERT``, from the rows about to be stored (its
  parties are all the item's), so that its row and the row's fifteen indexes are
  written once; a stored case's is rewritten from its stored rows after the batch
  (:func:`refresh_search_text`), since removed parties stay in it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ctforeclosure import dockets as docket_forms
from ctforeclosure.db import case_changes, cases, parties
from ctforeclosure.items import (
    LISTING_FIELDS,
    Appearance,
    CaseItem,
    CourtDateItem,
    DocketEntryItem,
    PartyItem,
    listing_hash,
)
from ctforeclosure.store.bulk import chunks, one_per_key, update_many, upsert
from ctforeclosure.store.changes import Changes
from ctforeclosure.store.children import sync_children

__all__ = [
    "DETAIL_COLUMNS",
    "LISTING_COLUMNS",
    "UpsertResult",
    "detail_hash",
    "mark_town_listing",
    "refresh_search_text",
    "upsert_cases",
]

#: The search-grid row as stored: the fields its hash covers (the docket is the
#: key) and those the grid shows that the hash leaves out.
LISTING_COLUMNS = (
    *(name for name in LISTING_FIELDS if name != "docket_no"),
    "docket_display",
    "search_town",
    "county",
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


@dataclass
class UpsertResult:
    """What one batch did."""

    stored: int = 0  # items written or confirmed
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    changes: int = 0  # case_changes rows written
    new_parties: list[dict] = field(default_factory=list)


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
        cases.c.judgment_type,
        cases.c.listed,
        cases.c.flags,
    ]
    found = {}
    for chunk in chunks(dockets):
        for row in conn.execute(sa.select(*cols).where(cases.c.docket_no.in_(chunk))):
            found[row.docket_no] = row
    return found


@dataclass
class _Plan:
    """What one batch writes, sorted by how it is written."""

    touch: list[dict] = field(default_factory=list)  # unchanged: last_seen only
    touch_read: list[dict] = field(default_factory=list)  # + detail_fetched_at
    listing_rows: list[dict] = field(default_factory=list)
    detail_rows: list[dict] = field(default_factory=list)
    synced: list[tuple[CaseItem, bool]] = field(default_factory=list)  # read before?
    refresh: list[str] = field(default_factory=list)  # stored cases written


def upsert_cases(
    conn: sa.Connection,
    items: Sequence[CaseItem],
    *,
    now: datetime,
    crawl_id: int | None = None,
) -> UpsertResult:
    """Store a batch of cases inside the caller's transaction; return what it did."""
    result = UpsertResult()
    batch = one_per_key(items, "docket_no", "detail_fetched")
    if not batch:
        return result
    existing = _load_existing(conn, [c.docket_no for c in batch])
    changes = Changes(now, crawl_id)
    plan = _Plan()
    for case in batch:
        _plan_case(plan, case, existing.get(case.docket_no), changes, result)
    for rows in (plan.listing_rows, plan.detail_rows):
        upsert(conn, cases, rows, ["docket_no"], ["first_seen"], ["search_text"])
    _touch(conn, plan.touch, plan.touch_read, now, crawl_id)
    if plan.synced:
        result.new_parties = sync_children(conn, plan.synced, changes, now)
    refresh_search_text(conn, plan.refresh)
    upsert(conn, case_changes, changes.rows)
    result.changes = len(changes.rows)
    result.stored = len(batch)
    return result


def _plan_case(
    plan: _Plan, case: CaseItem, old, changes: Changes, result: UpsertResult
) -> None:
    """Sort one case into the plan: new, changed (with its changes) or unchanged.

    ``old`` is the stored row (None for a new case); the row to write is stamped
    with the batch's time and crawl, which ``changes`` carries.
    """
    data = _scalars(case)
    lhash = listing_hash(data)
    dhash = detail_hash(case) if case.detail_fetched else None
    if old is None:
        result.new += 1
        changes.add(
            case.docket_no,
            "new_case",
            new={"search_town": case.search_town, "file_date": case.file_date},
        )
    elif _unchanged(case, old, lhash, dhash):
        result.unchanged += 1
        if case.detail_fetched:
            plan.touch_read.append(
                {"k": case.docket_no, "fetched": case.detail_fetched_at}
            )
        else:
            plan.touch.append({"k": case.docket_no})
        return
    else:
        result.changed += 1
        _record_case_changes(changes, case, old)
        plan.refresh.append(case.docket_no)
    row = _case_row(case, data, lhash, changes.now, changes.crawl_id)
    if case.detail_fetched:
        row.update({c: data[c] for c in DETAIL_COLUMNS})
        row["detail_hash"] = dhash
        row["flags"] = list(case.flags)
        plan.detail_rows.append(row)
        plan.synced.append((case, old is not None and old.detail_hash is not None))
    else:
        stored_flags = list(old.flags or []) if old is not None else []
        row["flags"] = stored_flags + [f for f in case.flags if f not in stored_flags]
        plan.listing_rows.append(row)
    # A stored case's is rewritten from its stored rows after the batch.
    row["search_text"] = _new_search_text(case, row) if old is None else None


def _unchanged(case: CaseItem, old, lhash: str, dhash: str | None) -> bool:
    """True when neither the grid row nor (when read) the case page changed."""
    listing_same = (
        old.listing_hash == lhash
        and old.listed
        and old.search_town == case.search_town
        and old.paperless == case.paperless
    )
    return listing_same and (dhash is None or dhash == old.detail_hash)


def _case_row(case: CaseItem, data, lhash: str, now, crawl_id) -> dict[str, Any]:
    """Return the case's row from the grid's fields, listed and seen now."""
    row = {
        "docket_no": case.docket_no,
        **{c: data[c] for c in LISTING_COLUMNS},
        "listing_hash": lhash,
        "listed": True,
        "no_longer_listed_at": None,
        "first_seen": now,
        "last_seen": now,
        "last_changed": now,
        "last_crawl_id": crawl_id,
    }
    if not row["docket_display"]:
        row["docket_display"] = docket_forms.dashed(case.docket_no)
    return row


def _record_case_changes(changes: Changes, case: CaseItem, old) -> None:
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
    if case.judgment_type and case.judgment_type != old.judgment_type:
        # a judgment entered (or a strict one turned into one by sale); one
        # vacated leaves judgment_type empty and is no news to watchers
        changes.add(
            case.docket_no,
            "judgment",
            "judgment_type",
            old.judgment_type,
            case.judgment_type,
        )


def _touch(conn, touch, touch_read, now, crawl_id) -> None:
    """Move last_seen (and detail_fetched_at) of unchanged cases."""
    for chunk in chunks([t["k"] for t in touch]):
        conn.execute(
            cases.update()
            .where(cases.c.docket_no.in_(chunk))
            .values(last_seen=now, last_crawl_id=crawl_id)
        )
    update_many(
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


def _new_search_text(case: CaseItem, row: dict[str, Any]) -> str:
    """Return a new case's search text as :func:`_search_text` computes it from the
    rows about to be stored, before the database upper-cases it: the children's
    store keeps the last party of a party number, and a grid row has no parties."""
    names = {p.party_no: p.name for p in case.parties} if case.detail_fetched else {}
    lines = (
        row.get("case_name"),
        row.get("property_street"),
        row.get("listing_street"),
        "\n".join(names.values()),
    )
    return "\n".join(line or "" for line in lines)


def refresh_search_text(
    conn: sa.Connection, docket_nos: Iterable[str] | None = None
) -> None:
    """Rewrite these cases' (every case's when None) search text from their rows.
    The store calls it for every stored case it rewrites (a new case's comes with
    its insert); tests and tools that write rows around the store call it after."""
    update = cases.update().values(search_text=_search_text())
    if docket_nos is None:
        conn.execute(update)
        return
    for chunk in chunks(sorted(set(docket_nos))):
        conn.execute(update.where(cases.c.docket_no.in_(chunk)))


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
        sa.select(cases.c.docket_no, cases.c.listed, cases.c.listing_town).where(
            cases.c.search_town == town
        )
    ).all()
    # A case never seen on the grid (created from a sale notice, e.g. a commercial
    # property the default search leaves out) is not "no longer listed" there.
    gone = [
        r.docket_no
        for r in stored
        if r.listed and r.docket_no not in wanted and r.listing_town is not None
    ]
    back = [r.docket_no for r in stored if not r.listed and r.docket_no in wanted]
    changes = Changes(now, crawl_id)
    for chunk in chunks(gone):
        conn.execute(
            cases.update()
            .where(cases.c.docket_no.in_(chunk))
            .values(listed=False, no_longer_listed_at=now, last_changed=now)
        )
    for chunk in chunks(back):
        conn.execute(
            cases.update()
            .where(cases.c.docket_no.in_(chunk))
            .values(listed=True, no_longer_listed_at=None, last_changed=now)
        )
    for docket in gone:
        changes.add(docket, "no_longer_listed", "listed", True, False)
    for docket in back:
        changes.add(docket, "relisted", "listed", False, True)
    upsert(conn, case_changes, changes.rows)
    return len(gone), len(back)
