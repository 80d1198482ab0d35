"""Store sale postings; record their story in the change history, per docket.

The upsert pipeline and ``ctforeclosure spool replay`` call :func:`upsert_sales` with
a batch of validated, town-normalised :class:`~ctforeclosure.items.SaleItem` inside
one transaction, and :func:`mark_town_sales` when a town's list was read completely.
The ``sales`` spider asks :func:`load_sale_index` once, at start, which notices it
must read again.

Rules:

- Idempotent: a posting whose stored values equal the item's only moves
  ``last_seen`` (and ``notice_fetched_at`` when its notice was read).
- A list-only item (``notice_fetched`` False) never blanks what an earlier notice
  said: only the list's own columns are written.
- A sale whose docket is not stored creates a listing-only case marked
  ``from_sale`` (and a ``new_case`` change saying so).
- ``case_changes`` kinds, distinct from the cases' own: ``sale_scheduled``,
  ``sale_moved`` (date or time; per docket, so a re-noticed sale under a new posting
  id is one move), ``sale_cancelled``, ``sale_unlisted`` (its last state and whether
  it left before or after its sale date) and ``sale_relisted``.
- ``cases.notice_sale_date`` follows the docket's newest listed, scheduled posting:
  the effective sale date is it, else the docket wording's ``sale_date``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from ctforeclosure import dockets as docket_forms
from ctforeclosure.db import aware, case_changes, cases, sales
from ctforeclosure.items import SALE_NOTICE_FIELDS, SaleItem, sale_listing_hash
from ctforeclosure.store.bulk import chunks, one_per_key, update_many, upsert
from ctforeclosure.store.changes import Changes

__all__ = [
    "LIST_COLUMNS",
    "NOTICE_COLUMNS",
    "SalesResult",
    "effective_sale_date",
    "load_sale_index",
    "mark_town_sales",
    "upsert_sales",
]

#: What the town list shows (always written).
LIST_COLUMNS = (
    "docket_no",
    "town",
    "county",
    "sale_at",
    "sale_date",
    "sale_time",
    "sale_type",
    "property_type",
    "heading",
    "address_raw",
    "address_street",
    "address_unit",
    "address_town",
    "address_zip",
    "status",
    "cancel_reason",
)
#: What only the notice shows (written when the notice was read).
NOTICE_COLUMNS = SALE_NOTICE_FIELDS
_COMPARED = (*LIST_COLUMNS, *NOTICE_COLUMNS, "flags")


@dataclass
class SalesResult:
    """What one batch did."""

    stored: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    cases_created: int = 0
    changes: int = 0


def effective_sale_date():
    """The effective sale date as SQL: the notice's, else the docket wording's."""
    return sa.func.coalesce(cases.c.notice_sale_date, cases.c.sale_date)


def load_sale_index(engine: sa.Engine) -> dict[int, tuple[str | None, datetime | None]]:
    """Return ``{posting_id: (listing_hash, notice_fetched_at)}`` of stored sales."""
    query = sa.select(
        sales.c.posting_id, sales.c.listing_hash, sales.c.notice_fetched_at
    )
    with engine.connect() as conn:
        return {pid: (lhash, aware(at)) for pid, lhash, at in conn.execute(query)}


def _ensure_cases(conn, batch: list[SaleItem], changes: Changes) -> list[str]:
    """Create a listing-only case, marked ``from_sale``, for each unknown docket."""
    wanted = sorted({s.docket_no for s in batch})
    known = set()
    for chunk in chunks(wanted):
        known |= set(
            conn.execute(
                sa.select(cases.c.docket_no).where(cases.c.docket_no.in_(chunk))
            ).scalars()
        )
    first = {}
    for sale in batch:
        if sale.docket_no not in known:
            first.setdefault(sale.docket_no, sale)
    now = changes.now
    rows = [
        {
            "docket_no": docket,
            "docket_display": docket_forms.dashed(docket),
            "search_town": sale.town,
            "county": sale.county,
            "from_sale": True,
            "listed": True,
            "flags": [],
            "first_seen": now,
            "last_seen": now,
            "last_changed": now,
            "last_crawl_id": changes.crawl_id,
        }
        for docket, sale in first.items()
    ]
    upsert(conn, cases, rows, ["docket_no"], keep=["first_seen"])
    for docket, sale in first.items():
        changes.add(
            docket, "new_case", new={"search_town": sale.town, "from_sale": True}
        )
    return list(first)


def _load(conn, column, keys) -> list:
    found = []
    for chunk in chunks(sorted(set(keys))):
        found += conn.execute(sa.select(sales).where(column.in_(chunk))).all()
    return found


def _row(sale: SaleItem, now, crawl_id, with_notice: bool) -> dict:
    data = asdict(sale)
    names = LIST_COLUMNS + (NOTICE_COLUMNS if with_notice else ())
    row = {"posting_id": sale.posting_id, **{n: data[n] for n in names}}
    if sale.sale_at is not None:  # SQLite keeps no offset: store every moment in UTC
        row["sale_at"] = sale.sale_at.astimezone(UTC)
    row.update(
        listing_hash=sale_listing_hash(data),
        flags=list(sale.flags),
        listed=True,
        unlisted_at=None,
        first_seen=now,
        last_seen=now,
        last_changed=now,
        last_crawl_id=crawl_id,
    )
    if sale.notice_fetched:
        row["notice_fetched_at"] = sale.notice_fetched_at or now
    return row


def _same(sale: SaleItem, old) -> bool:
    names = _COMPARED if sale.notice_fetched else (*LIST_COLUMNS, "flags")
    for name in names:
        before, after = getattr(old, name), getattr(sale, name)
        if name == "sale_at":
            before = aware(before)
        if name == "flags":
            before, after = sorted(before or []), sorted(after or [])
        if before != after:
            return False
    return bool(old.listed)


def _moment(sale) -> dict:
    """Return a posting's state as the history keeps it."""
    return {
        "posting_id": sale.posting_id,
        "sale_at": aware(sale.sale_at),
        "status": sale.status,
    }


def _record(changes: Changes, sale: SaleItem, old, previous) -> None:
    """Add the changes one posting brings, against its stored row or the docket's."""
    docket = sale.docket_no
    before = old if old is not None else previous
    if before is None:
        changes.add(docket, "sale_scheduled", "sale_at", None, _moment(sale))
    elif aware(before.sale_at) != sale.sale_at:
        changes.add(docket, "sale_moved", "sale_at", _moment(before), _moment(sale))
    if sale.status == "cancelled" and (before is None or before.status != "cancelled"):
        changes.add(
            docket,
            "sale_cancelled",
            "status",
            _moment(before) if before is not None else None,
            {**_moment(sale), "reason": sale.cancel_reason},
        )
    elif old is not None and old.status == "cancelled" and sale.status != "cancelled":
        changes.add(docket, "sale_scheduled", "status", _moment(old), _moment(sale))
    if old is not None and not old.listed:
        changes.add(docket, "sale_relisted", "listed", False, _moment(sale))


def _previous_by_docket(conn, batch, existing) -> dict[str, object]:
    """Return, per docket of a new posting, its newest other stored posting."""
    fresh = [s for s in batch if s.posting_id not in existing]
    previous: dict[str, object] = {}
    ours = {s.posting_id for s in batch}
    for row in _load(conn, sales.c.docket_no, [s.docket_no for s in fresh]):
        if row.posting_id in ours:
            continue
        kept = previous.get(row.docket_no)
        if kept is None or row.posting_id > kept.posting_id:
            previous[row.docket_no] = row
    return previous


def upsert_sales(
    conn: sa.Connection,
    items: Sequence[SaleItem],
    *,
    now: datetime,
    crawl_id: int | None = None,
) -> SalesResult:
    """Store a batch of sales inside the caller's transaction; return what it did."""
    result = SalesResult()
    unique = one_per_key(items, "posting_id", "notice_fetched")
    batch = sorted(unique, key=lambda s: s.posting_id)
    if not batch:
        return result
    changes = Changes(now, crawl_id)
    created = _ensure_cases(conn, batch, changes)
    result.cases_created = len(created)
    existing = {
        r.posting_id: r
        for r in _load(conn, sales.c.posting_id, [s.posting_id for s in batch])
    }
    previous = _previous_by_docket(conn, batch, existing)
    written = {True: [], False: []}
    touched = []
    for sale in batch:
        old = existing.get(sale.posting_id)
        if old is not None and _same(sale, old):
            result.unchanged += 1
            touched.append(_touch_row(sale, old, now, crawl_id))
            continue
        result.new += old is None
        result.changed += old is not None
        _record(changes, sale, old, previous.get(sale.docket_no))
        previous[sale.docket_no] = sale
        with_notice = sale.notice_fetched or old is None
        written[with_notice].append(_row(sale, now, crawl_id, with_notice))
    for rows in written.values():
        upsert(conn, sales, rows, ["posting_id"], keep=["first_seen"])
    for rows in _by_columns(touched):
        update_many(conn, sales, rows, ["posting_id"])
    if created:
        from ctforeclosure.store.cases import refresh_search_text

        refresh_search_text(conn, created)
    refresh_notice_dates(conn, {s.docket_no for s in batch})
    upsert(conn, case_changes, changes.rows)
    result.changes = len(changes.rows)
    result.stored = len(batch)
    return result


def _touch_row(sale: SaleItem, old, now, crawl_id) -> dict:
    row = {"posting_id": sale.posting_id, "last_seen": now, "last_crawl_id": crawl_id}
    if sale.notice_fetched:
        row["notice_fetched_at"] = sale.notice_fetched_at or now
    return row


def _by_columns(rows: list[dict]) -> list[list[dict]]:
    """Split rows into groups with the same columns (update_many needs that)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    return list(groups.values())


def refresh_notice_dates(conn, docket_nos: Iterable[str]) -> None:
    """Set each case's ``notice_sale_date``: its newest listed, scheduled posting's."""
    newest = (
        sa.select(sales.c.sale_date)
        .where(
            sales.c.docket_no == cases.c.docket_no,
            sales.c.listed.is_(True),
            sales.c.status == "scheduled",
        )
        .order_by(sales.c.posting_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    for chunk in chunks(sorted(set(docket_nos))):
        conn.execute(
            cases.update()
            .where(cases.c.docket_no.in_(chunk))
            .values(notice_sale_date=newest)
        )


def mark_town_sales(
    conn: sa.Connection,
    town: str,
    posting_ids: Iterable[int],
    *,
    now: datetime,
    today: date,
    crawl_id: int | None = None,
) -> int:
    """Apply a complete read of a town's list: unlist the postings it no longer
    shows. A posting whose docket has another one on the list was re-noticed (the
    new one recorded the move), so only the row is unlisted. Return how many."""
    listed_now = set(posting_ids)
    stored = conn.execute(
        sa.select(sales).where(sales.c.town == town, sales.c.listed.is_(True))
    ).all()
    still = {r.docket_no for r in stored if r.posting_id in listed_now}
    gone = [r for r in stored if r.posting_id not in listed_now]
    changes = Changes(now, crawl_id)
    for row in gone:
        if row.docket_no in still:
            continue
        after = row.sale_date is not None and row.sale_date < today
        changes.add(
            row.docket_no,
            "sale_unlisted",
            "listed",
            _moment(row),
            {"after_sale_date": after, "cancel_reason": row.cancel_reason},
        )
    ids = [r.posting_id for r in gone]
    for chunk in chunks(ids):
        conn.execute(
            sales.update()
            .where(sales.c.posting_id.in_(chunk))
            .values(listed=False, unlisted_at=now, last_changed=now)
        )
    refresh_notice_dates(conn, {r.docket_no for r in gone})
    upsert(conn, case_changes, changes.rows)
    return len(ids)
