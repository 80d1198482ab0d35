"""``ctforeclosure summary``: what the database holds, in a few lines.

The offline demo ends with it; operators use it to check a crawl landed. Counts only:
no names, no addresses.
"""

import click
import sqlalchemy as sa

from ctforeclosure import config, db


@click.command()
def summary() -> None:
    """Print counts of towns, cases, parties, docket entries and the last crawls."""
    cfg = config.load()
    engine = db.make_engine(cfg.database_url)
    try:
        with engine.connect() as conn:
            _print_summary(conn, cfg.database_url_redacted)
    finally:
        engine.dispose()


def _count(conn: sa.Connection, table: sa.Table, *where) -> int:
    return conn.execute(
        sa.select(sa.func.count()).select_from(table).where(*where)
    ).scalar_one()


def _print_summary(conn: sa.Connection, where: str) -> None:
    click.echo(f"Database: {where}")
    towns = _count(conn, db.towns)
    counties = conn.execute(
        sa.select(sa.func.count(sa.distinct(db.towns.c.county)))
    ).scalar_one()
    click.echo(f"Towns: {towns} in {counties} counties")
    cases = _count(conn, db.cases)
    read = _count(conn, db.cases, db.cases.c.detail_fetched_at.is_not(None))
    unlisted = _count(conn, db.cases, db.cases.c.listed.is_(False))
    click.echo(f"Cases: {cases} ({read} case pages read, {unlisted} no longer listed)")
    parties = _count(conn, db.parties)
    entries = _count(conn, db.docket_entries)
    dates = _count(conn, db.court_dates)
    changes = _count(conn, db.case_changes)
    click.echo(
        f"Parties: {parties}; docket entries: {entries}; court dates: {dates}; "
        f"recorded changes: {changes}"
    )
    by_town = conn.execute(
        sa.select(db.cases.c.search_town, sa.func.count())
        .group_by(db.cases.c.search_town)
        .order_by(sa.func.count().desc(), db.cases.c.search_town)
        .limit(10)
    ).all()
    if by_town:
        click.echo(
            "Cases by town (top 10): " + ", ".join(f"{t} {n}" for t, n in by_town)
        )
    runs = conn.execute(
        sa.select(
            db.crawl_runs.c.id,
            db.crawl_runs.c.spider,
            db.crawl_runs.c.status,
            db.crawl_runs.c.finish_reason,
            db.crawl_runs.c.items_stored,
            db.crawl_runs.c.started_at,
        )
        .order_by(db.crawl_runs.c.id.desc())
        .limit(5)
    ).all()
    for run in runs:
        click.echo(
            f"Crawl #{run.id} {run.spider}: {run.status} ({run.finish_reason or '-'}), "
            f"{run.items_stored} items stored, started {run.started_at:%Y-%m-%d %H:%M}"
        )
