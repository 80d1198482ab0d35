"""The crawl run: a ``crawl_runs`` row per crawl, opened at start, completed at end.

At ``spider_opened`` a "running" row is written (spider, arguments, scrapyd job id and
node when run there) and its id is kept on the crawl's database
(:attr:`CrawlDatabase.crawl_id <ctforeclosure.extensions.database.CrawlDatabase>`: the
upsert pipeline stamps stored cases and changes with it). At ``spider_closed`` the row
gets the end time, status, item counts (scraped, stored, dropped, spooled), requests,
errors by category, finish reason, whether robots.txt was overridden, the per-town
site count vs rows parsed, and the results of the end-of-crawl checks
(``ctforeclosure.extensions.crawl_checks``); then ``signals.crawl_recorded`` hands the
closed run to whoever listens (the alerts extension).

Status, how the crawl process closed: ``finished`` (finish reason "finished", nothing
spooled), ``spooled`` (the database failed mid-crawl: items wait in the spool), or
``failed`` (any other finish reason); ``lost`` when ``ctforeclosure jobs
--retry-failed`` finds it dead (``ctforeclosure.jobs.lost_jobs``). Outcome, what the
crawl came to: ``complete``, ``partial`` or ``failed`` with its incomplete towns
(``ctforeclosure.extensions.crawl_outcome``), or ``lost``. A database that is down
at close: the closing values are saved beside the spool and ``ctforeclosure spool
replay`` writes them.
"""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime

import sqlalchemy as sa
from scrapy import signals as scrapy_signals

from ctforeclosure import config, signals
from ctforeclosure.extensions import crawl_outcome, crawl_stats
from ctforeclosure.extensions.crawl_checks import run_checks
from ctforeclosure.extensions.database import CrawlDatabase
from ctforeclosure.store import crawl_runs

logger = logging.getLogger(__name__)


def first_line(exc: Exception) -> str:
    """Return the first line of a database error (the driver's, when it has one)."""
    return str(getattr(exc, "orig", exc)).splitlines()[0]


class CrawlRun:
    """Write the crawl's ``crawl_runs`` row and its end-of-crawl checks."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.database: CrawlDatabase | None = None
        self.run_id: int | None = None
        self.started_at: datetime | None = None

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=scrapy_signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=scrapy_signals.spider_closed)
        return ext

    def spider_opened(self, spider) -> None:
        self.database = CrawlDatabase.of(self.crawler)
        self.started_at = datetime.now(UTC)
        cfg = config.load()
        job_id = cfg.scrapy_job or getattr(spider, "_job", None)
        node = None
        if job_id:
            node = cfg.node_name or socket.gethostname()
        if self.database.unavailable:
            return  # the upsert pipeline refused the database: nothing to record in
        try:
            with self.database.engine.begin() as conn:
                self.run_id = crawl_runs.start_run(
                    conn,
                    spider=spider.name,
                    args=crawl_stats.spider_args(spider),
                    job_id=job_id,
                    node=node,
                    started_at=self.started_at,
                )
        except sa.exc.SQLAlchemyError as exc:
            logger.error("Could not write the crawl run: %s", first_line(exc))
            return
        self.database.crawl_id = self.run_id
        logger.info("Crawl run #%s opened", self.run_id)

    async def spider_closed(self, spider, reason) -> None:
        """Complete the run's row, then hand the closed run to the listeners."""
        incomplete, outcome = self._outcome(spider, reason)
        if self.run_id is None:
            return
        stats = dict(self.stats.get_stats())
        stats["finish_reason"] = reason
        checks = run_checks(self.crawler, stats, self._cases_before(stats))
        values = self._closing_values(stats, reason, checks)
        values |= {
            "outcome": outcome,
            "incomplete_towns": incomplete,
            "completed_towns": crawl_outcome.towns_done(spider),
        }
        record = signals.CrawlRunRecord(
            id=self.run_id,
            status=values["status"],
            finish_reason=reason,
            checks=checks,
            outcome=outcome,
            incomplete_towns=incomplete,
        )
        if self._save(values):
            failed = record.failed_checks
            logger.info(
                "Crawl run #%s closed: %s, %s (%s)%s%s",
                self.run_id,
                record.status,
                outcome,
                reason,
                f"; {len(incomplete)} town(s) incomplete" if incomplete else "",
                f"; FAILED CHECKS: {', '.join(failed)}" if failed else "",
            )
        await self.crawler.signals.send_catch_log_async(
            signal=signals.crawl_recorded, record=record
        )

    def _outcome(self, spider, reason: str) -> tuple[list[str], str]:
        """Decide the crawl's outcome and incomplete towns; put them in the stats
        (the crawl command's exit status and scrapyd's log read them there)."""
        settings = self.crawler.settings
        tolerance = settings.getint(crawl_outcome.TOLERANCE_SETTING, 0)
        stats = self.stats.get_stats()
        incomplete = crawl_outcome.incomplete_towns(spider, stats, tolerance)
        outcome = crawl_outcome.outcome(reason, incomplete, settings)
        self.stats.set_value(crawl_outcome.OUTCOME_STAT, outcome)
        if incomplete:
            self.stats.set_value(
                crawl_outcome.INCOMPLETE_STAT,
                crawl_outcome.TOWN_SEPARATOR.join(incomplete),
            )
        return incomplete, outcome

    def _cases_before(self, stats: dict) -> dict[str, int]:
        """Return the stored cases, before this crawl, of the towns it found empty."""
        try:
            with self.database.engine.connect() as conn:
                return crawl_runs.stored_case_counts(
                    conn, sorted(crawl_stats.empty_towns(stats)), self.started_at
                )
        except sa.exc.SQLAlchemyError:
            return {}

    def _closing_values(self, stats: dict, reason: str, checks: list[dict]) -> dict:
        spool_file = self.database.spool_file
        return {
            "finished_at": datetime.now(UTC),
            "status": crawl_stats.status(reason, spooled=spool_file is not None),
            "finish_reason": reason,
            "items_scraped": stats.get("item_scraped_count", 0),
            "items_stored": stats.get("ctf/items_stored", 0),
            "items_dropped": stats.get("item_dropped_count", 0),
            "items_spooled": stats.get("ctf/items_spooled", 0),
            "requests": stats.get("downloader/request_count", 0),
            "errors": crawl_stats.errors_by_category(stats),
            "robots_overridden": bool(stats.get("ctf/robots_overridden"))
            or not self.crawler.settings.getbool("ROBOTSTXT_OBEY"),
            "town_counts": crawl_stats.town_stats(stats),
            "checks": checks,
            "notes": crawl_stats.notes(stats, spool_file),
            "stats": crawl_stats.jsonable(stats),
        }

    def _save(self, values: dict) -> bool:
        """Write the closing values, or save them for ``spool replay``; False then."""
        try:
            with self.database.engine.begin() as conn:
                crawl_runs.finish_run(conn, self.run_id, values)
            return True
        except sa.exc.SQLAlchemyError as exc:
            path = crawl_runs.save_pending(config.load().spool_dir, self.run_id, values)
            logger.error(
                "Could not complete crawl run #%s (%s); saved to %s for "
                "`ctforeclosure spool replay`",
                self.run_id,
                first_line(exc),
                path,
            )
            return False
