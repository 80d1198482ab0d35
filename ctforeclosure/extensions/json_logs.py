"""JSON log lines for a crawl (``CTF_LOG_FORMAT=json``), each with the crawl's id.

Scrapy installs its log handler before the crawl's extensions are built; this one
turns that handler's lines into JSON objects (``ctforeclosure.services.logs``) and,
once the crawl run's row is written, adds its id (and scrapyd's job id) to every
line. Off unless asked for: the text lines stay the default.
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.exceptions import NotConfigured

from ctforeclosure import config
from ctforeclosure.extensions.database import CrawlDatabase
from ctforeclosure.services import logs

__all__ = ["JsonLogs"]


class JsonLogs:
    """Scrapy extension: JSON log lines carrying ``crawl_id`` and ``job``."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler) -> JsonLogs:
        cfg = config.load()
        if cfg.log_format != "json":
            raise NotConfigured
        logs.use_json(logging.getLogger().handlers)
        logs.set_process_fields(job=cfg.scrapy_job)
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        return ext

    def spider_opened(self, spider) -> None:
        """Tag every later line with the crawl run's id (written by CrawlRun)."""
        database = self.crawler.get_extension(CrawlDatabase)
        crawl_id = database.crawl_id if database is not None else None
        logs.set_process_fields(crawl_id=crawl_id, spider=spider.name)
