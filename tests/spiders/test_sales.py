"""The sales spider against the replica, through every pipeline into a database.

What a user would notice: the stored sales equal the site's, a re-crawl writes
nothing and reads no notice, each evolution of the site leaves exactly its change
in the history, a failing notice keeps the sale, a bad town stops before any
request.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_twisted
import sqlalchemy as sa
from scrapy import signals as scrapy_signals
from scrapy.crawler import CrawlerRunner

from ctforeclosure import db
from ctforeclosure.db import make_engine
from tests.pipelines import crawling
from tests.pipelines.test_replica_crawl import changes_since, last_change_id
from tests.store.factory import snapshot

#: Small towns of seed 6 (200 cases): 11 pending sales, some before today's date.
TOWNS = ("Bethel", "Bethany")
NOTICE_PAGE = "PendPostDetailPublic.aspx"
COMPARED = (
    "posting_id",
    "docket_no",
    "town",
    "county",
    "sale_date",
    "sale_time",
    "sale_type",
    "property_type",
    "address_street",
    "status",
    "cancel_reason",
    "deposit",
    "committee_name",
)


@pytest.fixture
def site(replica_factory):
    return replica_factory(cases=200, towns=TOWNS, seed=6)


async def crawl_sales(site, **args):
    """Run the sales spider on the replica; return (crawler, notice pages read)."""
    from ctforeclosure.spiders.sales import SalesSpider

    overrides = {k: args.pop(k) for k in list(args) if k.isupper()}
    settings = crawling.test_settings(
        **site.env, ROBOTSTXT_OBEY=True, SITE_BUDGET_ENABLED=False, **overrides
    )
    settings.pop("BATCHDATA_API_KEY", None)
    crawler = CrawlerRunner(settings).create_crawler(SalesSpider)
    pages = []

    def seen(response, request, spider):
        if NOTICE_PAGE in response.url:
            pages.append(response.url)

    crawler.signals.connect(seen, signal=scrapy_signals.response_received, weak=False)
    await crawler.crawl(**args)
    assert crawler.stats.get_value("finish_reason") == "finished"
    return crawler, pages


def stored_sales(engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(*(db.sales.c[n] for n in COMPARED)).where(db.sales.c.listed)
        ).all()
    return sorted(
        (
            {
                **r._asdict(),
                "sale_date": r.sale_date.isoformat(),
                "deposit": None if r.deposit is None else Decimal(r.deposit),
            }
            for r in rows
        ),
        key=lambda r: r["posting_id"],
    )


def truth(site) -> list[dict]:
    return sorted(
        (
            {**{n: t[n] for n in COMPARED}, "deposit": Decimal(t["deposit"])}
            for t in site.sales_truth()
        ),
        key=lambda r: r["posting_id"],
    )


@pytest_twisted.ensureDeferred
async def test_sales_crawl_equals_the_truth_and_a_recrawl_writes_nothing(
    site, migrated_db_url, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    engine = make_engine(migrated_db_url)
    try:
        crawler, pages = await crawl_sales(site)
        expected = truth(site)
        assert len(expected) >= 4, "seed 6 should have pending sales"
        assert stored_sales(engine) == expected
        assert len(pages) == len(expected)
        assert not crawler.stats.get_value("ctf/search/records_mismatch")
        assert crawler.stats.get_value("ctf/town/sales:Bethel/site_records") == sum(
            t["town"] == "Bethel" for t in expected
        )
        with engine.connect() as conn:
            created = conn.execute(
                sa.select(db.cases.c.docket_no).where(db.cases.c.from_sale)
            ).scalars()
            assert sorted(created) == sorted({t["docket_no"] for t in expected})
        first, marker = snapshot(engine), last_change_id(engine)
        _, pages = await crawl_sales(site)
        assert pages == []  # the daily re-crawl reads no notice
        assert changes_since(engine, marker) == []
        assert snapshot(engine) == first
    finally:
        engine.dispose()


def _kinds(engine, marker) -> list[tuple[str, str]]:
    return sorted((c[1], c[2]) for c in changes_since(engine, marker))


@pytest_twisted.ensureDeferred
async def test_sales_evolution_records_exactly_its_changes(
    site, migrated_db_url, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    engine = make_engine(migrated_db_url)
    try:
        await crawl_sales(site)
        marker = last_change_id(engine)
        today = datetime.now(UTC).date().isoformat()
        by_date = sorted(site.sales_truth(), key=lambda t: t["sale_date"])
        past = [t["docket_no"] for t in by_date if t["sale_date"] < today]
        future = [t["docket_no"] for t in by_date if t["sale_date"] > today]
        assert past and len(future) >= 4, "seed 6 has sales on both sides of today"
        for kind, docket in (
            ("sale_move", future[0]),
            ("sale_renotice", future[1]),
            ("sale_cancel", future[2]),
            ("sale_remove", future[3]),
            ("sale_remove", past[0]),
        ):
            assert site.mutate(kind=kind, docket=docket)["changes"]
        await crawl_sales(site)
        assert stored_sales(engine) == truth(site)
        assert _kinds(engine, marker) == sorted(
            [
                (future[0], "sale_moved"),
                (future[1], "sale_moved"),  # one move, under a new posting id
                (future[2], "sale_cancelled"),
                (future[3], "sale_unlisted"),
                (past[0], "sale_unlisted"),
            ]
        )
        after = {
            c[1]: c[4]["after_sale_date"]
            for c in changes_since(engine, marker)
            if c[2] == "sale_unlisted"
        }
        assert after == {future[3]: False, past[0]: True}
    finally:
        engine.dispose()


@pytest_twisted.ensureDeferred
async def test_sales_notice_answering_500_keeps_the_sale(
    replica_factory, sqlite_url, monkeypatch
):
    from ctforeclosure import migrate

    migrate.upgrade(sqlite_url)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    site = replica_factory(cases=200, towns=TOWNS, seed=6, faults=["sales-notice-500"])
    engine = make_engine(sqlite_url)
    try:
        crawler, _ = await crawl_sales(site)
        expected = truth(site)
        listed = [
            {k: v for k, v in s.items() if k not in ("deposit", "committee_name")}
            for s in stored_sales(engine)
        ]
        notice_only = ("deposit", "committee_name", "cancel_reason", "status")
        assert [
            {k: v for k, v in s.items() if k not in notice_only} for s in listed
        ] == [{k: v for k, v in t.items() if k not in notice_only} for t in expected]
        assert crawler.stats.get_value("ctf/errors/sale_notice") == len(expected)
    finally:
        engine.dispose()


def test_sales_bad_town_exits_non_zero_before_any_request(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "sales", "-a", "town=Fairfeld Hills"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "CONTACT": "Test <test@example.org>",
            "CTJUD_SALES_BASE_URL": "http://127.0.0.1:9/sales",
            "CTF_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode != 0
    assert "Fairfield" in result.stderr  # the closest real town is named
    assert "Crawled" not in result.stderr


async def crawl_cases_by_default(site):
    """Run the cases spider with its default arguments (active, residential)."""
    from ctforeclosure.spiders.cases import CasesSpider

    settings = crawling.test_settings(
        **site.env,
        SITE_BUDGET_ENABLED=False,
        NOBOT_MIN_DELAY=0,
        JUDICIARY_SEARCH_MODE="http",
        CONCURRENT_REQUESTS_PER_DOMAIN=8,
    )
    settings.pop("BATCHDATA_API_KEY", None)
    crawler = CrawlerRunner(settings).create_crawler(CasesSpider)
    await crawler.crawl(towns=",".join(site.options.towns))
    assert crawler.stats.get_value("finish_reason") == "finished"
    return crawler


@pytest_twisted.ensureDeferred
async def test_sale_created_commercial_case_survives_a_cases_crawl_and_is_read(
    replica_factory, sqlite_url, monkeypatch
):
    from ctforeclosure import migrate

    # Seed 8, 40 cases in Bethel: two pending sales, both of commercial properties
    # (never on the default active/residential grid), beside 26 residential cases.
    site = replica_factory(cases=40, towns=("Bethel",), seed=8)
    migrate.upgrade(sqlite_url)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        await crawl_sales(site)
        commercial = sorted(
            t["docket_no"]
            for t in site.sales_truth()
            if t["property_type"] != "Residential"
        )
        assert commercial, "seed 6 has a commercial sale"
        marker = last_change_id(engine)
        await crawl_cases_by_default(site)
        gone = [c for c in changes_since(engine, marker) if c[2] == "no_longer_listed"]
        assert [c for c in gone if c[1] in commercial] == []
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    db.cases.c.docket_no,
                    db.cases.c.listed,
                    db.cases.c.detail_fetched_at.isnot(None),
                ).where(db.cases.c.docket_no.in_(commercial))
            ).all()
        assert sorted(tuple(r) for r in rows) == [(d, True, True) for d in commercial]
    finally:
        engine.dispose()


def _crawl_process(spider: str, site, db_url: str, tmp_path, *args: str):
    env = {
        **os.environ,
        **site.env,
        "DATABASE_URL": db_url,
        "CONTACT": "Test <test@example.org>",
        "CTF_DATA_DIR": str(tmp_path),
    }
    env.pop("BATCHDATA_API_KEY", None)
    settings = {
        "SITE_BUDGET_INTERVAL": str(BUDGET_INTERVAL),
        "SITE_BUDGET_POLL_SECONDS": "0.3",
        "DOWNLOAD_DELAY": "0",
        "AUTOTHROTTLE_ENABLED": "False",
        "NOBOT_MIN_DELAY": "0",
        "JUDICIARY_SEARCH_MODE": "http",
        "LOG_FILE": str(tmp_path / f"{spider}.log"),
    }
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, *args]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    return subprocess.Popen(cmd, env=env, cwd=Path(__file__).parents[2])


BUDGET_INTERVAL = 0.1


def _budget_requests(log: Path) -> int:
    match = re.search(r"'site_budget/requests': (\d+)", log.read_text())
    assert match, log.read_text()[-2000:]
    return int(match.group(1))


def test_concurrent_cases_and_sales_crawls_share_one_budget(
    replica_factory, postgres_url, tmp_path
):
    from ctforeclosure import migrate

    # PostgreSQL only: the deployment's shared database (SQLite is one machine's).
    migrate.upgrade(postgres_url)
    migrated_db_url = postgres_url
    site = replica_factory(cases=40, towns=("Bethel",), seed=8)
    started = time.monotonic()
    procs = [
        _crawl_process("cases", site, migrated_db_url, tmp_path, "-a", "town=Bethel"),
        _crawl_process("sales", site, migrated_db_url, tmp_path),
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    elapsed = time.monotonic() - started
    cases = _budget_requests(tmp_path / "cases.log")
    sales = _budget_requests(tmp_path / "sales.log")
    assert sales >= 3  # index, the town's list, its notices
    # Apart, each would take its own requests' slots; sharing one budget, the two
    # crawls together cannot be faster than all their requests one slot apart.
    assert elapsed >= (cases + sales - 1) * BUDGET_INTERVAL
