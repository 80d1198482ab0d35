"""The skip-trace extension in real crawls: off by default, traces new parties."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import pytest_twisted
import sqlalchemy as sa
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from ctforeclosure import db, migrate
from ctforeclosure.extensions.skiptrace import SkipTrace
from ctforeclosure.items import CaseItem, PartyItem
from tests.pipelines.crawling import CountingServer, crawl
from tests.replica.batchdata import TEST_API_KEY


def _case(docket_no: str, owner: str) -> CaseItem:
    return CaseItem(
        docket_no=docket_no,
        search_town="Hartford",
        listing_town="HARTFORD",
        listing_street="15 Example Road",
        listing_zip="06101",
        case_name=f"WELLS FARGO BANK, N.A. v. {owner}",
        detail_fetched=True,
        detail_fetched_at=datetime(2026, 11, 2, tzinfo=UTC),
        property_street="15 Example Road",
        property_town="Hartford",
        property_state="CT",
        property_zip="06101",
        parties=[
            PartyItem(
                party_no="P-01",
                role="P",
                name="WELLS FARGO BANK, N.A.",
                category="Plaintiff",
            ),
            PartyItem(party_no="D-01", role="D", name=owner, category="Defendant"),
            PartyItem(
                party_no="D-02",
                role="D",
                name="BERKELEY CONDOMINIUM ASSOCIATION, INC.",
                category="Defendant",
            ),
        ],
    )


def test_skiptrace_is_off_by_default_and_says_so_without_a_warning(monkeypatch, caplog):
    monkeypatch.setenv("BATCHDATA_BASE_URL", "http://127.0.0.1:9/api/v1")
    monkeypatch.setenv("BATCHDATA_API_KEY", TEST_API_KEY)
    caplog.set_level("INFO")
    with pytest.raises(NotConfigured) as refused:
        SkipTrace.from_crawler(get_crawler())
    # no message: Scrapy logs "Disabled ...: <message>" as a WARNING
    assert refused.value.args == ()
    assert any("SKIPTRACE_ENABLED" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_skiptrace_needs_a_base_url_when_enabled():
    crawler = get_crawler(settings_dict={"SKIPTRACE_ENABLED": True})
    with pytest.raises(NotConfigured, match="BATCHDATA_BASE_URL"):
        SkipTrace.from_crawler(crawler)


@pytest_twisted.ensureDeferred
async def test_skiptrace_traces_the_new_eligible_parties_of_a_crawl(
    sqlite_url, monkeypatch, batchdata
):
    migrate.upgrade(sqlite_url)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("BATCHDATA_BASE_URL", batchdata.base_url)
    monkeypatch.setenv("BATCHDATA_API_KEY", TEST_API_KEY)
    items = [
        _case("HHDCV266100001S", "AVERY Q. EXAMPLE"),
        _case("HHDCV266100002S", "BLAKE TESTWORTH"),
    ]
    with CountingServer() as server:
        crawler = await crawl(server.url, steps=items, SKIPTRACE_ENABLED=True)
    assert crawler.stats.get_value("finish_reason") == "finished"
    engine = db.make_engine(sqlite_url)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(sa.func.count()).select_from(db.parties)
        ).scalar_one()
        traced = conn.execute(
            sa.select(db.parties.c.name, db.skiptrace_results.c.status).join(
                db.skiptrace_results,
                db.skiptrace_results.c.party_id == db.parties.c.id,
            )
        ).all()
        ledger = conn.execute(sa.select(db.skiptrace_ledger)).all()
    engine.dispose()
    stats = {k: v for k, v in crawler.stats.get_stats().items() if "ctf" in k}
    assert stored == 6, stats  # the upsert stored both cases' parties
    names = sorted(name for name, _ in traced)
    assert names == ["AVERY Q. EXAMPLE", "BLAKE TESTWORTH"], stats
    assert all(row.triggered_by.startswith("crawl") for row in ledger)
    assert crawler.stats.get_value("ctf/skiptrace/sent") == 2
    assert len(batchdata.billed()) == crawler.stats.get_value("ctf/skiptrace/matched")

    # A second crawl of the same cases inserts no new parties: nothing is sent.
    calls = len(batchdata.calls())
    with CountingServer() as server:
        await crawl(server.url, steps=items, SKIPTRACE_ENABLED=True)
    assert len(batchdata.calls()) == calls
