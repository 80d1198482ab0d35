"""Benchmark the notify matcher: 1,000 saved searches against 10,000 new changes on
PostgreSQL holding 200,000 cases (issue 18 part 9).

Creates a throw-away PostgreSQL database, migrates it and fills it with the web UI
bench's fake cases (``webui_bench.fill``: towns spread as in life, parties, docket
entries, skip-trace results, leads). Then it saves ``--searches`` searches of mixed
filters (a town, or a county, or a defendant's surname, with or without a status,
a judgment type or a filing period), each with an immediate-email subscription of
three events drawn at random, moves the matcher's cursor past the history, and writes
``--changes`` new changes (the subscription events' kinds) on random cases, in
transactions of 500 as crawls write them. It then measures, in the same run:

1. the matcher (:func:`ctforeclosure.services.notify.match.match`): finding the
   matches (reading the changes after its cursor, each search's filter over the
   changed cases, the join to the events each subscription wants) and writing their
   outbox and bell rows, each part timed (target: the whole <= 5 s);
2. the issue's baseline: each saved search run as a full list query over the
   200,000 cases (the cases list's own statement for its filter: the list's
   columns, every match, in the list's order, as an export reads it), the changed
   dockets with a wanted event then picked out of each answer (target: the
   matcher finds the matches >= 10x faster);
3. a stricter baseline: each saved search's dockets only (its filter as a
   ``SELECT docket_no``), picked out the same way.

Neither baseline writes anything: the ratios compare finding the matches with
finding the matches; the writing, which any way of matching must do alike, is
reported beside them. It checks that all three found the same (search, docket)
pairs. Figures go to BENCHMARKS.md; nothing here asserts a speed.

    python bench/notify_bench.py
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from floor import machine
from webui_bench import SURNAMES, TOWNS_AND_COUNTIES, fill

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ctforeclosure import db, migrate
from ctforeclosure.services import saved_searches, users
from ctforeclosure.services.notify.match import KIND_EVENTS, match
from ctforeclosure.services.subscriptions import EVENTS
from ctforeclosure.store import bulk
from tests.conftest import PG_ADMIN_URL, throwaway_database
from webui import queries
from webui.saved_queries import filter_of, matching_dockets

TARGET_SECONDS = 5.0
TARGET_RATIO = 10.0
KINDS = ("new_case", "judgment", "law_day", "sale_moved", "disposition", "sale_date")
COUNTIES = sorted({county for _, county in TOWNS_AND_COUNTIES if county})


def a_filter(rng: random.Random) -> dict:
    """Return one saved search's filter: one of the kinds staff save, mixed."""
    town = rng.choice(TOWNS_AND_COUNTIES[:40])[0]  # the larger towns, mostly
    since = date.today() - timedelta(days=rng.randrange(30, 2000))
    shapes = [
        {"town": town},
        {"town": town, "status": "active"},
        {"town": town, "judgment_type": rng.choice(["strict", "sale"])},
        {"town": town, "filed_from": since.isoformat()},
        {"county": rng.choice(COUNTIES), "judgment_type": "sale", "status": "active"},
        {"county": rng.choice(COUNTIES), "filed_from": since.isoformat()},
        {"q": rng.choice(SURNAMES[:300])},
        {"q": rng.choice(SURNAMES[:300]), "county": rng.choice(COUNTIES)},
        {"status": "disposed", "town": town},
        {"town": town, "judgment_type": "sale", "filed_from": since.isoformat()},
    ]
    return rng.choice(shapes)


def save_searches(engine: sa.Engine, count: int, rng: random.Random) -> None:
    """Save ``count`` searches (20 staff) with an immediate subscription each."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        staff = [
            users.create_user(
                conn,
                f"notify-bench-{n}@example.org",
                "a long enough passphrase 1",
                "manager",
                actor="bench",
            )
            for n in range(20)
        ]
        rows = []
        for n in range(count):
            owner = staff[n % len(staff)]
            search = saved_searches.create(
                conn,
                owner.id,
                f"search {n}",
                "cases",
                a_filter(rng),
                shared=n % 3 == 0,
                actor="bench",
            )
            rows.append(
                {
                    "user_id": owner.id,
                    "saved_search_id": search.id,
                    "events": rng.sample(EVENTS, 3),
                    "email_mode": "immediate",
                    "digest_hour": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        bulk.upsert(conn, db.subscriptions, rows)


def write_changes(engine: sa.Engine, dockets: list[str], count: int, rng) -> None:
    """Write ``count`` changes on random cases, 500 to a transaction."""
    later = datetime.now(UTC) + timedelta(seconds=1)
    rows = [
        {
            "docket_no": rng.choice(dockets),
            "kind": rng.choice(KINDS),
            "field": "bench",
            "old_value": None,
            "new_value": None,
            "seen_at": later,
        }
        for _ in range(count)
    ]
    for chunk in bulk.chunks(rows, 500):
        with engine.begin() as conn:
            conn.execute(db.case_changes.insert(), list(chunk))


def _dockets_only(conn: sa.Connection, search) -> list[str]:
    """The search's dockets, from its filter as a ``SELECT docket_no``."""
    statement, bound = matching_dockets(conn, search, search.owner)
    return conn.execute(statement, bound).scalars().all()


def _full_list(conn: sa.Connection, search) -> list[str]:
    """The search's dockets, from the cases list's full statement (every match
    with the list's columns, in its order: an export's read)."""
    flt = filter_of(search, search.owner)
    rows = queries.stream_cases(conn, flt, 1000)
    return [row.docket_no for part in rows.partitions() for row in part]


def baseline(engine: sa.Engine, run_search) -> tuple[set, float]:
    """Run every subscribed search with ``run_search``; return the (search,
    docket) pairs of the new changes its subscription wants, and the seconds."""
    began = time.perf_counter()
    found = set()
    c, s = db.case_changes.c, db.subscriptions.c
    with engine.connect() as conn:
        kinds: dict[str, set] = {}
        for docket, kind in conn.execute(
            sa.select(c.docket_no, c.kind).where(c.field == "bench")
        ):
            kinds.setdefault(docket, set()).add(KIND_EVENTS[kind])
        wanted = dict(conn.execute(sa.select(s.saved_search_id, s.events)).all())
        searches = saved_searches.by_ids(conn, wanted)
        for search in searches.values():
            events = set(wanted[search.id])
            for docket in run_search(conn, search):
                if kinds.get(docket, set()) & events:
                    found.add((search.id, docket))
    return found, time.perf_counter() - began


def matched_pairs(engine: sa.Engine) -> set:
    """Return the (search, docket) pairs the matcher put on the bell."""
    n, s, c = db.notifications.c, db.subscriptions.c, db.case_changes.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(s.saved_search_id, c.docket_no).select_from(
                db.notifications.join(db.subscriptions).join(
                    db.case_changes, c.id == n.change_id
                )
            )
        )
        return {tuple(r) for r in rows}


def run_matcher(engine: sa.Engine, profile: bool):
    """Run the matcher once (under cProfile with ``profile``); return its counts
    and seconds."""
    began = time.perf_counter()
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        counts = profiler.runcall(match, engine, matching_dockets, datetime.now(UTC))
        profiler.print_stats("cumulative")
    else:
        counts = match(engine, matching_dockets, datetime.now(UTC))
    return counts, time.perf_counter() - began


def report(counts, seconds: float, full: float, dockets: float) -> None:
    """Print the figures and whether the targets are met."""
    finding = counts.matching_seconds
    print(
        f"matcher: {counts.changes:,} changes, {counts.notifications:,} "
        f"notifications, {counts.outbox:,} outbox rows in {seconds:.2f} s "
        f"(finding the matches {finding:.2f} s, writing their rows "
        f"{counts.writing_seconds:.2f} s; target <= {TARGET_SECONDS:.0f} s)"
    )
    print(
        f"baselines: full list queries {full:.2f} s, dockets only {dockets:.2f} s; "
        f"finding the matches is {full / finding:.1f}x / {dockets / finding:.1f}x "
        f"faster, the whole matcher {full / seconds:.1f}x / {dockets / seconds:.1f}x"
    )
    met = full / finding >= TARGET_RATIO and seconds <= TARGET_SECONDS
    print(
        f"  targets (<= {TARGET_SECONDS:.0f} s; finding >= {TARGET_RATIO:.0f}x the "
        f"full list queries): {'met' if met else 'not met'}"
    )


def measure(engine: sa.Engine, args) -> None:
    rng = random.Random(args.seed)
    began = time.perf_counter()
    match(engine, matching_dockets, datetime.now(UTC))  # past the history
    save_searches(engine, args.searches, rng)
    with engine.connect() as conn:
        dockets = list(conn.execute(sa.select(db.cases.c.docket_no)).scalars())
    write_changes(engine, dockets, args.changes, rng)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    print(f"searches and changes written in {time.perf_counter() - began:.1f} s")
    expected, full = baseline(engine, _full_list)
    by_dockets, dockets_only = baseline(engine, _dockets_only)
    counts, seconds = run_matcher(engine, args.profile)
    report(counts, seconds, full, dockets_only)
    got = matched_pairs(engine)
    print(
        f"  same matches: {got == expected == by_dockets} ({len(got):,} pairs by "
        f"the matcher, {len(expected ^ got):,} differ from the full lists', "
        f"{len(by_dockets ^ got):,} from the dockets')",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--profile", action="store_true", help="profile the matcher")
    args = parser.parse_args()
    print(machine(), flush=True)
    with throwaway_database(PG_ADMIN_URL, "ctf_notify_bench") as url_text:
        migrate.upgrade(url_text)
        began = time.perf_counter()
        fill(url_text, args.cases, 2, 2, args.seed)
        print(f"{args.cases:,} cases filled in {time.perf_counter() - began:.1f} s")
        engine = db.make_engine(url_text)
        measure(engine, args)
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
