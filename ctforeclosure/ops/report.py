"""The weekly report: counts an operator reads over coffee, never names.

Skip-trace spend and records traced, new cases and changes per town, and crawl
health (failed, partial and lost crawls, towns not refreshed within
``CTF_STALE_HOURS``, the spool's backlog), over the last seven days. Sent by email
(``ctforeclosure routine report``); towns are public place names, the only words
besides the figures.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ctforeclosure import config, db
from ctforeclosure.ops import status
from ctforeclosure.ops.settings import OpsSettings

__all__ = ["weekly_report"]


def _per_town(conn: sa.Connection, since: datetime) -> dict[str, tuple[int, int]]:
    cases, changes = db.cases.c, db.case_changes.c
    new = dict(
        conn.execute(
            sa.select(cases.search_town, sa.func.count())
            .where(cases.first_seen >= since)
            .group_by(cases.search_town)
        ).all()
    )
    changed = dict(
        conn.execute(
            sa.select(cases.search_town, sa.func.count())
            .select_from(db.case_changes.join(db.cases))
            .where(changes.seen_at >= since)
            .group_by(cases.search_town)
        ).all()
    )
    return {t: (new.get(t, 0), changed.get(t, 0)) for t in sorted({*new, *changed})}


def _spend(conn: sa.Connection, since: datetime) -> tuple[float, int, int]:
    ledger = db.skiptrace_ledger.c
    row = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(ledger.cost), 0),
            sa.func.coalesce(sa.func.sum(ledger.records_sent), 0),
            sa.func.coalesce(sa.func.sum(ledger.records_matched), 0),
        ).where(ledger.at >= since)
    ).one()
    return float(row[0]), int(row[1]), int(row[2])


def _crawl_counts(conn: sa.Connection, since: datetime) -> tuple[int, int, int]:
    """Return the crawls started since that failed (or spooled), were partial (some
    towns not complete) and were lost (their node died)."""
    runs = db.crawl_runs.c
    failed = runs.status.not_in(("finished", "running", "lost"))
    row = conn.execute(
        sa.select(
            sa.func.count().filter(failed),
            sa.func.count().filter(runs.outcome == "partial"),
            sa.func.count().filter(runs.outcome == "lost"),
        ).where(runs.started_at >= since)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def weekly_report(cfg: config.Config, engine: sa.Engine, now: datetime | None = None):
    """Return (subject, text) of the last seven days' report."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=7)
    with engine.connect() as conn:
        spent, sent, matched = _spend(conn, since)
        towns = _per_town(conn, since)
        failed, partial, lost = _crawl_counts(conn, since)
        crawled = status.last_crawls(
            conn, now, OpsSettings.from_config(cfg).stale_hours
        )
    stale = [t["town"] for t in crawled if t["stale"]]
    lines = [
        f"ctforeclosure, week to {now:%Y-%m-%d}",
        "",
        f"Skip tracing: ${spent:.2f} spent, {sent} records sent, {matched} matched.",
        f"Crawls: {failed} failed, {partial} partial, {lost} lost; "
        f"{len(stale)} towns not refreshed in time; "
        f"{status.spool.count_records(cfg.spool_dir)} records in the spool.",
        "",
        "New cases and changes per town:",
        *[
            f"  {town}: {new} new, {changed} changes"
            for town, (new, changed) in towns.items()
        ],
    ]
    if stale:
        lines += ["", "Towns not refreshed: " + ", ".join(stale[:169])]
    subject = f"weekly report: {sum(n for n, _ in towns.values())} new cases"
    return subject, "\n".join(lines) + "\n"
