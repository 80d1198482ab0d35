"""What the pipelines flagged on stored cases, as one list of data-quality flags.

The pipelines keep what is odd about a case in its ``flags`` (validation: dirty
zips; the case page's parser: ``address_unparsed``; town normalisation:
``town_mismatch``), and a case whose page was never read has no
``detail_fetched_at``. The data-quality report, the cases list's ``quality=``
filter and the crawl stats all read those through :data:`QUALITY_FLAGS`, so the
three count the same cases:

- ``town_mismatch``: the case page's (or grid's) town is not the searched town;
- ``zip_dirty``: a placeholder ("00000"), malformed ("06") or out-of-state zip;
- ``zip_missing``: neither the grid nor the case page gave a zip;
- ``address_unparsed``: the case page's property address was kept raw only;
- ``listing_only``: only the search grid's row was read, never the case page;
- ``not_seen``: still listed, but the last N finished ``cases`` crawls of its
  town did not see it (N is the caller's; the crawls' own arguments name their
  towns). A case the site stopped listing is marked "no longer listed" by the
  crawl that noticed, and is not counted here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ctforeclosure import towns as reference
from ctforeclosure.db import aware, cases, crawl_runs

__all__ = [
    "QUALITY_FLAGS",
    "QUALITY_STAT_PREFIX",
    "condition",
    "item_flags",
    "town_report",
    "trend",
    "unseen_dockets",
]

#: Each report flag and what it means to a reader of the report.
QUALITY_FLAGS = {
    "town_mismatch": "town differs between grid and case page",
    "zip_dirty": "dirty zip (placeholder, malformed or out of state)",
    "zip_missing": "no zip",
    "address_unparsed": "property address not parsed",
    "listing_only": "case page never read",
    "not_seen": "not seen by the last crawls of its town",
}
#: The stored flags behind each flag that is one (validate.py, normalize_town.py,
#: parsers/address.py write them).
STORED_FLAGS = {
    "town_mismatch": ("town_mismatch",),
    "zip_dirty": tuple(
        f"{source}_zip_{kind}"
        for source in ("listing", "property")
        for kind in ("placeholder", "malformed", "out_of_state")
    ),
    "address_unparsed": ("address_unparsed",),
}
#: Crawl stats counting each flag's items (``ctf/quality/<flag>``).
QUALITY_STAT_PREFIX = "ctf/quality/"
#: The crawl stat behind each flag of the trend per crawl. A crawl's items are
#: counted as it stored them; "listing only" counts the case pages it gave up on
#: (with ``details=changed`` unchanged cases are stored from the grid on purpose).
TREND_STATS = {
    **{name: QUALITY_STAT_PREFIX + name for name in (*STORED_FLAGS, "zip_missing")},
    "listing_only": "ctf/errors/case_page",
}
#: How many of the newest finished cases crawls "not seen" looks through.
UNSEEN_RUNS_READ = 2_000


def item_flags(case) -> list[str]:
    """Return the report flags a validated ``CaseItem`` carries (for the crawl
    stats; "listing only" and "not seen" are not an item's)."""
    found = [
        name
        for name, stored in STORED_FLAGS.items()
        if any(flag in case.flags for flag in stored)
    ]
    if not (case.property_zip or case.listing_zip):
        found.append("zip_missing")
    return found


def _has_flag(flag: str):
    # JSON text holds each flag quoted: portable over JSONB and SQLite's JSON text.
    return sa.cast(cases.c.flags, sa.Text).like(f'%"{flag}"%')


def condition(flag: str):
    """Return the WHERE condition of a report flag (``not_seen``: the dockets of the
    expanding ``unseen`` parameter, :func:`unseen_dockets`)."""
    if flag in STORED_FLAGS:
        return sa.or_(*(_has_flag(f) for f in STORED_FLAGS[flag]))
    if flag == "zip_missing":
        return sa.and_(
            sa.func.coalesce(cases.c.property_zip, "") == "",
            sa.func.coalesce(cases.c.listing_zip, "") == "",
        )
    if flag == "listing_only":
        return cases.c.detail_fetched_at.is_(None)
    if flag == "not_seen":
        return cases.c.docket_no.in_(sa.bindparam("unseen", expanding=True))
    raise ValueError(f"unknown quality flag {flag!r}")


def _crawl_towns(args: dict) -> set[str]:
    """Return the canonical towns a cases crawl's arguments named."""
    if args.get("county"):
        try:
            return {t.name for t in reference.towns_in_county(args["county"])}
        except reference.UnknownCounty:
            return set()
    if str(args.get("town", "")).strip().lower() == "all":
        return {t.name for t in reference.all_towns()}
    names = [args.get("town") or "", *str(args.get("towns") or "").split(",")]
    return {t.name for name in names if (t := reference.match(name.strip()))}


def _town_cutoffs(conn: sa.Connection, crawls: int) -> dict[str, datetime]:
    """Return town -> start of the ``crawls``-th newest finished crawl of it."""
    runs = conn.execute(
        sa.select(crawl_runs.c.started_at, crawl_runs.c.args)
        .where(crawl_runs.c.spider == "cases", crawl_runs.c.status == "finished")
        .order_by(crawl_runs.c.started_at.desc())
        .limit(UNSEEN_RUNS_READ)
    ).all()
    seen: Counter[str] = Counter()
    cutoffs: dict[str, datetime] = {}
    for started_at, args in runs:
        for town in _crawl_towns(args or {}):
            seen[town] += 1
            if seen[town] == crawls:
                cutoffs[town] = aware(started_at)
    return cutoffs


def unseen_dockets(conn: sa.Connection, crawls: int) -> list[tuple[str, str]]:
    """Return (docket, town) of the listed cases the last ``crawls`` finished crawls
    of their town did not see."""
    cutoffs = _town_cutoffs(conn, crawls)
    if not cutoffs:
        return []
    return [
        tuple(row)
        for row in conn.execute(
            sa.select(cases.c.docket_no, cases.c.search_town).where(
                cases.c.listed.is_(True),
                sa.or_(
                    *(
                        sa.and_(cases.c.search_town == town, cases.c.last_seen < at)
                        for town, at in cutoffs.items()
                    )
                ),
            )
        )
    ]


@dataclass(frozen=True)
class TownCounts:
    """One town's stored cases and how many carry each report flag."""

    town: str
    cases: int
    counts: dict[str, int]


def town_report(conn: sa.Connection, crawls: int) -> list[TownCounts]:
    """Return, per town with cases, its cases and the count of each report flag."""
    flagged = [
        sa.func.sum(sa.case((condition(name), 1), else_=0)).label(name)
        for name in QUALITY_FLAGS
        if name != "not_seen"
    ]
    rows = conn.execute(
        sa.select(cases.c.search_town, sa.func.count().label("total"), *flagged)
        .group_by(cases.c.search_town)
        .order_by(cases.c.search_town)
    ).all()
    unseen = Counter(town for _, town in unseen_dockets(conn, crawls))
    return [
        TownCounts(
            town=row.search_town,
            cases=row.total,
            counts={
                name: unseen[row.search_town]
                if name == "not_seen"
                else int(getattr(row, name) or 0)
                for name in QUALITY_FLAGS
            },
        )
        for row in rows
    ]


@dataclass(frozen=True)
class CrawlCounts:
    """One cases crawl: when, its status, the items it scraped and flagged."""

    id: int
    started_at: datetime
    status: str
    items: int
    counts: dict[str, int]


def trend(conn: sa.Connection, limit: int) -> list[CrawlCounts]:
    """Return the newest ``limit`` cases crawls with their flagged items, newest
    first (counted by the town pipeline into the crawl's stats)."""
    rows = conn.execute(
        sa.select(
            crawl_runs.c.id,
            crawl_runs.c.started_at,
            crawl_runs.c.status,
            crawl_runs.c.items_scraped,
            crawl_runs.c.stats,
        )
        .where(crawl_runs.c.spider == "cases")
        .order_by(crawl_runs.c.id.desc())
        .limit(limit)
    ).all()
    return [
        CrawlCounts(
            id=row.id,
            started_at=aware(row.started_at),
            status=row.status,
            items=row.items_scraped,
            counts={
                name: int((row.stats or {}).get(stat, 0))
                for name, stat in TREND_STATS.items()
            },
        )
        for row in rows
    ]
