"""The ``cases`` spider: every foreclosure case of some towns, with its case page.

Domain: civilinquiry.jud.ct.gov (``CTJUD_BASE_URL``), docs/SITES.md §1-§3.
Run: ``scrapy crawl cases -a town=Bethel`` | ``-a towns=Avon,Bethel`` |
``-a county="New Haven"`` | ``-a town=all``; ``-a status=active|all``,
``-a property=residential|all``, ``-a details=changed|all|none`` (default
``changed``: case pages only for new dockets, changed grid rows and pages older than
``DETAILS_MAX_AGE_DAYS``).

Flow, per search term (a town name; direction towns also search their base name so
"E. HARTFORD" rows are not lost, and a term another term contains is dropped):

1. ``start``: GET ``PropertyAddressSearch.aspx`` in a fresh session (own cookiejar).
2. ``parse_form``: answer the NoBot challenge like the page's script ("~N" → -(N+1)),
   wait out the NoBot limits, POST the search (form2request, options by label).
3. ``parse_results``: keep rows whose normalised town is a target; POST ``Page$N``
   until the pager has no next page; reconcile "Records: n" with rows parsed.
4. Search done: ``town_search_complete`` for each town whose terms are all done,
   then its case page per new docket in that session (``PublicCaseDetail.aspx``
   directly, or through ``LoadDocket.aspx``: ``_cases_pages``), and
   per case of a done town created from a sale whose page was never read (not on
   the default grid: commercial, say; the ``sales`` spider reads no case page).
5. ``parse_case``: one ``CaseItem`` per case, ``detail_fetched=True``.

Modules: ``_cases_targets`` (arguments, towns, search terms), ``_cases_nobot`` (one
search session at a time, postbacks within the NoBot rules), ``_cases_search``
(steps 1-4, HTTP and browser; one ``SearchTerm`` per search text), ``_cases_pages``
(step 5). Searches have scheduler priority over case pages, and case pages fill the
time a search waits for NoBot. What the stored cases say (their listing hashes, the
towns' sizes) the spider asks the store (``store.index``) once, in ``start``, over the
crawl's one engine (``extensions.database``).

Browser fallback (``JUDICIARY_SEARCH_MODE`` auto|http|browser): a challenge that is
not "~N", or a search refused twice, runs steps 1-3 in Chromium (scrapy-playwright);
its cookies then carry the plain-HTTP case-page requests.

Caveats: an expired session, an error page, a truncated page or a refused NoBot answer
restart the town's search in a new session (``SEARCH_MAX_ATTEMPTS``); a grid that is
missing without a message is a layout change (logged with the URL, counted in
``ctf/errors/parsing``) and the crawl goes on with other towns. Resumable with
``JOBDIR``: finished search terms and fetched dockets are kept in ``spider.state``.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import timedelta

import scrapy
from scrapy.exceptions import UsageError
from sqlalchemy.exc import SQLAlchemyError

from ctforeclosure import config
from ctforeclosure.extensions.database import CrawlDatabase
from ctforeclosure.extensions.startup_guard import require_contact
from ctforeclosure.spiders._cases_nobot import NoBotPacer
from ctforeclosure.spiders._cases_pages import CasePagesMixin
from ctforeclosure.spiders._cases_search import SearchMixin, SearchTerm
from ctforeclosure.spiders._cases_targets import (
    CHECK_TOWN,
    DETAILS_MODES,
    PROPERTY_LABELS,
    STATUS_LABELS,
    choice,
    covers,
    largest_first,
    search_terms,
    target_towns,
)
from ctforeclosure.store.index import (
    load_case_index,
    stored_town_sizes,
    unread_sale_cases,
)

__all__ = ["CasesSpider", "abort_browser_request", "search_terms"]

logger = logging.getLogger(__name__)

SEARCH_MODES = ("auto", "http", "browser")
PLAYWRIGHT_HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"


class CasesSpider(SearchMixin, CasePagesMixin, scrapy.Spider):
    """Search towns' foreclosure cases and read every case page, politely."""

    name = "cases"

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        # Every request goes to the court's hosts. Downloader capacity beyond what
        # is really in flight only parks case pages in the download slot's FIFO
        # queue, where a search step (priority or not) waits behind them and the
        # search misses its NoBot turn. AutoThrottle aims at TARGET_CONCURRENCY in
        # flight, so that is the capacity; without it, the per-host limit.
        capacity = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 8)
        if settings.getbool("AUTOTHROTTLE_ENABLED"):
            target = settings.getfloat("AUTOTHROTTLE_TARGET_CONCURRENCY", 1.0)
            capacity = min(capacity, max(1, round(target)))
        settings.set("CONCURRENT_REQUESTS", capacity, priority="spider")
        # The Playwright handlers launch Chromium lazily (first browser request),
        # so enabling them costs nothing until a search needs the browser.
        if settings.get("JUDICIARY_SEARCH_MODE", "auto") != "http":
            settings.set(
                "DOWNLOAD_HANDLERS",
                {"http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER},
                priority="spider",
            )
            # The browser sends its own headers: scrapy-playwright would otherwise
            # give the form's POST navigation the first GET's headers (no
            # Content-Type), and ASP.NET would see an empty postback.
            settings.set("PLAYWRIGHT_PROCESS_REQUEST_HEADERS", None, priority="spider")
            # Images, fonts and media are never needed for a search.
            settings.set(
                "PLAYWRIGHT_ABORT_REQUEST",
                "ctforeclosure.spiders.cases.abort_browser_request",
                priority="spider",
            )

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        # `scrapy check` replaces start() with @fixture requests to saved pages, so it
        # visits no site and needs no CONTACT.
        if not config.load().scrapy_check:
            require_contact(crawler.settings, ("CTJUD_BASE_URL",))
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._configure(crawler)
        return spider

    def __init__(
        self,
        town: str | None = None,
        towns: str | None = None,
        county: str | None = None,
        status: str = "active",
        property: str = "residential",
        details: str = "changed",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if config.load().scrapy_check and not (town or towns or county):
            town = CHECK_TOWN  # `scrapy check` passes no arguments
        self.targets = target_towns(town, towns, county)
        self.status = choice("status", status, STATUS_LABELS)
        self.property = choice("property", property, PROPERTY_LABELS)
        self.details = choice("details", details, DETAILS_MODES)
        # What the crawl run keeps: the arguments given, with the defaults used.
        given = {"town": town, "towns": towns, "county": county}
        self.crawl_args = {
            **{name: value for name, value in given.items() if value},
            "status": self.status,
            "property": self.property,
            "details": self.details,
        }
        self.target_names = {t.name for t in self.targets}
        self.terms = search_terms(self.targets)
        # town name -> terms whose results it needs
        self.town_terms: dict[str, set[str]] = defaultdict(set)
        for term in self.terms:
            for t in self.targets:
                if covers(term, t):
                    self.town_terms[t.name].add(term)
        self.searches = {term: SearchTerm(term) for term in self.terms}
        self.town_dockets: dict[str, set[str]] = defaultdict(set)
        self.stored_cases: dict = {}  # filled in start() with details=changed
        self.sale_cases: dict[str, list[str]] = {}  # filled in start()
        self.pages_open: Counter[str] = Counter()  # town -> case pages in flight
        self.pages_given_up: set[str] = set()

    # --- set-up -----------------------------------------------------------------

    def _configure(self, crawler) -> None:
        settings = crawler.settings
        self.base_url = settings.get("CTJUD_BASE_URL").rstrip("/")
        self.mode = settings.get("JUDICIARY_SEARCH_MODE", "auto")
        if self.mode not in SEARCH_MODES:
            raise UsageError(
                f"JUDICIARY_SEARCH_MODE={self.mode!r}: "
                f"use one of {', '.join(SEARCH_MODES)}"
            )
        self.max_attempts = settings.getint("SEARCH_MAX_ATTEMPTS", 8)
        self.case_attempts = settings.getint("CASE_MAX_ATTEMPTS", 5)
        self.direct_case_pages = settings.getbool("CASE_PAGES_DIRECT", True)
        self.postback_timeout = settings.getfloat("DOWNLOAD_TIMEOUT", 60) * (
            settings.getint("RETRY_TIMES", 2) + 2
        )
        self.nobot = NoBotPacer(
            min_delay=settings.getfloat("NOBOT_MIN_DELAY", 2.0),
            max_postbacks=settings.getint("NOBOT_MAX_POSTBACKS", 5),
            window=settings.getfloat("NOBOT_WINDOW", 60.0),
            running=self._running,
            # Longer than a form GET with all its retries (and a wait for the
            # deployment-wide search lease) can take.
            stale_after=2 * self.postback_timeout,
        )
        self.details_max_age = timedelta(
            days=settings.getfloat("DETAILS_MAX_AGE_DAYS", 7.0)
        )

    @property
    def persistent(self) -> dict:
        """Return the state JOBDIR keeps between runs (a plain dict otherwise)."""
        state = getattr(self, "state", None)
        if state is None:
            state = self.state = {}
        state.setdefault("done_terms", set())
        state.setdefault("emitted", set())
        return state

    async def start(self):
        if not self.crawler.settings.getbool("ROBOTSTXT_OBEY"):
            self.crawler.stats.set_value("ctf/robots_overridden", 1)
            logger.warning(
                "robots.txt is NOT obeyed (-s ROBOTSTXT_OBEY=False): an operator "
                "decision, recorded in this crawl's stats (ctf/robots_overridden)."
            )
        done = self.persistent["done_terms"]
        logger.info(
            "cases: %d town(s), %d search term(s), status=%s property=%s details=%s",
            len(self.targets),
            len(self.terms),
            self.status,
            self.property,
            self.details,
        )
        if self.details == "changed":  # Empty: every case page is fetched.
            self.stored_cases = self._ask_store(
                load_case_index, "stored cases (every case page is fetched)"
            )
        if self.details != "none":
            self.sale_cases = self._ask_store(
                unread_sale_cases, "cases created from sales (their pages wait)"
            )
        if self.nobot.max_postbacks > 0:  # NoBot windows: big towns first
            sizes = self._ask_store(stored_town_sizes, "town sizes (towns go by name)")
            terms = largest_first(self.terms, self.town_terms, sizes)
        else:
            terms = self.terms
        for term in terms:
            if term in done:
                continue
            # One search session at a time: the next form is fetched when the
            # previous search is read, so its NoBot key and session are fresh.
            if not await self.nobot.open_search(term):
                return
            request = self._search_request(term)
            if request is not None:
                yield request

    def _ask_store(self, question, what: str) -> dict:
        """Return ``question(engine, target towns)`` asked of the store, or ``{}``.

        Empty when nothing is stored yet (the embedded file is never created just to
        ask) or when the database cannot be read: an unreachable or unmigrated
        database is refused, with its own clear message, before any request is made.
        """
        database = CrawlDatabase.of(self.crawler)
        if database.is_new:
            return {}
        try:
            return question(database.engine, sorted(self.target_names))
        except SQLAlchemyError as exc:
            logger.warning("cases: %s unknown (%s)", what, type(exc).__name__)
            return {}

    def towns_done(self) -> set[str]:
        """Return the towns whose searches and case pages have all finished, none
        given up: what a lost crawl need not run again."""
        announced = self.persistent.get("announced", set())
        return {
            town
            for town in announced
            if self.pages_open[town] <= 0 and town not in self.pages_given_up
        }

    def _running(self) -> bool:
        engine = getattr(self.crawler, "engine", None)
        return engine is None or engine.running


def abort_browser_request(request) -> bool:
    """Return True for browser requests a search never needs (images, fonts)."""
    return request.resource_type in ("image", "media", "font")
