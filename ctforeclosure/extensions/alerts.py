"""Alert an operator when a crawl ends badly or its end-of-crawl checks fail.

The channels and the sending live in :mod:`ctforeclosure.services.alerts`; this
extension decides when a crawl deserves an alert.
"""

from __future__ import annotations

import asyncio
import logging

from scrapy import signals as scrapy_signals
from scrapy.exceptions import NotConfigured

from ctforeclosure import config, signals
from ctforeclosure.services.alerts import AlertChannels, crawl_failed, monitor_failed

logger = logging.getLogger(__name__)


class CrawlAlerts:
    """Scrapy extension: alert when a crawl closes with anything but ``finished``,
    when its closed run is partial (some towns not complete: they are named), and
    when the end-of-crawl checks of its closed run (``signals.crawl_recorded``,
    from the crawl-run extension) failed.

    A job that crashes before Scrapy starts (a bad argument) never gets here; those
    show as ``failed`` in ``ctforeclosure jobs``.
    """

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        channels = AlertChannels.from_config(config.load())
        if not (channels.webhook_url or channels.email_enabled):
            # Alerts are optional: say so at INFO, not as Scrapy's "Disabled" WARNING.
            logger.info("alerts off: no ALERT_WEBHOOK_URL or SMTP_HOST/ALERT_EMAIL_TO")
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_closed, signal=scrapy_signals.spider_closed)
        crawler.signals.connect(ext.crawl_recorded, signal=signals.crawl_recorded)
        return ext

    async def spider_closed(self, spider, reason):
        """Alert when the crawl closed for any reason but ``finished``."""
        if reason != "finished":
            errors = self.crawler.stats.get_value("log_count/ERROR", 0)
            await asyncio.to_thread(
                crawl_failed,
                spider=spider.name,
                reason=f"finish_reason {reason}, {errors} error(s) logged",
                job_id=_job_id(spider),
            )

    async def crawl_recorded(self, record: signals.CrawlRunRecord):
        """Alert when the closed run is partial, or its end-of-crawl checks failed."""
        if record.outcome == "partial":
            towns = record.incomplete_towns
            await asyncio.to_thread(
                crawl_failed,
                spider=self.crawler.spider.name,
                reason=f"partial: {len(towns)} town(s) not complete",
                job_id=_job_id(self.crawler.spider),
                towns=", ".join(towns),
            )
        failed = record.failed_checks
        if failed:
            await asyncio.to_thread(
                monitor_failed,
                checks=failed,
                crawl_id=record.id,
                spider=self.crawler.spider.name,
            )


def _job_id(spider) -> str | None:
    """Return the scrapyd job id of the crawl, when scrapyd runs it."""
    return getattr(spider, "_job", None) or config.load().scrapy_job
