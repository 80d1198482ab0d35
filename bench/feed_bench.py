"""Benchmark the change feed: page through 100,000 changes on PostgreSQL.

Creates a throw-away PostgreSQL database, migrates it, and writes ``--cases`` cases
and ``--changes`` changes in transactions of ``--batch`` changes each (as crawl
batches write them: each transaction its own txid). Then, for each page size
(100 and 1,000), it pages through the whole feed with the store's reader
(:func:`ctforeclosure.store.feed.read_changes`: the rows, the reader's snapshot and
the next cursor) three ways:

1. the floor: a plain keyset read of the same columns, ``id > n ORDER BY id LIMIT
   k`` (what a reader that can skip rows would do), in the same run;
2. the feed with no transaction in progress (its usual state between crawls);
3. the feed while one transaction holding a change stays open throughout (a crawl
   batch still writing): every cursor then carries it, and each read also asks for
   that transaction's rows.

It reports changes per second and each feed pass against the floor (target: within
1.5x the floor at 1,000 a page). Figures go to BENCHMARKS.md; nothing here asserts
a speed.

    python bench/feed_bench.py --changes 100000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from floor import Ratio, machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ctforeclosure import db, migrate
from ctforeclosure.store import feed
from tests.conftest import PG_ADMIN_URL, throwaway_database

#: Target: the feed within this many times the plain keyset floor (1,000 a page).
TARGET = 1.5
TARGET_PAGE = 1000
KINDS = ("law_day", "docket_entry_added", "party_added", "sale_date", "judgment")
TOWNS = ("Hartford", "New Haven", "Bridgeport", "Bethel", "Danbury", "Stamford")


def seed(engine: sa.Engine, cases: int, changes: int, batch: int) -> None:
    """Write the cases, then the changes, ``batch`` to a transaction."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO cases (docket_no, search_town, county, first_seen,"
                " last_seen, last_changed, listed, flags)"
                " SELECT 'HHDCV26' || lpad(n::text, 7, '0') || 'S',"
                " (CAST(:towns AS text[]))[1 + n % :ntowns], 'Hartford',"
                " now(), now(), now(), true, '[]'"
                " FROM generate_series(1, CAST(:cases AS int)) AS n"
            ),
            {"towns": list(TOWNS), "ntowns": len(TOWNS), "cases": cases},
        )
    seed_changes(engine, cases, 0, changes, batch)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE cases")
        conn.exec_driver_sql("ANALYZE case_changes")


def seed_changes(engine: sa.Engine, cases: int, start: int, stop: int, batch: int):
    """Write changes ``start`` to ``stop`` (not included), a transaction a batch."""
    write = sa.text(
        "INSERT INTO case_changes (docket_no, kind, field, new_value, seen_at)"
        " SELECT 'HHDCV26' || lpad((1 + n % :cases)::text, 7, '0') || 'S',"
        " (CAST(:kinds AS text[]))[1 + n % :nkinds], 'law_day',"
        " to_jsonb('2027-01-12'::text), now()"
        " FROM generate_series(CAST(:start AS int), CAST(:stop AS int)) AS n"
    )
    kinds = {"kinds": list(KINDS), "nkinds": len(KINDS), "cases": cases}
    for first in range(start, stop, batch):
        with engine.begin() as conn:
            last = min(first + batch, stop) - 1
            conn.execute(write, {**kinds, "start": first, "stop": last})


def keyset_floor(engine: sa.Engine, limit: int) -> tuple[int, float]:
    """Page through every change by id alone; return (rows, seconds)."""
    c = db.case_changes.c
    page = (
        sa.select(*(col for col in feed.COLUMNS if col.name != "txid"))
        .select_from(db.case_changes.join(db.cases))
        .where(c.id > sa.bindparam("after"))
        .order_by(c.id)
        .limit(limit)
    )
    rows, after = 0, 0
    began = time.perf_counter()
    with engine.connect() as conn:
        while True:
            found = conn.execute(page, {"after": after}).all()
            if not found:
                return rows, time.perf_counter() - began
            rows += len(found)
            after = found[-1].id


def feed_pass(engine: sa.Engine, limit: int) -> tuple[int, float, int]:
    """Page through the feed; return (rows, seconds, the most pending in a cursor)."""
    rows, pending = 0, 0
    cursor = feed.Cursor()
    began = time.perf_counter()
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        while True:
            page = feed.read_changes(conn, cursor, limit)
            rows += len(page.rows)
            cursor = page.next
            pending = max(pending, len(cursor.pending))
            if not page.more:
                return rows, time.perf_counter() - began, pending


def measure(engine: sa.Engine, limit: int, note: str) -> None:
    """Print the floor and a feed pass at one page size."""
    rows, floor = keyset_floor(engine, limit)
    got, seconds, pending = feed_pass(engine, limit)
    assert got == rows, (got, rows)
    print(
        f"page size {limit}, {note}: {got:,} changes at {got / seconds:,.0f}/s "
        f"(cursors carried up to {pending} pending); keyset floor "
        f"{rows / floor:,.0f}/s"
    )
    target = TARGET if limit >= TARGET_PAGE else None  # reported below it
    print(" ", Ratio("feed vs keyset", seconds, floor, "s", target), flush=True)


def hold_open(engine: sa.Engine, args) -> sa.Connection:
    """Begin a transaction that writes a change and stays open; then commit one
    more batch after it, so that its txid lies below the feed's point."""
    held = engine.connect()
    held.begin()
    held.execute(
        db.case_changes.insert().values(
            docket_no="HHDCV260000001S", kind="law_day", seen_at=sa.func.now()
        )
    )
    more = args.changes + args.batch
    seed_changes(engine, args.cases, args.changes, more, args.batch)
    return held


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--pages", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    print(machine(), flush=True)
    with throwaway_database(PG_ADMIN_URL, "ctf_feed_bench") as url_text:
        migrate.upgrade(url_text)
        engine = db.make_engine(url_text)
        began = time.perf_counter()
        seed(engine, args.cases, args.changes, args.batch)
        print(
            f"{args.changes:,} changes on {args.cases:,} cases written in "
            f"{args.changes // args.batch:,} transactions, "
            f"{time.perf_counter() - began:.1f} s",
            flush=True,
        )
        for limit in args.pages:
            measure(engine, limit, "nothing in progress")
        held = hold_open(engine, args)
        for limit in args.pages:
            measure(engine, limit, "a transaction open throughout")
        held.rollback()
        held.close()
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
