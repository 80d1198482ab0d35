"""The towns spider: its callback on saved pages, and real `scrapy crawl towns` runs.

The end-to-end tests run the venv's ``scrapy crawl towns`` in a subprocess against an
HTTP server on 127.0.0.1 serving the saved State Library layouts, and read what the
pipelines stored in SQLite and in PostgreSQL.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa
from scrapy.utils.test import get_crawler

from ctforeclosure import towns as reference
from ctforeclosure.db import towns
from ctforeclosure.items import TownItem
from ctforeclosure.spiders.towns import TownsSpider
from tests.conftest import fixture_path, fixture_response

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRAPY = Path(sys.executable).parent / "scrapy"
BUNDLED = {(t.name, t.county) for t in reference.all_towns()}


# -- the callback on saved pages ----------------------------------------------------


@pytest.fixture
def spider():
    crawler = get_crawler(
        TownsSpider, {"STATE_LIBRARY_TOWNS_URL": "http://127.0.0.1:9/towns"}
    )
    return TownsSpider.from_crawler(crawler)


@pytest.mark.parametrize("layout", ["table", "entries"])
def test_parse_towns_yields_the_pages_169_towns(spider, layout, caplog):
    items = list(spider.parse_towns(fixture_response(f"statelib/towns__{layout}.html")))
    assert all(isinstance(i, TownItem) for i in items)
    assert {(i.town, i.county) for i in items} == BUNDLED
    assert {i.source for i in items} == {"statelib"}
    assert all(i.planning_region for i in items)
    assert spider.crawler.stats.get_value("towns/fallback_used") == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_parse_towns_partial_page_yields_the_bundled_list_loudly(spider, caplog):
    items = list(
        spider.parse_towns(fixture_response("statelib/towns__partial_lists.html"))
    )
    assert {(i.town, i.county) for i in items} == BUNDLED
    assert {i.source for i in items} == {"bundled"}
    stats = spider.crawler.stats
    assert stats.get_value("towns/fallback_used") == 1
    assert stats.get_value("towns/differences") == {
        "found": 28,
        "missing": 141,
        "extra": 0,
        "wrong_county": 0,
        "counties": 2,
    }
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "missing 141: Ansonia, Avon, Barkhamsted" in warnings[0]
    assert "Woodbury" in warnings[0]
    assert "Vernon" not in warnings[0]  # Tolland's box did load


def test_parse_towns_names_a_town_the_page_puts_in_another_county(spider, caplog):
    html = fixture_path("statelib/towns__table.html").read_text()
    html = html.replace(
        "<td>Bristol</td><td>Hartford</td>", "<td>Bristol</td><td>Litchfield</td>"
    )
    response = fixture_response("statelib/towns__table.html")
    items = list(spider.parse_towns(response.replace(body=html.encode())))
    assert {i.source for i in items} == {"bundled"}
    assert ("Bristol", "Hartford") in {(i.town, i.county) for i in items}
    assert "Bristol (Litchfield County, bundled Hartford County)" in caplog.text


def test_spider_accepts_scrapyd_job_argument():
    crawler = get_crawler(
        TownsSpider, {"STATE_LIBRARY_TOWNS_URL": "http://127.0.0.1:9/towns"}
    )
    spider = TownsSpider.from_crawler(crawler, _job="abc123")
    assert spider.name == "towns"


# -- end to end: scrapy crawl towns ---------------------------------------------------


@pytest.fixture
def statelib_server():
    """Serve tests/fixtures/statelib on 127.0.0.1 for one test; yield its base URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = partial(Quiet, directory=str(fixture_path("statelib")))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _crawl(url: str, database_url: str | None = None, **env) -> tuple[int, str]:
    """Run `scrapy crawl towns` as an operator would; return (status, log)."""
    environ = {**os.environ, "STATE_LIBRARY_TOWNS_URL": url, **env}
    if database_url:
        environ["DATABASE_URL"] = database_url
    result = subprocess.run(
        [
            str(SCRAPY),
            "crawl",
            "towns",
            "-s",
            "REMOTE_CONTROL_ENABLED=False",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
            "-s",
            "RETRY_ENABLED=False",
            "-s",
            "DOWNLOAD_TIMEOUT=10",
        ],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


def _stats(log: str) -> dict:
    """Return the stats dict Scrapy dumps at INFO when the crawl closes."""
    dump = log.split("Dumping Scrapy stats:\n", 1)[1]
    text = dump.split("\n2", 1)[0]  # up to the next timestamped log line
    text = re.sub(r"datetime\.datetime\([^)]*\)", "None", text)
    return ast.literal_eval(text)


def _stored(database_url: str) -> list[sa.Row]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(towns).order_by(towns.c.town)))
    finally:
        engine.dispose()


def test_crawl_towns_stores_169_towns_and_a_second_crawl_keeps_169(
    migrated_db_url, statelib_server
):
    status, log = _crawl(f"{statelib_server}/towns__table.html", migrated_db_url)
    assert status == 0, log
    stats = _stats(log)
    assert stats["finish_reason"] == "finished"
    assert stats["item_scraped_count"] == 169
    assert stats["towns/fallback_used"] == 0
    assert "[towns] WARNING" not in log
    assert " ERROR: " not in log
    first = _stored(migrated_db_url)
    assert len(first) == 169
    assert {(r.town, r.county) for r in first} == BUNDLED
    assert len({r.county for r in first}) == 8
    assert {r.source for r in first} == {"statelib"}

    status, log = _crawl(f"{statelib_server}/towns__table.html", migrated_db_url)
    assert status == 0, log
    second = _stored(migrated_db_url)
    assert len(second) == 169
    before = {r.town: (r.id, r.county, r.first_seen, r.updated_at) for r in first}
    assert {r.town: (r.id, r.county, r.first_seen, r.updated_at) for r in second} == (
        before
    )


def test_crawl_towns_partial_page_stores_the_bundled_list_with_a_warning(
    migrated_db_url, statelib_server
):
    status, log = _crawl(
        f"{statelib_server}/towns__partial_lists.html", migrated_db_url
    )
    assert status == 0, log
    stats = _stats(log)
    assert stats["towns/fallback_used"] == 1
    assert stats["towns/differences"]["missing"] == 141
    warnings = [line for line in log.splitlines() if "[towns] WARNING: " in line]
    assert len(warnings) == 1
    assert "Town list fallback" in warnings[0]
    assert "missing 141: Ansonia, Avon" in warnings[0]
    rows = _stored(migrated_db_url)
    assert len(rows) == 169
    assert {(r.town, r.county) for r in rows} == BUNDLED
    assert {r.source for r in rows} == {"bundled"}


def test_crawl_towns_page_not_found_stores_the_bundled_list_with_a_warning(
    sqlite_url, statelib_server
):
    from ctforeclosure import migrate

    migrate.upgrade(sqlite_url)
    status, log = _crawl(f"{statelib_server}/no_such_page.html", sqlite_url)
    assert status == 0, log
    assert _stats(log)["towns/fallback_used"] == 1
    assert re.search(
        r"WARNING: Town list fallback: \S+no_such_page.html could not", log
    )
    assert len(_stored(sqlite_url)) == 169


def test_crawl_towns_of_a_real_site_without_contact_refuses_to_start(sqlite_url):
    # TEST-NET-2 address: not loopback, and nothing would answer if it were fetched.
    status, log = _crawl("http://198.51.100.7/cttowns", sqlite_url)
    assert status != 0
    assert "CONTACT is not set" in log
    assert "http://198.51.100.7/cttowns" in log
    assert "downloader/request_count" not in log
    assert "Crawled (" not in log
