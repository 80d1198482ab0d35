"""Store what the spiders yield: batched, idempotent upserts, and never a lost item.

The pipeline only batches; the SQL lives in ``ctforeclosure.store`` (``towns`` for
:class:`TownItem`, ``cases`` for :class:`CaseItem`). A batch is one transaction, flushed
when it reaches ``UPSERT_BATCH_SIZE`` items, when ``UPSERT_FLUSH_SECONDS`` have passed
and when the spider closes.

The database is the crawl's one (``ctforeclosure.extensions.database``), checked
when the spider opens: unreachable, or a schema behind the code, closes the spider
before its first request (reason ``database_unavailable``). If the database fails
*during* the crawl, the failed batch and every later one go to the spool
(``ctforeclosure.store.spool``) so that ``ctforeclosure spool replay`` can load them in
order once it is back; the crawl keeps running, and the spool's path is left on the
crawl's database for the crawl run to report.

Signals: after each stored batch, ``parties_stored`` with the parties it inserted
(the skip-trace extension listens); ``town_search_complete`` from the cases spider is
kept and applied by the final flush ("no longer listed" / relisted), when every item
of the crawl has come through.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict
from datetime import UTC, date, datetime

import sqlalchemy as sa
from scrapy.exceptions import CloseSpider

from ctforeclosure import config, signals
from ctforeclosure.extensions.database import CrawlDatabase
from ctforeclosure.items import CaseItem, SaleItem, TownItem
from ctforeclosure.parsers.court_clock import COURT_TZ

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
DEFAULT_FLUSH_SECONDS = 10.0

#: The sales site's clock: "after its sale date" is decided on its calendar.
SALE_TZ = COURT_TZ

#: Finish reason when the database cannot be used at start.
DATABASE_UNAVAILABLE = "database_unavailable"


class UpsertPipeline:
    """Batch items and upsert them; spool a batch the database refuses."""

    def __init__(
        self, crawler, database: CrawlDatabase, batch_size: int, flush_seconds: float
    ):
        self.crawler = crawler
        self.stats = crawler.stats
        self.database = database
        self.batch_size = max(1, batch_size)
        self.flush_seconds = flush_seconds
        self.engine: sa.Engine | None = None
        self.batch: list = []
        self.pending_towns: list[dict] = []  # town_search_complete, in arrival order
        self.last_flush = time.monotonic()
        self.spooling = False
        self.spool = None
        self._timer: asyncio.Task | None = None

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        pipeline = cls(
            crawler,
            CrawlDatabase.of(crawler),
            batch_size=settings.getint("UPSERT_BATCH_SIZE", DEFAULT_BATCH_SIZE),
            flush_seconds=settings.getfloat(
                "UPSERT_FLUSH_SECONDS", DEFAULT_FLUSH_SECONDS
            ),
        )
        crawler.signals.connect(
            pipeline.town_search_complete, signal=signals.town_search_complete
        )
        crawler.signals.connect(
            pipeline.sales_town_complete, signal=signals.sales_town_complete
        )
        return pipeline

    # -- lifecycle -----------------------------------------------------------------

    def open_spider(self, spider=None) -> None:
        """Check the database; close the spider before any request if it is unusable."""
        if self.database.check() is not None:
            raise CloseSpider(DATABASE_UNAVAILABLE)
        self.engine = self.database.engine
        if self.flush_seconds > 0:
            self._timer = asyncio.create_task(self._flush_on_time())

    def close_spider(self, spider=None) -> None:
        """Flush what is left (the crawl's database disposes of the engine)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            if self.engine is not None or self.spooling:
                self.flush(final=True)
        finally:
            if self.spool is not None:
                self.spool.close()

    async def _flush_on_time(self) -> None:
        """Flush a batch that has waited ``flush_seconds``, until cancelled at close."""
        while True:
            await asyncio.sleep(min(self.flush_seconds, 1.0))
            if time.monotonic() - self.last_flush >= self.flush_seconds:
                self.flush()

    # -- items and signals ---------------------------------------------------------

    def process_item(self, item):
        if isinstance(item, (TownItem, CaseItem, SaleItem)):
            self.batch.append(item)
            if len(self.batch) >= self.batch_size:
                self.flush()
        return item

    def town_search_complete(self, town: str, dockets, site_total=None, **_):
        """Remember a complete town search, applied by the final flush.

        The town's last cases may still be on their way through the pipelines when
        the spider sends the signal; at close every item has arrived, so "no longer
        listed" is decided against everything the crawl stored.
        """
        listed = sorted(set(dockets))
        self.pending_towns.append({"town": town, "dockets": listed})
        # Per canonical town (a search term can cover several towns): the
        # end-of-crawl check "a town that had cases now returns none" reads it.
        self.stats.set_value(f"{signals.LISTED_STAT_PREFIX}{town}", len(listed))

    def sales_town_complete(self, town: str, posting_ids, **_):
        """Remember a complete town sales list, applied by the final flush."""
        self.pending_towns.append(
            {
                "town": town,
                "posting_ids": sorted(set(posting_ids)),
                "today": datetime.now(SALE_TZ).date().isoformat(),
            }
        )

    # -- flushing ------------------------------------------------------------------

    def flush(self, final: bool = False) -> None:
        """Store the batch in one transaction, or spool it if the database fails.

        The final flush also applies the complete town searches.
        """
        self.last_flush = time.monotonic()
        self.database.batches_begun += 1
        number = self.database.batches_begun
        batch, self.batch = self.batch, []
        towns_done: list[dict] = []
        if final:
            towns_done, self.pending_towns = self.pending_towns, []
        if not batch and not towns_done:
            if not self.spooling:  # everything given before is in the database
                self.database.batches_stored = number
            return
        if not self.spooling:
            try:
                new_parties = self._store(batch, towns_done)
            except Exception as exc:
                # Connection lost, or any other failure of the batch: its items go
                # to the spool, never away. (The transaction was rolled back.)
                self._start_spooling(exc)
            else:
                self.database.batches_stored = number
                self.stats.inc_value("ctf/items_stored", len(batch))
                if new_parties:
                    self.crawler.signals.send_catch_log(
                        signal=signals.parties_stored, new_parties=new_parties
                    )
                return
        self._spool(batch, towns_done)

    def _store(self, batch: list, towns_done: list[dict]) -> list[dict]:
        now = datetime.now(UTC)
        crawl_id = self.database.crawl_id
        towns = [asdict(i) for i in batch if isinstance(i, TownItem)]
        cases = [i for i in batch if isinstance(i, CaseItem)]
        new_parties: list[dict] = []
        with self.engine.begin() as conn:
            if towns:
                from ctforeclosure.store.towns import upsert_towns

                upsert_towns(conn, towns, now=now)
            self._store_sales(conn, batch, towns_done, now)
            towns_done = [t for t in towns_done if "posting_ids" not in t]
            if cases or towns_done:
                from ctforeclosure.store import cases as store_cases

                if cases:
                    result = store_cases.upsert_cases(
                        conn, cases, now=now, crawl_id=crawl_id
                    )
                    new_parties = result.new_parties
                    self.stats.inc_value("ctf/cases_changed", result.changed)
                    self.stats.inc_value("ctf/cases_unchanged", result.unchanged)
                for done in towns_done:
                    store_cases.mark_town_listing(
                        conn, done["town"], done["dockets"], now=now, crawl_id=crawl_id
                    )
        return new_parties

    def _store_sales(self, conn, batch: list, towns_done: list[dict], now) -> None:
        """Store the batch's sales, then apply complete town sales lists."""
        sale_items = [i for i in batch if isinstance(i, SaleItem)]
        marks = [t for t in towns_done if "posting_ids" in t]
        if not sale_items and not marks:
            return
        from ctforeclosure.store import sales as store_sales

        crawl_id = self.database.crawl_id
        if sale_items:
            result = store_sales.upsert_sales(
                conn, sale_items, now=now, crawl_id=crawl_id
            )
            self.stats.inc_value("ctf/sales_changed", result.new + result.changed)
            self.stats.inc_value("ctf/sales_unchanged", result.unchanged)
            self.stats.inc_value("ctf/cases_from_sales", result.cases_created)
        for done in marks:
            store_sales.mark_town_sales(
                conn,
                done["town"],
                done["posting_ids"],
                now=now,
                today=date.fromisoformat(done["today"]),
                crawl_id=crawl_id,
            )

    def _start_spooling(self, exc: Exception) -> None:
        from ctforeclosure.store.spool import Spool

        self.spooling = True
        self.stats.inc_value("ctf/errors/system")
        self.spool = Spool.for_crawl(config.load().spool_dir, self._run_label())
        self.database.spool_file = self.spool.path
        # Shown in the stats dump of the job's log and in the crawl run's stats.
        self.stats.set_value("ctf/spool_file", str(self.spool.path))
        logger.error(
            "The database failed during the crawl (%s: %s); this and every later "
            "batch go to the spool %s. Load them with `ctforeclosure spool replay`.",
            type(exc).__name__,
            (str(getattr(exc, "orig", exc)).splitlines() or [""])[0],
            self.spool.path,
        )
        if not isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)):
            # Not a lost connection: a bug or bad data the replay will meet again.
            # The traceback is logged at DEBUG only, since bound values hold names.
            logger.debug("Failed batch", exc_info=exc)

    def _spool(self, batch: list, towns_done: list[dict]) -> None:
        self.spool.write_batch(
            batch,
            towns_done,
            at=datetime.now(UTC),
            crawl_id=self.database.crawl_id,
        )
        self.stats.inc_value("ctf/items_spooled", len(batch))

    def _run_label(self) -> str:
        spider = self.crawler.spider
        name = getattr(spider, "name", "crawl")
        crawl_id = self.database.crawl_id
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        return f"{name}-{crawl_id or 'x'}-{stamp}"
