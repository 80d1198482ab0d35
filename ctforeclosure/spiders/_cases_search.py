"""The NoBot-timed town search of the ``cases`` spider (plain HTTP or Chromium).

Per search term: GET the search form in a fresh session (own cookiejar), answer the
NoBot challenge like the page's script ("~N" -> -(N+1)), wait out the NoBot rules
(``_cases_nobot``), POST the search (form2request, options by label), then POST
``Page$N`` until the pager has no next page; when done, hand the rows to the case
pages (``_cases_pages``). A refusal, an error page or a cut page restarts the term
in a new session; ``auto`` mode moves a twice-refused term to Chromium.
``SearchMixin`` expects the spider's settings attributes (``_configure``), its
per-term bookkeeping (``__init__``) and ``nobot`` (a ``NoBotPacer``).
"""

from __future__ import annotations

import logging
import time

import scrapy
from form2request import form2request
from scrapy.exceptions import CloseSpider, IgnoreRequest

from ctforeclosure import signals, towns
from ctforeclosure.middlewares.site_budget import end_session
from ctforeclosure.parsers import judiciary as j
from ctforeclosure.spiders._cases_nobot import SEARCH_PRIORITY
from ctforeclosure.spiders._cases_pages import truncated
from ctforeclosure.spiders._cases_targets import PROPERTY_LABELS, STATUS_LABELS

logger = logging.getLogger(__name__)

SEARCH_PATH = "/PropertyAddressSearch.aspx"
CASE_TYPE_LABEL = "Foreclosure Cases"  # [CODE]+[CAPTURE] default option
#: Refused searches (NoBot, session) before ``auto`` mode tries the browser.
REFUSALS_BEFORE_BROWSER = 2
ROBOTS_MESSAGE = (
    "robots.txt of %s forbids this crawl, so it stopped before searching. The court's "
    "hosts are reported to disallow every robot (SITES.md §1.3). Crawling anyway is "
    "the operator's decision: rerun with -s ROBOTSTXT_OBEY=False (the crawl then says "
    "so in its log and its crawl record)."
)


class SearchMixin:
    """Search one term at a time, paced by ``NoBotPacer``; restart on refusals."""

    def _search_request(self, term: str) -> scrapy.Request | None:
        self._tries[term] += 1
        self._progress.pop(term, None)
        # Attempt ids grow across resumed runs (JOBDIR), so a postback left in the
        # queue by a stopped run is never taken for the current attempt.
        attempt = self.persistent["seq"] = self.persistent.get("seq", 0) + 1
        self._attempt[term] = attempt
        if self._tries[term] > self.max_attempts:
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
        kwargs = {"term": term, "attempt": attempt}
        if self.mode == "browser" or term in self._browser_terms:
            self.crawler.stats.inc_value("ctf/search/browser")
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
                callback=self.parse_browser_search,
                errback=self.search_failed,
                dont_filter=True,
                priority=SEARCH_PRIORITY,
                meta=meta,
                cb_kwargs=kwargs,
            )
        return scrapy.Request(
            self.base_url + SEARCH_PATH,
            callback=self.parse_form,
            errback=self.search_failed,
            dont_filter=True,
            priority=SEARCH_PRIORITY,
            meta=meta,
            cb_kwargs=kwargs,
        )

    def _stale(self, response, term: str, attempt: int) -> bool:
        """Return True for a response of an abandoned attempt (restart, resume)."""
        if response.meta.get("ctf_fixture"):
            self._attempt.setdefault(term, attempt)
            return False
        return self._attempt.get(term) != attempt

    async def _end_session(self, term: str) -> None:
        """Free the deployment-wide search lease (site_budget) for the next search."""
        self.nobot.close_search(term)
        await end_session(self.crawler, f"cases:{term}")

    def _meta(self, response, **extra) -> dict:
        meta = {
            "cookiejar": response.meta.get("cookiejar"),
            "site_session": response.meta.get("site_session"),
            "ctf_postback": True,
            # No download-level retry: a postback's NoBot key is single-use, so a
            # retry is refused anyway and is one more postback in the window that
            # the pacer never counted. search_failed restarts the search instead.
            "dont_retry": True,
        }
        meta.update(extra)
        return meta

    async def parse_form(self, response, term: str, attempt: int):
        """Answer the NoBot challenge and post the search.

        @fixture judiciary/search_form__replica.html
        @cb_kwargs {"term": "Middletown", "attempt": 1}
        @returns requests 1 1
        """
        received = time.monotonic()
        if self._stale(response, term, attempt):
            return
        if j.page_kind(response.text) != "search" or truncated(response.text):
            self._restart_reason(term, "no whole search form", response.url)
            if (request := self._search_request(term)) is not None:
                yield request
            return
        try:
            form = j.parse_search_form(response.text)
            data = self._search_data(form, term)
        except j.LayoutChanged as exc:
            self._layout_changed(term, exc, response.url)
            await self._end_session(term)
            return
        if form.nobot_answer is None:
            if (request := self._unknown_challenge(term, form.challenge)) is not None:
                yield request
            return
        if not response.meta.get("ctf_fixture"):
            await self.nobot.postback_slot(received, self.postback_timeout)
        request = form2request(response.css("form#aspnetForm"), data).to_scrapy(
            callback=self.parse_results,
            errback=self.search_failed,
            dont_filter=True,
            priority=SEARCH_PRIORITY,
            meta=self._meta(response),
            cb_kwargs={"term": term, "attempt": attempt, "page": 1},
        )
        yield request

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
        self._browser_terms.add(term)
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
        text = response.text
        kind = j.page_kind(text)
        if kind in ("search", "error") or truncated(text):
            for out in self._refused(term, kind, response):
                yield out
            return
        try:
            if kind != "results":
                raise j.LayoutChanged(f"a {kind!r} page where results were expected")
            result = j.parse_results(text, url=response.url)
        except j.LayoutChanged as exc:
            self._layout_changed(term, exc, response.url)
            await self._end_session(term)
            return
        progress = self._progress.setdefault(term, {"rows": {}, "parsed": 0})
        progress["parsed"] += len(result.rows)
        progress["total"] = result.total or 0
        for row in result.rows:
            progress["rows"].setdefault(row["docket_no"], row)
        if result.next_page:
            answer = j.nobot_answer(j.parse_challenge(text))
            if answer is None:
                if (request := self._unknown_challenge(term, None)) is not None:
                    yield request
                return
            form = j.parse_search_form(text)
            await self.nobot.postback_slot(received, self.postback_timeout)
            yield form2request(
                response.css("form#aspnetForm"),
                {
                    "__EVENTTARGET": j.GRID_EVENT_TARGET,
                    "__EVENTARGUMENT": j.page_argument(result.next_page),
                    form.nobot_field: answer,
                },
                click=False,
            ).to_scrapy(
                callback=self.parse_results,
                errback=self.search_failed,
                dont_filter=True,
                priority=SEARCH_PRIORITY,
                meta=self._meta(response),
                cb_kwargs={"term": term, "attempt": attempt, "page": result.next_page},
            )
            return
        await self._end_session(term)
        for out in self._search_done(term, response.meta.get("cookiejar")):
            yield out

    def _refused(self, term: str, kind: str, response):
        """Start the term's search again after a refusal, an error or a cut page."""
        reason = "truncated page" if kind not in ("search", "error") else kind
        if kind == "search":
            reason = "search refused: " + (
                j.parse_search_form(response.text).message or "form shown again"
            )
            self._refusals[term] += 1
            self.crawler.stats.inc_value("ctf/search/refused")
            if (
                self.mode == "auto"
                and self._refusals[term] >= REFUSALS_BEFORE_BROWSER
                and term not in self._browser_terms
            ):
                logger.warning(
                    "search %r refused %d times: browser", term, self._refusals[term]
                )
                self._browser_terms.add(term)
        self._restart_reason(term, reason, response.url)
        if (request := self._search_request(term)) is not None:
            yield request

    def _restart_reason(self, term: str, reason: str, url: str) -> None:
        self.crawler.stats.inc_value("ctf/search/restarted")
        logger.info("search %r starts again (%s) after %s", term, reason, url)

    def _layout_changed(self, term: str, exc: j.LayoutChanged, url: str) -> None:
        self.crawler.stats.inc_value("ctf/errors/parsing")
        logger.error(
            "LAYOUT CHANGE on %s: %s; search %r skipped, other towns go on",
            url,
            exc.what,
            term,
        )
        self._attempt[term] = -1  # abandon: later replies are stale

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
            raise CloseSpider("robots_forbidden")
        if term is None or self._attempt.get(term) != attempt:
            return
        self.crawler.stats.inc_value("ctf/search/request_failed")
        logger.warning("search %r: request failed (%s)", term, failure.value)
        if (request := self._search_request(term)) is not None:
            yield request

    async def parse_browser_search(self, response, term: str, attempt: int):
        """Run the search and its paging in Chromium, then fetch cases over HTTP."""
        page = response.meta["playwright_page"]
        rows: dict[str, dict] = {}
        parsed = total = 0
        try:
            if self._stale(response, term, attempt):
                return
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
            while True:
                text = await page.content()
                kind = j.page_kind(text)
                if kind != "results":
                    for out in self._refused(term, kind, response):
                        yield out
                    return
                result = j.parse_results(text, url=page.url)
                parsed += len(result.rows)
                total = result.total or 0
                for row in result.rows:
                    rows.setdefault(row["docket_no"], row)
                if not result.next_page:
                    break
                await self.nobot.postback_slot(time.monotonic(), self.postback_timeout)
                try:
                    async with page.expect_navigation():
                        await page.click(f"a[href*=\"'Page${result.next_page}'\"]")
                finally:
                    self.nobot.postback_finished()
            cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
        except j.LayoutChanged as exc:
            self._layout_changed(term, exc, page.url)
            await self._end_session(term)
            return
        finally:
            await page.close()
            await page.context.close()
        self._progress[term] = {"rows": rows, "parsed": parsed, "total": total}
        await self._end_session(term)
        for out in self._search_done(term, response.meta.get("cookiejar"), cookies):
            yield out

    def _search_done(self, term: str, jar: str | None, cookies: dict | None = None):
        progress = self._progress.pop(term, {"rows": {}, "parsed": 0, "total": 0})
        stats = self.crawler.stats
        total, parsed = progress.get("total", 0), progress["parsed"]
        stats.set_value(f"ctf/town/{term}/site_records", total)
        stats.set_value(f"ctf/town/{term}/rows_parsed", parsed)
        if total != parsed:
            stats.inc_value("ctf/search/records_mismatch")
            logger.warning(
                "search %r: the site said %d records, %d rows were parsed",
                term,
                total,
                parsed,
            )
        self.persistent["done_terms"].add(term)
        self._attempt[term] = -1  # later replies are stale
        mine = []
        for row in progress["rows"].values():
            town = towns.match(row["listing_town"])
            if town is None or town.name not in self.target_names:
                continue
            self._town_dockets[town.name].add(row["docket_no"])
            mine.append((town, row))
        self._town_total[term] = total  # a town's own search gives its site_total
        self._announce_towns(term, total)
        emitted = self.persistent["emitted"]
        for town, row in mine:
            if row["docket_no"] in emitted:
                continue
            emitted.add(row["docket_no"])
            yield from self._case_output(town, row, jar, cookies)

    def _announce_towns(self, term: str, total: int) -> None:
        done = self.persistent["done_terms"]
        announced = self.persistent.setdefault("announced", set())
        for name, needed in self.town_terms.items():
            if term not in needed or name in announced or not needed <= done:
                continue
            announced.add(name)
            site_total = self._town_total.get(name, total)
            self.crawler.signals.send_catch_log(
                signal=signals.town_search_complete,
                town=name,
                dockets=set(self._town_dockets[name]),
                site_total=site_total,
            )
