"""The alerts extension in real crawls: a bad finish and failed checks alert, a good
crawl is quiet (``scrapy runspider`` in a subprocess, alerts to a local webhook)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest_twisted

CLOSING_SPIDER = textwrap.dedent(
    """
    import scrapy
    from scrapy.exceptions import CloseSpider

    class Closing(scrapy.Spider):
        name = "closing"

        async def start(self):
            yield scrapy.Request("data:,hello")

        def parse(self, response):
            raise CloseSpider("layout_changed")
    """
)


def _run_spider(tmp_path, webhook, source: str) -> None:
    """Run a one-page spider with the project's settings, alerts to ``webhook``."""
    from ctforeclosure import migrate

    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    migrate.upgrade(database_url)
    spider = tmp_path / "spider.py"
    spider.write_text(source)
    env = dict(
        os.environ,
        ALERT_WEBHOOK_URL=webhook.url,
        SCRAPY_SETTINGS_MODULE="ctforeclosure.settings",
        DATABASE_URL=database_url,
    )
    scrapy = str(Path(sys.executable).with_name("scrapy"))
    subprocess.run(
        [scrapy, "runspider", str(spider), "-s", "LOG_LEVEL=WARNING"],
        env=env,
        cwd=tmp_path,
        check=True,
        timeout=120,
    )


def test_crawl_alerts_extension_alerts_on_a_bad_finish(tmp_path, webhook):
    _run_spider(tmp_path, webhook, CLOSING_SPIDER)
    by_kind = {payload["kind"]: payload for payload in webhook.received}
    assert set(by_kind) == {"crawl_failed", "monitor_failed"}
    assert "layout_changed" in by_kind["crawl_failed"]["text"]
    assert by_kind["crawl_failed"]["details"]["spider"] == "closing"
    # The crawl run's end-of-crawl check on the finish reason failed too.
    assert "finish_reason" in by_kind["monitor_failed"]["details"]["checks"]


def test_crawl_alerts_extension_is_quiet_after_a_good_crawl(tmp_path, webhook):
    quiet = CLOSING_SPIDER.replace('raise CloseSpider("layout_changed")', "return None")
    assert quiet != CLOSING_SPIDER
    _run_spider(tmp_path, webhook, quiet)
    assert webhook.received == []


@pytest_twisted.ensureDeferred
async def test_crawl_alerts_failed_checks_alert_though_the_run_was_not_written(
    sqlite_url, webhook, monkeypatch, crawl_runs_taken_away
):
    from ctforeclosure import migrate
    from tests.pipelines.crawling import CountingServer, crawl
    from tests.store.factory import make_case

    migrate.upgrade(sqlite_url)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ALERT_WEBHOOK_URL", webhook.url)
    steps = [
        make_case("HHDCV246000002S"),
        make_case(docket_no="not a docket"),
        crawl_runs_taken_away,
    ]
    with CountingServer() as server:
        await crawl(server.url, steps)
    [alert] = webhook.received
    assert alert["kind"] == "monitor_failed"
    assert alert["details"]["checks"] == "validation_drop_rate"
    assert alert["details"]["crawl_id"] == "1"


def test_crawl_alerts_extension_alerts_on_a_partial_crawl_naming_its_towns(
    tmp_path, webhook
):
    # "site says 3, we parsed 2" for Meriden: the town is not complete.
    partial = CLOSING_SPIDER.replace(
        'raise CloseSpider("layout_changed")',
        'self.crawler.stats.set_value("ctf/town/Meriden/site_records", 3)\n'
        '        self.crawler.stats.set_value("ctf/town/Meriden/rows_parsed", 2)',
    )
    _run_spider(tmp_path, webhook, partial)
    by_kind = {payload["kind"]: payload for payload in webhook.received}
    assert set(by_kind) == {"crawl_failed"}
    assert "partial: 1 town(s) not complete" in by_kind["crawl_failed"]["text"]
    assert by_kind["crawl_failed"]["details"]["towns"] == "Meriden"
