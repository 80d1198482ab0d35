"""Alert an operator when a crawl ends badly or its end-of-crawl checks fail.

The channels and the sending live in :mod:`ctforeclosure.services.alerts`; this
extension decides when a crawl deserves an alert.
"""

from __future__ import annotations

import logging
import os

from ctforeclosure.services.alerts import AlertChannels, crawl_failed, monitor_failed

logger = logging.getLogger(__name__)


class CrawlAlerts:
    """Scrapy extension: alert when a crawl closes with anything but ``finished``,
    and when its end-of-crawl checks failed (read from its ``crawl_runs`` row, which
    ``ctforeclosure.crawlrecord.CrawlRecord`` writes first: it runs at 500, this at
    600).

    A job that crashes before Scrapy starts (a bad argument) never gets here; those
    show as ``failed`` in ``ctforeclosure jobs``.
    """

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        from ctforeclosure import config

        channels = AlertChannels.from_config(config.load())
        if not (channels.webhook_url or channels.email_enabled):
            # Alerts are optional: say so at INFO, not as Scrapy's "Disabled" WARNING.
            logger.info("alerts off: no ALERT_WEBHOOK_URL or SMTP_HOST/ALERT_EMAIL_TO")
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    async def spider_closed(self, spider, reason):
        import asyncio

        stats = self.crawler.stats
        job_id = getattr(spider, "_job", None) or os.environ.get("SCRAPY_JOB")
        if reason != "finished":
            errors = stats.get_value("log_count/ERROR", 0)
            await asyncio.to_thread(
                crawl_failed,
                spider=spider.name,
                reason=f"finish_reason {reason}, {errors} error(s) logged",
                job_id=job_id,
            )
        crawl_id = stats.get_value("ctf/crawl_id")
        if crawl_id is not None:
            failed = await asyncio.to_thread(_failed_checks, crawl_id)
            if failed:
                await asyncio.to_thread(
                    monitor_failed, checks=failed, crawl_id=crawl_id, spider=spider.name
                )


def _failed_checks(crawl_id: int) -> list[str]:
    """Return the names of the failed checks stored on a crawl record."""
    import sqlalchemy as sa

    from ctforeclosure import config
    from ctforeclosure.db import crawl_runs, make_engine

    engine = make_engine(config.load().database_url)
    try:
        with engine.connect() as conn:
            checks = conn.execute(
                sa.select(crawl_runs.c.checks).where(crawl_runs.c.id == crawl_id)
            ).scalar()
    except sa.exc.SQLAlchemyError as exc:
        logger.warning("cannot read the checks of crawl #%s: %s", crawl_id, exc)
        return []
    finally:
        engine.dispose()
    return [c.get("name", "?") for c in checks or [] if not c.get("passed")]
