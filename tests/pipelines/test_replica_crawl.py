"""The cases spider against the replica, through every pipeline into a database.

What a user of the database would notice: a re-crawl changes nothing, an evolved
site produces exactly its changes in the history, and ``details=changed`` reads only
the case pages that changed.
"""

from __future__ import annotations

import pytest
import pytest_twisted
import sqlalchemy as sa
from scrapy import signals as scrapy_signals
from scrapy.crawler import CrawlerRunner

from ctforeclosure import db
from ctforeclosure.db import make_engine
from tests.pipelines.crawling import test_settings
from tests.store.factory import snapshot

TOWNS = ("Bethel", "Bethany")
CASE_PAGE = "PublicCaseDetail.aspx"


@pytest.fixture
def site(replica_factory):
    return replica_factory(cases=120, towns=TOWNS, seed=3)


async def crawl_cases(site, _hook=None, allow_spool=False, **args):
    """Run the cases spider on the replica; return (crawler, case pages read).

    Upper-case keyword arguments are settings, the others spider arguments;
    ``_hook(crawler)`` runs before the crawl starts.
    """
    from ctforeclosure.spiders.cases import CasesSpider

    overrides = {k: args.pop(k) for k in list(args) if k.isupper()}
    settings = test_settings(
        **site.env,
        ROBOTSTXT_OBEY=True,
        SITE_BUDGET_ENABLED=False,
        NOBOT_MIN_DELAY=0,
        CONCURRENT_REQUESTS_PER_DOMAIN=8,
        **overrides,
    )
    settings.pop("BATCHDATA_API_KEY", None)  # a secret: never a setting
    crawler = CrawlerRunner(settings).create_crawler(CasesSpider)
    pages = []

    def seen(response, request, spider):
        if CASE_PAGE in response.url:
            pages.append(response.url.rsplit("=", 1)[-1])

    crawler.signals.connect(seen, signal=scrapy_signals.response_received, weak=False)
    if _hook is not None:
        _hook(crawler)
    await crawler.crawl(towns=",".join(TOWNS), status="all", property="all", **args)
    assert crawler.stats.get_value("finish_reason") == "finished"
    if not allow_spool:
        assert not crawler.stats.get_value("ctf/items_spooled")
    return crawler, sorted(pages)


def changes_since(engine, after_id: int) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                db.case_changes.c.id,
                db.case_changes.c.docket_no,
                db.case_changes.c.kind,
                db.case_changes.c.field,
                db.case_changes.c.new_value,
            ).where(db.case_changes.c.id > after_id)
        ).all()
    return [tuple(r) for r in rows]


def last_change_id(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(db.case_changes.c.id))).scalar() or 0


@pytest_twisted.ensureDeferred
async def test_replica_crawl_twice_changes_nothing(site, migrated_db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    engine = make_engine(migrated_db_url)
    try:
        await crawl_cases(site)
        first = snapshot(engine)
        truth = {c["docket_no"] for c in site.truth()}
        assert {row[0] for row in first["cases"]} == truth
        marker = last_change_id(engine)
        await crawl_cases(site)
        assert snapshot(engine) == first
        assert changes_since(engine, marker) == []
    finally:
        engine.dispose()


#: What each kind of replica evolution must leave in the change history.
EXPECTED_KIND = {
    "new_case": "new_case",
    "disposition": "disposition",
    "docket_entry": "docket_entry_added",
    "law_day": "law_day",
    "sale_date": "sale_date",
    "remove_party": "party_removed",
    "withdraw": "no_longer_listed",
}
#: What else a change may bring: judgment motions and a withdrawal are docket
#: entries too, a granted judgment motion on a case without a judgment enters one
#: (strict with its law day, by sale with its sale date), and a disposed case
#: loses its scheduled court dates.
CONSEQUENCES = {
    "law_day": {"docket_entry_added", "judgment"},
    "sale_date": {"docket_entry_added", "judgment"},
    "disposition": {"docket_entry_added", "court_date_removed"},
}


@pytest_twisted.ensureDeferred
async def test_replica_evolution_records_exactly_its_changes(
    site, migrated_db_url, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    engine = make_engine(migrated_db_url)
    try:
        await crawl_cases(site)
        report = site.mutate(days=1)["changes"]
        assert {c["kind"] for c in report} >= {
            "new_case",
            "disposition",
            "docket_entry",
            "remove_party",
            "withdraw",
        }
        marker = last_change_id(engine)
        # Every page read: a new docket entry or sale date need not change the
        # search grid's row, which is all details=changed (the default) looks at.
        await crawl_cases(site, details="all")
        got = {(r[1], r[2]) for r in changes_since(engine, marker)}
        expected = {(c["docket_no"], EXPECTED_KIND[c["kind"]]) for c in report}
        consequences = {
            (c["docket_no"], kind)
            for c in report
            for kind in CONSEQUENCES.get(c["kind"], ())
        }
        assert expected <= got
        assert got - expected <= consequences
        # And the second look at the evolved site finds nothing new.
        marker = last_change_id(engine)
        await crawl_cases(site, details="all")
        assert changes_since(engine, marker) == []
    finally:
        engine.dispose()


@pytest_twisted.ensureDeferred
async def test_replica_incremental_refresh_reads_only_changed_listings(
    site, migrated_db_url, monkeypatch
):
    from ctforeclosure.items import listing_hash

    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    _, pages = await crawl_cases(site)
    assert len(pages) == len(site.truth())
    crawler, pages = await crawl_cases(site, details="changed")
    assert pages == []
    assert crawler.stats.get_value("ctf/cases/listing_only") == len(site.truth())

    before = {c["docket_no"]: listing_hash(c) for c in site.truth(listing_only=True)}
    site.mutate(days=1)
    after = {c["docket_no"]: listing_hash(c) for c in site.truth(listing_only=True)}
    changed = sorted(d for d, h in after.items() if before.get(d) != h)
    assert changed  # new cases and dispositions change the listing
    _, pages = await crawl_cases(site)  # details=changed is the default
    assert pages == changed

    engine = make_engine(migrated_db_url)
    try:
        with engine.connect() as conn:
            args = conn.execute(
                sa.select(db.crawl_runs.c.args).order_by(db.crawl_runs.c.id.desc())
            ).scalar()
    finally:
        engine.dispose()
    assert args == {
        "towns": ",".join(TOWNS),
        "status": "all",
        "property": "all",
        "details": "changed",
    }


@pytest.fixture
def private_postgres():
    from tests.pipelines.pgcluster import PrivateCluster

    try:
        cluster = PrivateCluster()
    except FileNotFoundError as exc:
        pytest.skip(f"SKIPPING OUTAGE TEST: {exc}")
    cluster.start()
    yield cluster
    cluster.close()


@pytest_twisted.ensureDeferred
async def test_replica_outage_mid_crawl_then_replay_equals_a_clean_run(
    site, private_postgres, sqlite_url, monkeypatch
):
    from click.testing import CliRunner

    from ctforeclosure import migrate
    from ctforeclosure.cli.app import main

    migrate.upgrade(private_postgres.url)
    monkeypatch.setenv("DATABASE_URL", private_postgres.url)
    stopped = []

    def stop_after_some(crawler):
        def on_item(item, response, spider):
            if not stopped and crawler.stats.get_value("ctf/items_stored", 0) >= 20:
                private_postgres.stop("immediate")
                stopped.append(crawler.stats.get_value("item_scraped_count"))

        crawler.signals.connect(on_item, signal=scrapy_signals.item_scraped, weak=False)

    crawler, _ = await crawl_cases(
        site, _hook=stop_after_some, UPSERT_BATCH_SIZE=10, allow_spool=True
    )
    assert stopped, "the database was never stopped"
    spooled = crawler.stats.get_value("ctf/items_spooled")
    stored = crawler.stats.get_value("ctf/items_stored")
    assert spooled and stored and spooled + stored == len(site.truth())

    private_postgres.start()
    result = CliRunner().invoke(main, ["spool", "replay", "--batch-size", "7"])
    assert result.exit_code == 0, result.output
    assert "1 crawl runs completed" in result.output
    assert CliRunner().invoke(main, ["spool", "status"]).output.startswith("Spool ")

    migrate.upgrade(sqlite_url)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    await crawl_cases(site)
    outage, clean = make_engine(private_postgres.url), make_engine(sqlite_url)
    try:
        assert snapshot(outage) == snapshot(clean)
        with outage.connect() as conn:
            run = conn.execute(sa.select(db.crawl_runs)).one()
        assert run.status == "spooled"
        assert (run.items_stored, run.items_spooled) == (stored, spooled)
    finally:
        outage.dispose()
        clean.dispose()
