"""The NoBot-timed town search of the ``cases`` spider (plain HTTP or Chromium).

Per search term: GET the search form in a fresh session (own cookiejar), answer the
NoBot challenge like the page's script ("~N" -> -(N+1)), wait out the NoBot rules
(``_cases_nobot``), POST the search (form2request, options by label), then POST
``Page$N`` until the pager has no next page; when done, hand the rows to the case
pages (``_cases_pages``). A refusal, an error page or a cut page restarts the term
in a new session; ``auto`` mode moves a twice-refused term to Chromium. Each reply
is read once (:func:`~ctforeclosure.parsers.judiciary.read_search_page`) and the
callbacks branch on what it is. A term's bookkeeping is one :class:`SearchTerm`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import scrapy
from form2request import form2request
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, IgnoreRequest

from ctforeclosure import signals, towns
from ctforeclosure.middlewares.site_budget import end_session
from ctforeclosure.parsers import judiciary as j
from ctforeclosure.spiders._cases_nobot import SEARCH_PRIORITY, NoBotPacer
from ctforeclosure.spiders._cases_targets import PROPERTY_LABELS, STATUS_LABELS

logger = logging.getLogger(__name__)

SEARCH_PATH = "/PropertyAddressSearch.aspx"
CASE_TYPE_LABEL = "Foreclosure Cases"  # [CODE]+[CAPTURE] default option
#: Refused searches (NoBot, session) before ``auto`` mode tries the browser.
REFUSALS_BEFORE_BROWSER = 2
#: Finish reason when robots.txt forbids the court site (a failed crawl: exit 1).
ROBOTS_FORBIDDEN = "robots_forbidden"
ROBOTS_MESSAGE = (
    "robots.txt of %s forbids this crawl, so it stopped before searching. The "
    "court's hosts are reported to disallow every robot (docs/SITES.md §1.3). "
    "Crawling anyway is the operator's decision: rerun with -s ROBOTSTXT_OBEY=False "
    "(the crawl then says so in its log and its crawl run)."
)


@dataclass
class SearchTerm:
    """One search text's attempts, and the rows its current attempt has read."""

    text: str
    #: Id of the current attempt (None before the first, -1 once read or abandoned);
    #: a reply carrying another id belongs to an abandoned attempt.
    attempt: int | None = None
    tries: int = 0
    refusals: int = 0
    browser: bool = False  # search in Chromium from now on
    rows: dict[str, dict] = field(default_factory=dict)  # docket -> grid row
    parsed: int = 0  # rows parsed, duplicates included
    total: int = 0  # the site's "Records: ... of n"
    #: The record count of the finished search (a town's own term gives its total).
    site_total: int | None = None

    def start_attempt(self, attempt: int) -> None:
        """Count a try and forget the rows of the previous attempt."""
        self.tries += 1
        self.attempt = attempt
        self.rows, self.parsed, self.total = {}, 0, 0

    def finish(self) -> dict[str, dict]:
        """Mark the search read: keep its record count, hand over its rows."""
        rows, self.site_total = self.rows, self.total
        self.attempt = -1  # later replies are stale
        self.rows, self.parsed, self.total = {}, 0, 0
        return rows

    def add(self, page: j.ResultsPage) -> None:
        """Keep one results page's rows and the site's record count."""
        self.parsed += len(page.rows)
        self.total = page.total or 0
        for row in page.rows:
            self.rows.setdefault(row["docket_no"], row)


@runtime_checkable
class SearchSpider(Protocol):
    """What ``SearchMixin`` needs of the spider (``CasesSpider`` sets it up)."""

    crawler: Crawler
    base_url: str
    mode: str  # JUDICIARY_SEARCH_MODE
    status: str
    property: str
    max_attempts: int
    postback_timeout: float
    nobot: NoBotPacer
    searches: dict[str, SearchTerm]
    target_names: set[str]
    town_terms: dict[str, set[str]]  # town name -> terms whose results it needs
    town_dockets: dict[str, set[str]]  # town name -> dockets its searches listed
    #: town name -> dockets of cases created from a sale whose page was never read
    sale_cases: dict[str, list[str]]

    @property
    def persistent(self) -> dict: ...

    def _case_output(self, town, row: dict, jar: str | None, cookies: dict | None):
        """Yield the case page request (or listing item) of one grid row."""

    def _case_request(self, listing: dict, jar, cookies, tries: int):
        """Return the case page request of one listing."""


if TYPE_CHECKING:
    _SpiderBase = SearchSpider
else:
    _SpiderBase = object  # a Protocol in the MRO would skip Spider.__init__


class SearchMixin(_SpiderBase):
    """Search one term at a time, paced by ``NoBotPacer``; restart on refusals."""

    def _search_request(self, term: str) -> scrapy.Request | None:
        search = self.searches[term]
        # Attempt ids grow across resumed runs (JOBDIR), so a postback left in the
        # queue by a stopped run is never taken for the current attempt.
        attempt = self.persistent["seq"] = self.persistent.get("seq", 0) + 1
        search.start_attempt(attempt)
        if search.tries > self.max_attempts:
            self.nobot.close_search(term)
            self.crawler.stats.inc_value("ctf/errors/search_given_up")
            logger.error(
                "search %r given up after %d attempts; its towns are not complete",
                term,
                self.max_attempts,
            )
            return None
        jar = f"{term}#{attempt}"
        meta = {"cookiejar": jar, "site_session": f"cases:{term}"}
        callback = self.parse_form
        if self.mode == "browser" or search.browser:
            self.crawler.stats.inc_value("ctf/search/browser")
            callback = self.parse_browser_search
            meta.update(
                playwright=True,
                playwright_include_page=True,
                playwright_context=f"search-{jar}",
                playwright_context_kwargs={
                    "user_agent": self.crawler.settings.get("USER_AGENT")
                },
            )
        return scrapy.Request(
            self.base_url + SEARCH_PATH,
            callback=callback,
            errback=self.search_failed,
            dont_filter=True,
            priority=SEARCH_PRIORITY,
            meta=meta,
            cb_kwargs={"term": term, "attempt": attempt},
        )

    def _stale(self, response, term: str, attempt: int) -> bool:
        """Return True for a response of an abandoned attempt (restart, resume)."""
        search = self.searches[term]
        if response.meta.get("ctf_fixture"):
            if search.attempt is None:
                search.attempt = attempt
            return False
        return search.attempt != attempt

    async def _end_session(self, term: str) -> None:
        """Free the deployment-wide search lease (site_budget) for the next search."""
        self.nobot.close_search(term)
        await end_session(self.crawler, f"cases:{term}")

    def _postback(self, response, form: j.SearchForm, data: dict, cb_kwargs, **kw):
        """Return the POST of the page's own form with ``data``, for parse_results."""
        meta = {
            "cookiejar": response.meta.get("cookiejar"),
            "site_session": response.meta.get("site_session"),
            "ctf_postback": True,
            # No download-level retry: a postback's NoBot key is single-use, so a
            # retry is refused anyway and is one more postback in the window that
            # the pacer never counted. search_failed restarts the search instead.
            "dont_retry": True,
        }
        return form2request(form.element, data, **kw).to_scrapy(
            callback=self.parse_results,
            errback=self.search_failed,
            dont_filter=True,
            priority=SEARCH_PRIORITY,
            meta=meta,
            cb_kwargs=cb_kwargs,
        )

    async def parse_form(self, response, term: str, attempt: int):
        """Answer the NoBot challenge and post the search.

        @fixture judiciary/search_form__replica.html
        @cb_kwargs {"term": "Middletown", "attempt": 1}
        @returns requests 1 1
        """
        received = time.monotonic()
        if self._stale(response, term, attempt):
            return
        form = j.read_search_page(response, url=response.url)
        if isinstance(form, j.LayoutChange) and form.kind == "search":
            self._layout_changed(term, form.reason, response.url)
            await self._end_session(term)
            return
        if not isinstance(form, j.SearchForm) or not form.complete:
            self._restart_reason(term, "no whole search form", response.url)
            if (request := self._search_request(term)) is not None:
                yield request
            return
        try:
            data = self._search_data(form, term)
        except j.LayoutChanged as exc:
            self._layout_changed(term, exc.what, response.url)
            await self._end_session(term)
            return
        if form.nobot_answer is None:
            if (request := self._unknown_challenge(term, form.challenge)) is not None:
                yield request
            return
        if not response.meta.get("ctf_fixture"):
            await self.nobot.postback_slot(received, self.postback_timeout)
        yield self._postback(
            response, form, data, {"term": term, "attempt": attempt, "page": 1}
        )

    def _search_data(self, form: j.SearchForm, term: str) -> dict:
        if not form.town_field or not form.nobot_field:
            raise j.LayoutChanged("search form without town box or NoBot field")
        data = {
            form.town_field: term,
            form.select_name(j.CASE_TYPE_SELECT): form.option_value(
                j.CASE_TYPE_SELECT, CASE_TYPE_LABEL
            ),
            form.select_name(j.PROPERTY_TYPE_SELECT): form.option_value(
                j.PROPERTY_TYPE_SELECT, PROPERTY_LABELS[self.property]
            ),
            form.select_name(j.CASE_STATUS_SELECT): form.option_value(
                j.CASE_STATUS_SELECT, STATUS_LABELS[self.status]
            ),
        }
        if form.nobot_answer is not None:
            data[form.nobot_field] = form.nobot_answer
        return data

    def _unknown_challenge(self, term: str, challenge: str | None):
        self.crawler.stats.inc_value("ctf/search/unknown_challenge")
        if self.mode == "http":
            logger.error(
                "search %r: NoBot challenge of unknown form (%.40r) and "
                "JUDICIARY_SEARCH_MODE=http: town skipped",
                term,
                challenge,
            )
            self.crawler.stats.inc_value("ctf/errors/search_given_up")
            self.nobot.close_search(term)
            return None
        logger.warning("search %r: NoBot challenge of unknown form: browser", term)
        self.searches[term].browser = True
        return self._search_request(term)

    async def parse_results(self, response, term: str, attempt: int, page: int):
        """Read one results page, then ask for the next or finish the search.

        @fixture judiciary/results__middletown_2025-07-12.html
        @cb_kwargs {"term": "Middletown", "attempt": 1, "page": 1}
        @returns requests 84 84
        """
        received = time.monotonic()
        self.nobot.postback_finished()
        if self._stale(response, term, attempt):
            return
        results = j.read_search_page(response, url=response.url)
        if isinstance(results, j.LayoutChange):
            self._layout_changed(term, results.reason, response.url)
            await self._end_session(term)
            return
        if not isinstance(results, j.ResultsPage):
            for out in self._refused(term, results, response.url):
                yield out
            return
        self.searches[term].add(results)
        if results.next_page:
            if results.form.nobot_answer is None:
                request = self._unknown_challenge(term, None)
            else:
                await self.nobot.postback_slot(received, self.postback_timeout)
                request = self._page_request(response, results, term, attempt)
            if request is not None:
                yield request
            return
        await self._end_session(term)
        for out in self._search_done(term, response.meta.get("cookiejar")):
            yield out

    def _page_request(self, response, results: j.ResultsPage, term, attempt: int):
        """Return the postback that asks the grid for the next results page."""
        form, number = results.form, results.next_page
        data = {
            "__EVENTTARGET": j.GRID_EVENT_TARGET,
            "__EVENTARGUMENT": j.page_argument(number),
            form.nobot_field: form.nobot_answer,
        }
        cb_kwargs = {"term": term, "attempt": attempt, "page": number}
        return self._postback(response, form, data, cb_kwargs, click=False)

    def _refused(self, term: str, reply: j.SearchPage, url: str):
        """Start the term's search again after a refusal, an error or a cut page."""
        search = self.searches[term]
        if isinstance(reply, j.SearchForm):
            reason = "search refused: " + (reply.message or "form shown again")
            search.refusals += 1
            self.crawler.stats.inc_value("ctf/search/refused")
            if (
                self.mode == "auto"
                and search.refusals >= REFUSALS_BEFORE_BROWSER
                and not search.browser
            ):
                logger.warning(
                    "search %r refused %d times: browser", term, search.refusals
                )
                search.browser = True
        else:
            reason = "error" if isinstance(reply, j.SiteError) else "truncated page"
        self._restart_reason(term, reason, url)
        if (request := self._search_request(term)) is not None:
            yield request

    def _restart_reason(self, term: str, reason: str, url: str) -> None:
        self.crawler.stats.inc_value("ctf/search/restarted")
        logger.info("search %r starts again (%s) after %s", term, reason, url)

    def _layout_changed(self, term: str, reason: str, url: str) -> None:
        self.crawler.stats.inc_value("ctf/errors/parsing")
        logger.error(
            "LAYOUT CHANGE on %s: %s; search %r skipped, other towns go on",
            url,
            reason,
            term,
        )
        self.searches[term].attempt = -1  # abandon: later replies are stale

    async def search_failed(self, failure):
        """Restart a search whose request failed for good; stop on robots.txt."""
        request = failure.request
        if request.meta.get("ctf_postback"):
            self.nobot.postback_finished()
        term = request.cb_kwargs.get("term")
        attempt = request.cb_kwargs.get("attempt")
        page = request.meta.get("playwright_page")
        if page is not None:
            await page.close()
        if failure.check(IgnoreRequest) and "robots" in str(failure.value).lower():
            logger.error(ROBOTS_MESSAGE, self.base_url)
            self.crawler.stats.set_value("ctf/robots_forbidden", 1)
            raise CloseSpider(ROBOTS_FORBIDDEN)
        search = self.searches.get(term)
        if search is None or search.attempt != attempt:
            return
        self.crawler.stats.inc_value("ctf/search/request_failed")
        logger.warning("search %r: request failed (%s)", term, failure.value)
        if (request := self._search_request(term)) is not None:
            yield request

    async def parse_browser_search(self, response, term: str, attempt: int):
        """Run the search and its paging in Chromium, then fetch cases over HTTP."""
        page = response.meta["playwright_page"]
        try:
            if self._stale(response, term, attempt):
                return
            await self._browser_submit(page, term)
            stopped = await self._browser_read_pages(page, term)
            cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
        finally:
            await page.close()
            await page.context.close()
        if isinstance(stopped, j.LayoutChange) and stopped.kind == "results":
            self._layout_changed(term, stopped.reason, stopped.url)
            await self._end_session(term)
            return
        if stopped is not None:
            for out in self._refused(term, stopped, response.url):
                yield out
            return
        await self._end_session(term)
        for out in self._search_done(term, response.meta.get("cookiejar"), cookies):
            yield out

    async def _browser_submit(self, page, term: str) -> None:
        """Fill in the search form in Chromium and submit it, within the NoBot rules."""
        await self.nobot.postback_slot(time.monotonic(), self.postback_timeout)
        try:
            await page.fill('input[name$="txtCityTown"]', term)
            for suffix, label in (
                (j.CASE_TYPE_SELECT, CASE_TYPE_LABEL),
                (j.PROPERTY_TYPE_SELECT, PROPERTY_LABELS[self.property]),
                (j.CASE_STATUS_SELECT, STATUS_LABELS[self.status]),
            ):
                await page.select_option(f'select[name$="{suffix}"]', label=label)
            async with page.expect_navigation():
                await page.click('input[type="submit"][name$="btnSubmit"]')
        finally:
            self.nobot.postback_finished()

    async def _browser_read_pages(self, page, term: str) -> j.SearchPage | None:
        """Read every results page in Chromium; return the page that stopped it."""
        while True:
            results = j.read_search_page(await page.content(), url=page.url)
            if not isinstance(results, j.ResultsPage):
                return results
            self.searches[term].add(results)
            if not results.next_page:
                return None
            await self.nobot.postback_slot(time.monotonic(), self.postback_timeout)
            try:
                async with page.expect_navigation():
                    await page.click(f"a[href*=\"'Page${results.next_page}'\"]")
            finally:
                self.nobot.postback_finished()

    def _search_done(self, term: str, jar: str | None, cookies: dict | None = None):
        search = self.searches[term]
        stats = self.crawler.stats
        total, parsed = search.total, search.parsed
        stats.set_value(f"{signals.TOWN_STAT_PREFIX}{term}/site_records", total)
        stats.set_value(f"{signals.TOWN_STAT_PREFIX}{term}/rows_parsed", parsed)
        if total != parsed:
            stats.inc_value("ctf/search/records_mismatch")
            logger.warning(
                "search %r: the site said %d records, %d rows were parsed",
                term,
                total,
                parsed,
            )
        self.persistent["done_terms"].add(term)
        mine = []
        for row in search.finish().values():
            town = towns.match(row["listing_town"])
            if town is None or town.name not in self.target_names:
                continue
            self.town_dockets[town.name].add(row["docket_no"])
            mine.append((town, row))
        complete = self._announce_towns(term, total)
        emitted = self.persistent["emitted"]
        for town, row in mine:
            if row["docket_no"] in emitted:
                continue
            emitted.add(row["docket_no"])
            yield from self._case_output(town, row, jar, cookies)
        for name in complete:
            yield from self._sale_case_requests(towns.by_name(name), jar, cookies)

    def _sale_case_requests(self, town, jar, cookies):
        """Read the pages of the town's cases created from a sale, never read yet.

        Such a case (a commercial property, a closed case) is not on the town's
        default grid, so its page would otherwise never be read.
        """
        emitted = self.persistent["emitted"]
        for docket in self.sale_cases.get(town.name, ()):
            if docket in emitted:
                continue
            emitted.add(docket)
            self.crawler.stats.inc_value("ctf/cases/from_sale")
            listing = {
                "docket_no": docket,
                "search_town": town.name,
                "county": town.county,
            }
            yield self._case_request(listing, jar, cookies, tries=1)

    def _announce_towns(self, term: str, total: int) -> list[str]:
        """Signal each town whose searches are now all done; return their names."""
        done = self.persistent["done_terms"]
        announced = self.persistent.setdefault("announced", set())
        complete = []
        for name, needed in self.town_terms.items():
            if term not in needed or name in announced or not needed <= done:
                continue
            announced.add(name)
            complete.append(name)
            own = self.searches.get(name)  # a town's own search gives its site_total
            site_total = own.site_total if own and own.site_total is not None else total
            self.crawler.signals.send_catch_log(
                signal=signals.town_search_complete,
                town=name,
                dockets=set(self.town_dockets[name]),
                site_total=site_total,
            )
        return complete
