"""The crawl's one database: a whole crawl of the cases spider makes one engine."""

from __future__ import annotations

import traceback
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
import pytest_twisted
import sqlalchemy
from scrapy.crawler import CrawlerRunner

from ctforeclosure.extensions.alerts import CrawlAlerts
from ctforeclosure.extensions.crawl_run import CrawlRun
from ctforeclosure.extensions.database import CrawlDatabase
from ctforeclosure.extensions.skiptrace import SkipTrace
from ctforeclosure.middlewares.site_budget import SiteBudgetMiddleware
from ctforeclosure.pipelines.upsert import UpsertPipeline
from tests.pipelines.crawling import test_settings

ROOT = Path(__file__).parents[2]
#: Frames that are not the component asking for an engine.
_NOT_THE_CALLER = (
    str(Path(sqlalchemy.__file__).parent),
    str(Path(__file__)),
    str(ROOT / "ctforeclosure" / "db.py"),
)


def _caller() -> str:
    """Return "path:function" of the code that asked for an engine."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not frame.filename.startswith(_NOT_THE_CALLER):
            path = Path(frame.filename)
            where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            return f"{where}:{frame.name}"
    return "?"


@contextmanager
def engines_created():
    """Yield the list of ``sqlalchemy.create_engine`` calls made in the block."""
    made: list[str] = []
    real = sqlalchemy.create_engine

    def counting(*args, **kwargs):
        made.append(_caller())
        return real(*args, **kwargs)

    # ``ctforeclosure.db.make_engine`` calls ``sa.create_engine``; the second name
    # is the same function, for code that imports it from there.
    with (
        mock.patch("sqlalchemy.create_engine", counting),
        mock.patch("sqlalchemy.engine.create_engine", counting),
    ):
        yield made


@pytest_twisted.ensureDeferred
async def test_database_one_engine_for_a_whole_cases_crawl(
    replica_factory, migrated_db_url, webhook, monkeypatch
):
    """Every component on: upsert, crawl run, checks, alerts, site budget, skip
    tracing (the replica's BatchData) and the spider's look-ups of stored cases."""
    from ctforeclosure.spiders.cases import CasesSpider

    site = replica_factory(cases=40, towns=("Bethel",), seed=5)
    for name, value in site.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    monkeypatch.setenv("ALERT_WEBHOOK_URL", webhook.url)
    settings = test_settings(
        **{k: v for k, v in site.env.items() if k != "BATCHDATA_API_KEY"},
        ROBOTSTXT_OBEY=True,
        SITE_BUDGET_ENABLED=True,
        SKIPTRACE_ENABLED=True,
        NOBOT_MIN_DELAY=0,
        CONCURRENT_REQUESTS_PER_DOMAIN=8,
    )
    crawler = CrawlerRunner(settings).create_crawler(CasesSpider)
    with engines_created() as made:
        await crawler.crawl(towns="Bethel", status="all", property="all")

    assert crawler.stats.get_value("finish_reason") == "finished"
    for extension in (CrawlDatabase, CrawlRun, CrawlAlerts, SkipTrace):
        assert crawler.get_extension(extension) is not None, extension
    assert crawler.get_item_pipeline(UpsertPipeline) is not None
    assert crawler.get_downloader_middleware(SiteBudgetMiddleware).enabled
    assert crawler.stats.get_value("ctf/items_stored") > 0
    assert crawler.stats.get_value("ctf/skiptrace/sent") > 0
    assert CrawlDatabase.of(crawler).crawl_id is not None
    assert len(made) == 1, "engines made by:\n" + "\n".join(made)


def test_database_of_a_crawl_without_the_extension_says_so():
    from scrapy.utils.test import get_crawler

    with pytest.raises(RuntimeError, match="CrawlDatabase is not enabled"):
        CrawlDatabase.of(get_crawler())
