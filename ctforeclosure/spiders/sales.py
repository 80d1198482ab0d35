"""The ``sales`` spider: every pending foreclosure sale (auction) and its notice.

Domain: the Judicial Branch's pending-sales site (``CTJUD_SALES_BASE_URL``),
docs/SITES.md §5. Run: ``scrapy crawl sales`` (every town on the index) |
``-a town=Fairfield`` | ``-a towns=Avon,Bethel`` | ``-a county="New Haven"``.

Flow:

1. ``start``: GET ``PendPostbyTownList.aspx?Caller=Public``.
2. ``parse_index``: the towns with pending sales and their counts (both markups of
   §5.1); one request per wanted town's list.
3. ``parse_town``: the town's rows (§5.2). The index's count is compared with the
   rows parsed, and a mismatch or a pager (whose markup is unknown) is counted and
   noted in the crawl record, never cut silently; only a complete list unlists the
   town's stored postings it no longer shows (``sales_town_complete``). A notice is
   read when the posting is new, its row changed, or the stored notice is older
   than ``SALES_NOTICE_MAX_AGE_DAYS`` (7); otherwise the row alone is yielded.
4. ``parse_notice``: the row plus the notice (§5.3). A notice that fails or has
   another layout leaves the row's sale, with the error counted.

It never requests ``PendPostbyDocketNo.aspx`` (structure unknown) nor a case page
(the ``cases`` spider reads the pages of cases a sale created). Politeness as for
``cases``: the shared site budget, kill switch and crawl window cover this host
(``middlewares.site_budget``), robots.txt is obeyed unless the operator overrides
it, which is recorded. An unknown town stops the crawl before any request.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import scrapy
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from sqlalchemy.exc import SQLAlchemyError

from ctforeclosure import config, signals, towns
from ctforeclosure.extensions.database import CrawlDatabase
from ctforeclosure.extensions.startup_guard import require_contact
from ctforeclosure.items import SALE_NOTICE_FIELDS, SaleItem, sale_listing_hash
from ctforeclosure.parsers import sales as p
from ctforeclosure.spiders._cases_search import ROBOTS_FORBIDDEN, ROBOTS_MESSAGE
from ctforeclosure.spiders._cases_targets import target_towns
from ctforeclosure.store.sales import load_sale_index

__all__ = ["SalesSpider"]

logger = logging.getLogger(__name__)

INDEX_PATH = "/PendPostbyTownList.aspx?Caller=Public"
#: Stats: "site says n, we parsed m" per town, as the cases spider keeps them.
SITE_STAT = signals.TOWN_STAT_PREFIX + "sales:{town}/site_records"
PARSED_STAT = signals.TOWN_STAT_PREFIX + "sales:{town}/rows_parsed"


class SalesSpider(scrapy.Spider):
    """Read the pending-sales index, each wanted town's list and changed notices."""

    name = "sales"

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        if not config.load().scrapy_check:
            require_contact(crawler.settings, ("CTJUD_SALES_BASE_URL",))
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.base_url = settings.get("CTJUD_SALES_BASE_URL").rstrip("/")
        spider.notice_max_age = timedelta(
            days=settings.getfloat("SALES_NOTICE_MAX_AGE_DAYS", 7.0)
        )
        return spider

    def __init__(self, town=None, towns=None, county=None, **kwargs):
        super().__init__(**kwargs)
        given = {"town": town, "towns": towns, "county": county}
        self.crawl_args = {k: v for k, v in given.items() if v}
        everything = not self.crawl_args or (town or "").strip().lower() == "all"
        # None: every town on the index (most towns have no sale on a given day).
        self.targets = None if everything else target_towns(town, towns, county)
        self.target_names = None if everything else {t.name for t in self.targets}
        self.stored: dict = {}

    async def start(self):
        if not self.crawler.settings.getbool("ROBOTSTXT_OBEY"):
            self.crawler.stats.set_value("ctf/robots_overridden", 1)
            logger.warning(
                "robots.txt is NOT obeyed (-s ROBOTSTXT_OBEY=False): an operator "
                "decision, recorded in this crawl's stats (ctf/robots_overridden)."
            )
        self.stored = self._stored_sales()
        yield scrapy.Request(
            self.base_url + INDEX_PATH,
            callback=self.parse_index,
            errback=self.index_failed,
        )

    def _stored_sales(self) -> dict:
        database = CrawlDatabase.of(self.crawler)
        if database.is_new:
            return {}
        try:
            return load_sale_index(database.engine)
        except SQLAlchemyError as exc:
            logger.warning("sales: stored notices unknown (%s)", type(exc).__name__)
            return {}

    def index_failed(self, failure):
        """Stop on robots.txt; any other failure of the index ends the crawl."""
        if failure.check(IgnoreRequest) and "robots" in str(failure.value).lower():
            logger.error(ROBOTS_MESSAGE, self.base_url)
            self.crawler.stats.set_value("ctf/robots_forbidden", 1)
            raise CloseSpider(ROBOTS_FORBIDDEN)
        self.crawler.stats.inc_value("ctf/errors/sales_index")
        logger.error("sales: the town index failed: %s", failure.value)

    def parse_index(self, response):
        """Request the list of every wanted town the index names.

        @fixture sales/town_index__panel.html
        @returns requests 3 3
        @returns items 0 0
        """
        try:
            listed = p.parse_town_index(response.text, url=response.url)
        except p.LayoutChanged as exc:
            self._layout_changed(response.url, exc)
            return
        for entry in listed:
            town = towns.match(entry.name)
            if town is None:
                self.crawler.stats.inc_value("ctf/errors/sales_town_unknown")
                logger.error("sales: the index names an unknown town %r", entry.name)
                continue
            if self.target_names is not None and town.name not in self.target_names:
                continue
            yield response.follow(
                urljoin(response.url, entry.href.strip()),
                callback=self.parse_town,
                cb_kwargs={"town": town.name, "count": entry.count},
            )

    def parse_town(self, response, town: str, count: int | None):
        """Yield each sale of the town (or its notice request) and report the count.

        @fixture sales/town_details__fairfield_2026-08-10.html
        @cb_kwargs {"town": "Fairfield", "count": 3}
        @returns requests 3 3
        """
        try:
            page = p.parse_town_sales(response.text, url=response.url)
        except p.LayoutChanged as exc:
            self._layout_changed(response.url, exc)
            return
        complete = self._reconcile(town, count, page)
        for row in page.rows:
            sale = self._item(row, town)
            if self._notice_wanted(sale):
                yield self._notice_request(response, row, sale)
            else:
                self.crawler.stats.inc_value("ctf/sales/list_only")
                yield sale
        if complete:
            self.crawler.signals.send_catch_log(
                signal=signals.sales_town_complete,
                town=town,
                posting_ids={row.posting_id for row in page.rows},
            )

    def _reconcile(self, town: str, count: int | None, page: p.TownSales) -> bool:
        """Record the index's count against the rows; True when the list is whole."""
        stats = self.crawler.stats
        stats.set_value(SITE_STAT.format(town=town), count)
        stats.set_value(PARSED_STAT.format(town=town), len(page.rows))
        if page.pager:
            stats.inc_value("ctf/sales/pager")
            logger.warning("sales %s: the list has a pager; only page 1 read", town)
        if count is not None and count != len(page.rows):
            stats.inc_value("ctf/search/records_mismatch")
            logger.warning(
                "sales %s: the index says %d sales, %d rows parsed",
                town,
                count,
                len(page.rows),
            )
        return not page.pager and count == len(page.rows)

    def _item(self, row: p.SaleRow, town: str) -> SaleItem:
        parts = p.split_sale_address(row.address_raw, town)
        fields = {k: v for k, v in asdict(row).items() if k in SALE_ROW_FIELDS}
        return SaleItem(
            **fields,
            town=town,
            address_street=parts["street"],
            address_unit=parts["unit"],
            address_town=parts["town"],
            address_zip=parts["zip"],
            flags=list(parts["flags"]),
        )

    def _notice_wanted(self, sale: SaleItem) -> bool:
        stored = self.stored.get(sale.posting_id)
        if stored is None:
            return True
        stored_hash, fetched_at = stored
        if fetched_at is None or stored_hash != sale_listing_hash(sale):
            return True
        return datetime.now(UTC) - fetched_at > self.notice_max_age

    def _notice_request(self, response, row: p.SaleRow, sale: SaleItem):
        url = response.urljoin(f"PendPostDetailPublic.aspx?PostingId={row.posting_id}")
        return scrapy.Request(
            url,
            callback=self.parse_notice,
            errback=self.notice_failed,
            cb_kwargs={"sale": sale},
        )

    def parse_notice(self, response, sale: SaleItem):
        """Yield the sale with what its notice says.

        @fixture sales/notice__61252.html
        @cb_kwargs {"sale": {"posting_id": 61252, "docket_no": "X", "town": "Avon"}}
        @returns items 1 1
        @returns requests 0 0
        @scrapes posting_id docket_no sale_at deposit committee_name body
        @values notice_fetched True
        """
        if isinstance(sale, dict):  # a contract's cb_kwargs are JSON
            sale = SaleItem(**sale)
        try:
            notice = p.parse_notice(response.text, url=response.url)
        except p.LayoutChanged as exc:
            self._layout_changed(response.url, exc)
            self.crawler.stats.inc_value("ctf/errors/sale_notice")
            yield sale
            return
        yield merge_notice(sale, notice)

    def notice_failed(self, failure):
        """Keep the list's sale when its notice cannot be fetched."""
        sale = failure.request.cb_kwargs["sale"]
        if not failure.check(HttpError, IgnoreRequest):
            self.crawler.stats.inc_value("ctf/errors/network")
        self.crawler.stats.inc_value("ctf/errors/sale_notice")
        logger.error("sale %s: notice not fetched (%s)", sale.posting_id, failure.value)
        yield sale

    def _layout_changed(self, url: str, exc: p.LayoutChanged) -> None:
        self.crawler.stats.inc_value("ctf/errors/parsing")
        logger.error("LAYOUT CHANGE on %s: %s", url, exc.what)


#: What a town list's row gives a SaleItem as it is.
SALE_ROW_FIELDS = (
    "posting_id",
    "docket_no",
    "sale_date",
    "sale_time",
    "sale_at",
    "heading",
    "sale_type",
    "property_type",
    "address_raw",
    "status",
    "cancel_reason",
)


def merge_notice(sale: SaleItem, notice: dict) -> SaleItem:
    """Return the sale with its notice's fields.

    The list row's date stays (its hash decides when the notice is read again); the
    notice's fills a row without one. A cancellation on either page cancels.
    """
    for name in SALE_NOTICE_FIELDS:
        setattr(sale, name, notice[name])
    if sale.sale_at is None and notice["sale_at"] is not None:
        sale.sale_at, sale.sale_date = notice["sale_at"], notice["sale_date"]
        sale.sale_time = notice["sale_time"]
    if notice["status"] == "cancelled" and sale.status != "cancelled":
        sale.status = "cancelled"
        sale.cancel_reason = notice["notice_status"]
    sale.notice_fetched = True
    sale.notice_fetched_at = datetime.now(UTC).replace(microsecond=0)
    return sale
