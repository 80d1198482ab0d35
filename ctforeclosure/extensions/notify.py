"""Deliver subscriptions after every crawl: the crawl's new changes reach their
watchers minutes sooner than the next timer run would bring them.

When the closed run is recorded (``signals.crawl_recorded``), the same
``ctforeclosure notify`` the timer runs is started as a process of its own: what a
saved search means is the web UI's (``webui.saved_queries``), which a crawl does
not import, and a process of its own keeps a slow SMTP server or webhook from
holding the crawl's reactor. The crawl waits for it (``NOTIFY_TIMEOUT`` seconds at
most) and logs its one line of counts; a notify that fails or times out is logged
as a warning and never fails the crawl (the next timer run picks up what it left,
and ``notify`` alerts on its own failures). Nobody subscribed: nothing is started.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys

import sqlalchemy as sa
from scrapy.exceptions import NotConfigured

from ctforeclosure import signals
from ctforeclosure.db import subscriptions
from ctforeclosure.extensions.database import CrawlDatabase

__all__ = ["CrawlNotify"]

logger = logging.getLogger(__name__)

#: ``ctforeclosure notify`` with this Python (scrapyd's environment has the package).
COMMAND = (sys.executable, "-c", "from ctforeclosure.cli.app import main; main()")


class CrawlNotify:
    """Scrapy extension: run ``ctforeclosure notify`` when a crawl run is recorded."""

    def __init__(self, crawler, timeout: float):
        self.crawler = crawler
        self.timeout = timeout

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("NOTIFY_AFTER_CRAWL"):
            raise NotConfigured
        ext = cls(crawler, crawler.settings.getfloat("NOTIFY_TIMEOUT"))
        crawler.signals.connect(ext.crawl_recorded, signal=signals.crawl_recorded)
        return ext

    def _anyone_subscribed(self) -> bool:
        engine = CrawlDatabase.of(self.crawler).engine
        with engine.connect() as conn:
            return (
                conn.execute(sa.select(subscriptions.c.id).limit(1)).first() is not None
            )

    def _notify(self) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 -- this Python, our arguments
            [*COMMAND, "notify"], capture_output=True, text=True, timeout=self.timeout
        )

    async def crawl_recorded(self, record: signals.CrawlRunRecord) -> None:
        """Run notify; log its counts, or why it did not finish."""
        try:
            if not await asyncio.to_thread(self._anyone_subscribed):
                return
            done = await asyncio.to_thread(self._notify)
        except (sa.exc.SQLAlchemyError, OSError, subprocess.TimeoutExpired) as exc:
            logger.warning("notify after crawl %s: %s", record.id, type(exc).__name__)
            return
        lines = done.stdout.strip().splitlines() or [""]
        if done.returncode:
            logger.warning(
                "notify after crawl %s failed (exit status %s)",
                record.id,
                done.returncode,
            )
        else:
            logger.info("%s (after crawl %s)", lines[-1], record.id)
