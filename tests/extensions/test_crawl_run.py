"""The crawl run and its end-of-crawl checks, from real crawls."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest_twisted
import sqlalchemy as sa

from ctforeclosure import db, migrate
from ctforeclosure.db import make_engine
from ctforeclosure.extensions.database import CrawlDatabase
from ctforeclosure.store.cases import upsert_cases
from tests.pipelines.crawling import CountingServer, crawl
from tests.store.factory import make_case


def _run(url):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(db.crawl_runs)).one()
    finally:
        engine.dispose()


def _town_stats(**towns):
    def step(crawler):
        for town, (site, parsed) in towns.items():
            crawler.stats.set_value(f"ctf/town/{town}/site_records", site)
            crawler.stats.set_value(f"ctf/town/{town}/rows_parsed", parsed)

    return step


@pytest_twisted.ensureDeferred
async def test_crawl_run_failed_checks_are_stored_and_visible(
    migrated_db_url, monkeypatch, caplog
):
    caplog.set_level(logging.INFO)
    # Hartford had a case before this crawl; this crawl parses none there.
    engine = make_engine(migrated_db_url)
    with engine.begin() as conn:
        upsert_cases(conn, [make_case()], now=datetime.now(UTC) - timedelta(days=1))
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    monkeypatch.setenv("SCRAPY_JOB", "7c1f0e2a")
    steps = [
        make_case("HHDCV246000002S", search_town="New Britain", county=None),
        make_case(docket_no="not a docket"),
        _town_stats(Hartford=(0, 0), **{"New Britain": (2, 1)}),
    ]
    with CountingServer() as server:
        await crawl(server.url, steps, ROBOTSTXT_OBEY=False)
    run = _run(migrated_db_url)
    assert run.status == "finished" and run.finish_reason == "finished"
    assert (run.items_scraped, run.items_stored, run.items_dropped) == (1, 1, 1)
    assert run.job_id == "7c1f0e2a" and run.node
    assert run.errors == {"network": 0, "parsing": 0, "validation": 1, "system": 0}
    assert run.town_counts == {
        "Hartford": {"site": 0, "parsed": 0},
        "New Britain": {"site": 2, "parsed": 1},
    }
    checks = {c["name"]: c for c in run.checks}
    assert checks["finish_reason"]["passed"] is True
    assert checks["validation_drop_rate"]["passed"] is False
    assert checks["validation_drop_rate"]["message"] == (
        "1 of 2 items dropped (50.0%), limit 1.0%"
    )
    assert checks["towns_still_listed"]["passed"] is False
    assert "Hartford (1)" in checks["towns_still_listed"]["message"]
    failed = [r.message for r in caplog.records if "CHECK FAILED" in r.message]
    assert len(failed) == 2
    assert "validation_drop_rate, towns_still_listed" in caplog.text


@pytest_twisted.ensureDeferred
async def test_crawl_run_refused_database_leaves_no_running_row(
    sqlite_url, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    with CountingServer() as server:
        crawler = await crawl(server.url, [make_case()])
    assert CrawlDatabase.of(crawler).crawl_id is None
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(db.crawl_runs)).scalar()
            == 0
        )
    engine.dispose()


@pytest_twisted.ensureDeferred
async def test_crawl_run_town_search_listing_nothing_fails_its_check(
    migrated_db_url, monkeypatch
):
    from ctforeclosure import signals

    engine = make_engine(migrated_db_url)
    with engine.begin() as conn:
        upsert_cases(conn, [make_case()], now=datetime.now(UTC) - timedelta(days=1))
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)

    def hartford_empty(crawler):
        crawler.signals.send_catch_log(
            signal=signals.town_search_complete,
            town="Hartford",
            dockets=set(),
            site_total=0,
        )

    with CountingServer() as server:
        await crawl(server.url, [hartford_empty])
    run = _run(migrated_db_url)
    checks = {c["name"]: c for c in run.checks}
    assert checks["towns_still_listed"]["passed"] is False
    assert "Hartford (1)" in checks["towns_still_listed"]["message"]


@pytest_twisted.ensureDeferred
async def test_crawl_run_is_handed_over_even_when_its_row_cannot_be_completed(
    sqlite_url, monkeypatch, crawl_runs_taken_away
):
    from ctforeclosure import config, signals
    from ctforeclosure.store.crawl_runs import load_pending, pending_run_path

    migrate.upgrade(sqlite_url)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    recorded = []

    def listen(crawler):
        crawler.signals.connect(
            lambda record: recorded.append(record),
            signal=signals.crawl_recorded,
            weak=False,
        )

    steps = [
        listen,
        make_case("HHDCV246000002S"),
        make_case(docket_no="not a docket"),
        crawl_runs_taken_away,
    ]
    with CountingServer() as server:
        crawler = await crawl(server.url, steps)
    [record] = recorded
    assert record.id == CrawlDatabase.of(crawler).crawl_id == 1
    assert (record.status, record.finish_reason) == ("finished", "finished")
    assert record.failed_checks == ["validation_drop_rate"]
    run_id, values = load_pending(pending_run_path(config.load().spool_dir, 1))
    assert run_id == 1 and values["checks"] == record.checks
