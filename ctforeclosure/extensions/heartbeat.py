"""A running crawl's heartbeat: proof of life on its crawl run, with the towns done.

A scrapyd node that loses power or its network leaves its crawl's record "running"
for ever. So a running crawl writes ``heartbeat_at`` on its ``crawl_runs`` row every
``CTF_CRAWL_HEARTBEAT_SECONDS`` (default 60: at most once a minute, never per
item), with ``completed_towns``, the towns whose searches and case pages have all
finished. ``ctforeclosure jobs --retry-failed`` (``ctforeclosure.jobs.lost_jobs``)
calls a crawl lost when its heartbeat is older than ``CTF_CRAWL_LOST_MINUTES`` and
its node does not run it, and reschedules its towns minus the completed ones.

A heartbeat the database refuses (it is down: the crawl spools) is skipped, logged
at WARNING once; the next one tries again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime

import sqlalchemy as sa
from scrapy import signals as scrapy_signals

from ctforeclosure import config
from ctforeclosure.extensions.crawl_outcome import towns_done
from ctforeclosure.extensions.crawl_run import CrawlRun, first_line
from ctforeclosure.extensions.database import CrawlDatabase
from ctforeclosure.store import crawl_runs

logger = logging.getLogger(__name__)


class CrawlHeartbeat:
    """Scrapy extension: write the crawl run's heartbeat on a timer."""

    def __init__(self, crawler, seconds: float):
        self.crawler = crawler
        self.seconds = seconds
        self._timer: asyncio.Task | None = None
        self._warned = False
        self._seen: dict[str, int] = {}  # town -> flushes begun when seen finished
        # A beat in a worker thread finishes before the crawl closes its run, and
        # none starts after (the run's closing values are the last word).
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def from_crawler(cls, crawler) -> CrawlHeartbeat:
        ext = cls(crawler, config.load().crawl_heartbeat_seconds)
        crawler.signals.connect(ext.spider_opened, signal=scrapy_signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=scrapy_signals.spider_closed)
        return ext

    def spider_opened(self, spider) -> None:
        self._timer = asyncio.create_task(self._beat_on_time(spider))

    def spider_closed(self, spider, reason: str = "") -> None:
        """Stop beating (before the crawl run closes: this extension comes first)."""
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._closed = True

    async def _beat_on_time(self, spider) -> None:
        while True:
            await asyncio.sleep(self.seconds)
            run = self.crawler.get_extension(CrawlRun)
            if run is None or run.run_id is None:
                continue
            # read the spider here, in the reactor's thread; write in a worker
            done = self.stored_towns(towns_done(spider))
            await asyncio.to_thread(self.beat, run.run_id, done)

    def stored_towns(self, done: list[str]) -> list[str]:
        """Return the towns of ``done`` whose items are all in the database.

        The spider's last page of a town is read before its items are stored (the
        upsert pipeline batches them, for up to ``UPSERT_FLUSH_SECONDS``): a town
        counts once a flush begun after the spider finished it has been committed,
        or a crawl killed meanwhile would be called done with those cases lost.
        """
        database = CrawlDatabase.of(self.crawler)
        for town in done:
            self._seen.setdefault(town, database.batches_begun)
        return sorted(
            town
            for town, begun in self._seen.items()
            if database.batches_stored > begun
        )

    def beat(self, run_id: int, completed_towns: list[str]) -> None:
        """Write one heartbeat (the database refusing it is logged, not raised)."""
        engine = CrawlDatabase.of(self.crawler).engine
        try:
            with self._lock:
                if self._closed:
                    return
                with engine.begin() as conn:
                    crawl_runs.beat(conn, run_id, datetime.now(UTC), completed_towns)
        except sa.exc.SQLAlchemyError as exc:
            if not self._warned:
                logger.warning(
                    "crawl run #%s: heartbeat not written (%s)", run_id, first_line(exc)
                )
                self._warned = True
