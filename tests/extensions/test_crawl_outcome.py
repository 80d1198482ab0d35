"""A crawl's outcome and incomplete towns: the count tolerance (one definition, the
Scrapy setting), search texts that cover several towns, and case pages given up in
a real crawl of the replica."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from scrapy.settings import Settings

from ctforeclosure import db, migrate
from ctforeclosure.extensions import crawl_outcome
from ctforeclosure.spiders.cases import CasesSpider
from tests.jobs.test_auto_retry import run_crawl
from tests.replica.faults import hits_case


def _counts(site: int, parsed: int, term: str = "Hartford") -> dict:
    return {
        f"ctf/town/{term}/site_records": site,
        f"ctf/town/{term}/rows_parsed": parsed,
    }


@pytest.mark.parametrize("tolerance,expected", [(0, ["Hartford"]), (1, [])])
def test_site_count_and_rows_parsed_may_differ_by_the_tolerance(tolerance, expected):
    spider = CasesSpider(town="Hartford")
    spider.state = {"announced": {"Hartford"}}  # its search and pages are done
    stats = _counts(12, 11)
    assert crawl_outcome.incomplete_towns(spider, stats, tolerance) == expected


def test_a_search_text_that_disagrees_makes_every_town_it_covers_incomplete():
    # "Hartford" also lists East and West Hartford (the site matches substrings).
    spider = CasesSpider(towns="Hartford,East Hartford,Bristol")
    spider.state = {"announced": {"Hartford", "East Hartford", "Bristol"}}
    stats = _counts(30, 29) | _counts(4, 4, "Bristol")
    assert crawl_outcome.incomplete_towns(spider, stats, 0) == [
        "East Hartford",
        "Hartford",
    ]


def test_a_town_never_searched_is_incomplete_and_the_outcome_follows():
    spider = CasesSpider(towns="Avon,Bristol")
    spider.state = {"announced": {"Avon"}}
    incomplete = crawl_outcome.incomplete_towns(spider, {}, 0)
    assert incomplete == ["Bristol"]
    settings = Settings()
    assert crawl_outcome.outcome("finished", incomplete, settings) == "partial"
    assert crawl_outcome.outcome("finished", [], settings) == "complete"
    assert crawl_outcome.outcome("robots_forbidden", [], settings) == "failed"


def test_a_case_page_given_up_makes_its_town_partial(replica_factory, tmp_path):
    url = f"sqlite:///{tmp_path / 'crawl.sqlite3'}"
    migrate.upgrade(url)
    replica = replica_factory(
        cases=60, fast=True, faults=["case-page-500"], towns=("Avon", "Bristol")
    )
    hit = {
        c["search_town"]
        for c in replica.truth()
        if c["is_active"]
        and c["property_type"] == "Residential"
        and hits_case("case-page-500", c["docket_no"])
    }
    assert hit, "the fault hit no listed case"
    status, log = run_crawl(
        replica.env,
        url,
        "towns=Avon,Bristol",
        "CASE_MAX_ATTEMPTS=2",
        "CASE_PAGES_DIRECT=False",
    )
    assert status == 3, log[-3000:]
    engine = db.make_engine(url)
    with engine.connect() as conn:
        run = conn.execute(sa.select(db.crawl_runs)).one()
    engine.dispose()
    assert (run.outcome, run.incomplete_towns) == ("partial", sorted(hit))
    # what a lost crawl would not run again: searched, every case page read
    assert set(run.completed_towns) == {"Avon", "Bristol"} - hit
