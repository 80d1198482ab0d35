"""JSON log lines for a crawl (``CTF_LOG_FORMAT=json``), each with the crawl's id.

Scrapy makes its log handler itself, more than once per crawl, from the ``LOG_*``
settings only (no formatter class setting as of Scrapy 2.19). The crawl command
(``scrapy crawl``, also what scrapyd runs) therefore calls
:func:`json_scrapy_handlers` before Scrapy makes the first: every handler it makes
then writes JSON objects (``ctforeclosure.services.logs``), to stderr or to
scrapyd's job log. The extension adds, once the crawl run's row is written, its id
(and scrapyd's job id) to every line. Off unless asked for: text stays the default.
"""

from __future__ import annotations

import scrapy.utils.log
from scrapy import signals
from scrapy.exceptions import NotConfigured

from ctforeclosure import config
from ctforeclosure.extensions.database import CrawlDatabase
from ctforeclosure.services import logs

__all__ = ["JsonLogs", "json_scrapy_handlers"]


def json_scrapy_handlers() -> None:
    """Make every log handler Scrapy makes from now on write JSON lines."""
    make = scrapy.utils.log._get_handler
    if getattr(make, "ctf_json", False):
        return

    def json_handler(settings):
        handler = make(settings)
        logs.use_json([handler])
        return handler

    json_handler.ctf_json = True
    scrapy.utils.log._get_handler = json_handler


class JsonLogs:
    """Scrapy extension: JSON log lines carrying ``crawl_id`` and ``job``."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler) -> JsonLogs:
        cfg = config.load()
        if cfg.log_format != "json":
            raise NotConfigured
        logs.set_process_fields(job=cfg.scrapy_job)
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        return ext

    def spider_opened(self, spider) -> None:
        """Tag every later line with the crawl run's id (written by CrawlRun)."""
        database = self.crawler.get_extension(CrawlDatabase)
        crawl_id = database.crawl_id if database is not None else None
        logs.set_process_fields(crawl_id=crawl_id, spider=spider.name)
