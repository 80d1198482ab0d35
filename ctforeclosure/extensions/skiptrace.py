"""Skip trace the new eligible parties a crawl stores, as the crawl goes.

Off unless ``SKIPTRACE_ENABLED`` is on *and* a BatchData base URL and key are set
(``NotConfigured`` otherwise, so the crawl runs without it). It never touches items:
it listens to ``ctforeclosure.signals.parties_stored``, which the upsert pipeline
sends after each flush with the parties that flush inserted, and hands them to the
shared :class:`~ctforeclosure.skiptrace.service.SkipTraceService` on one worker
thread, so the reactor never waits for BatchData and traces never race each other
for the budget. The service applies the same eligibility rule, budgets and dedupe
as the CLI and the web UI. A trace the database fails (an outage mid-crawl) leaves
its parties' ids beside the spool, and ``ctforeclosure spool replay`` traces them.

The upsert pipeline flushes its last batch in its ``close_spider``, which Scrapy
calls before the ``spider_closed`` signal: the crawl waits there for every queued
trace. Only counts reach the log and the stats; never names, phones or emails.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import sqlalchemy as sa
from scrapy import signals as scrapy_signals
from scrapy.exceptions import NotConfigured

from ctforeclosure import config, signals
from ctforeclosure.extensions.database import CrawlDatabase
from ctforeclosure.migrate import SchemaNotCurrent
from ctforeclosure.skiptrace.client import AuthError
from ctforeclosure.skiptrace.service import (
    BudgetExceeded,
    NotConfiguredError,
    SkipTraceService,
    new_defendants,
)
from ctforeclosure.store.spool import save_untraced

logger = logging.getLogger(__name__)

STAT_KEYS = ("sent", "matched", "no_match", "reused", "review", "reconcile", "errors")


class SkipTrace:
    """Skip trace the parties each upsert flush inserted, on a worker thread."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.database: CrawlDatabase | None = None
        self.service: SkipTraceService | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="skiptrace")
        self._futures: list[Future] = []
        self._totals: dict[str, float] = dict.fromkeys(STAT_KEYS, 0)
        self._lock = threading.Lock()
        self._stopped: str | None = None  # why tracing stopped for this crawl

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("SKIPTRACE_ENABLED"):
            # Off is the default, not a problem: no WARNING (NotConfigured with a
            # message is logged as one).
            logger.info("skip tracing is off (SKIPTRACE_ENABLED)")
            raise NotConfigured
        cfg = config.load()
        if not cfg.batchdata_base_url or not cfg.batchdata_api_key:
            raise NotConfigured(
                "skip tracing needs BATCHDATA_BASE_URL and BATCHDATA_API_KEY"
            )
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=scrapy_signals.spider_opened)
        crawler.signals.connect(ext.parties_stored, signal=signals.parties_stored)
        crawler.signals.connect(ext.spider_closed, signal=scrapy_signals.spider_closed)
        return ext

    def spider_opened(self, spider=None) -> None:
        """Build the service on the crawl's database, unless it was refused."""
        self.database = CrawlDatabase.of(self.crawler)
        if self.database.unavailable:
            return  # the crawl closes before its first request
        try:
            self.service = SkipTraceService.from_config(self.database.engine)
        except SchemaNotCurrent as exc:
            self._stopped = str(exc).splitlines()[0]
            logger.error("skip tracing disabled for this crawl: %s", self._stopped)

    def parties_stored(self, new_parties: list[dict]) -> None:
        """Queue the parties of one upsert flush for tracing (returns at once)."""
        if self.service is None or self._stopped:
            return
        party_ids = new_defendants(new_parties)
        if not party_ids:
            return
        try:
            self._futures.append(self._executor.submit(self._trace, party_ids))
        except RuntimeError:  # after spider_closed: the CLI's --pending picks them up
            logger.warning(
                "skip tracing already finished: %d new defendants not traced "
                "(run `ctforeclosure skiptrace --pending`)",
                len(party_ids),
            )

    def _trace(self, party_ids: list[int]) -> None:
        if self._stopped:
            return
        crawl_id = self.database.crawl_id
        triggered_by = f"crawl:{crawl_id}" if crawl_id else "crawl"
        try:
            result = self.service.trace_parties(party_ids, triggered_by)
        except (AuthError, BudgetExceeded, NotConfiguredError) as exc:
            self._stopped = str(exc)
            logger.error("skip tracing stopped for this crawl: %s", exc)
            return
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            self._save_untraced(party_ids, exc)
            return
        except Exception:
            logger.exception("skip tracing failed for %d parties", len(party_ids))
            with self._lock:
                self._totals["errors"] += len(party_ids)
            return
        if result is None:
            return
        with self._lock:
            for key in STAT_KEYS:
                self._totals[key] += getattr(result, key)
            self._totals["cost"] = self._totals.get("cost", 0) + float(result.cost)
        if result.stopped:
            self._stopped = result.stopped
            logger.warning("skip tracing stopped for this crawl: %s", result.stopped)

    def _save_untraced(self, party_ids: list[int], exc: Exception) -> None:
        """Leave the parties of a trace the database failed for the replay."""
        label = f"crawl-{self.database.crawl_id or 'x'}"
        path = save_untraced(config.load().spool_dir, label, party_ids)
        with self._lock:
            self._totals["errors"] += len(party_ids)
        logger.error(
            "skip tracing lost the database (%s); %d new defendants saved to %s for "
            "`ctforeclosure spool replay`",
            type(exc).__name__,
            len(party_ids),
            path,
        )

    async def spider_closed(self, spider=None, reason=None) -> None:
        """Wait for every queued trace, then record the counts."""
        # Traces queued so far still run; a later one is refused (and logged).
        self._executor.shutdown(wait=False)
        try:
            await asyncio.gather(
                *map(asyncio.wrap_future, self._futures), return_exceptions=True
            )
        finally:
            for key, value in self._totals.items():
                self.stats.set_value(f"ctf/skiptrace/{key}", value)
            if self._stopped:
                self.stats.set_value("ctf/skiptrace/stopped", self._stopped)
