"""Case pages of the ``cases`` spider: one request per new docket.

A case page is opened directly (``PublicCaseDetail.aspx``) in the session that
searched its town, one request; ``LoadDocket.aspx``, which answers a 302 to the same
page, costs the court two. Direct opening rests on other scrapers' code, not on a
capture (docs/SITES.md §3.1), so it is one switch (``CASE_PAGES_DIRECT``) and it
checks itself: when the site refuses the first direct pages of a crawl, the crawl goes
back to ``LoadDocket`` for good. A retry always goes through ``LoadDocket`` in a fresh
session, which it warms.

Kept apart from the NoBot-timed search (``_cases_search``): a case page is a plain
GET, not a postback, so it is only paced by the download delay and can be fetched
while the next search waits for its NoBot turn. What ``CasePagesMixin`` needs of the
spider is declared in :class:`CasePagesSpider`.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError

from ctforeclosure import dockets, signals
from ctforeclosure.items import CaseItem, listing_hash
from ctforeclosure.parsers import judiciary as j
from ctforeclosure.parsers.derive import derive

logger = logging.getLogger(__name__)

LOAD_DOCKET_PATH = "/LoadDocket.aspx?DocketNo={dashed}"
#: UNVERIFIED (docs/SITES.md §3.1, [CODE]): a session that searched may open a case
#: page directly, without LoadDocket's redirect.
CASE_PAGE_PATH = "/CaseDetail/PublicCaseDetail.aspx?DocketNo={compact}"
#: Direct case pages the site may refuse before any was read, before the crawl stops
#: opening them directly (a refusal after a page was read is an expired session).
DIRECT_REFUSALS_ALLOWED = 3


@runtime_checkable
class CasePagesSpider(Protocol):
    """What ``CasePagesMixin`` needs of the spider (``CasesSpider`` sets it up)."""

    crawler: Crawler
    base_url: str
    details: str  # -a details=all|none|changed
    details_max_age: timedelta
    case_attempts: int
    #: Open case pages directly (CASE_PAGES_DIRECT); off once the site refuses it.
    direct_case_pages: bool
    #: docket -> (listing hash, when its page was read): the store's answer at start.
    stored_cases: dict
    #: town -> its case page requests not answered yet (a town is done at 0).
    pages_open: Counter[str]
    #: towns with a case page given up (not complete, whatever else happens).
    pages_given_up: set[str]


if TYPE_CHECKING:
    _SpiderBase = CasePagesSpider
else:
    _SpiderBase = object  # a Protocol in the MRO would skip Spider.__init__


class CasePagesMixin(_SpiderBase):
    """Request, parse and retry case pages; keep the listing when a page fails."""

    def _case_output(self, town, row: dict, jar: str | None, cookies: dict | None):
        listing = {**row, "search_town": town.name, "county": town.county}
        if self.details == "none" or (
            self.details == "changed" and not self._changed(listing)
        ):
            self.crawler.stats.inc_value("ctf/cases/listing_only")
            yield listing_item(listing)
            return
        yield self._case_request(listing, jar, cookies, tries=1)

    def _changed(self, listing: dict) -> bool:
        stored = self.stored_cases.get(listing["docket_no"])
        if stored is None:
            return True
        stored_hash, fetched_at = stored
        if fetched_at is None or stored_hash != listing_hash(listing):
            return True
        return datetime.now(UTC) - fetched_at > self.details_max_age

    def _case_request(self, listing: dict, jar, cookies, tries: int) -> scrapy.Request:
        docket = listing["docket_no"]
        direct = self.direct_case_pages and tries == 1
        self.pages_open[listing.get("search_town")] += 1
        if direct:
            url = self.base_url + CASE_PAGE_PATH.format(compact=docket)
        else:
            url = self.base_url + LOAD_DOCKET_PATH.format(dashed=dockets.dashed(docket))
        return scrapy.Request(
            url,
            callback=self.parse_case,
            errback=self.case_failed,
            cookies=cookies or None,
            # Redirects of several cases to one error page must not be deduplicated;
            # each docket is requested once anyway (state "emitted").
            dont_filter=True,
            meta={"cookiejar": jar, "ctf_direct": direct},
            cb_kwargs={"listing": listing, "tries": tries},
        )

    def parse_case(self, response, listing: dict, tries: int):
        """Yield the case's item with parties, docket entries and court dates.

        @fixture judiciary/case_detail__hhdcv226160660s.html
        @cb_kwargs {"listing": {"docket_no": "HHDCV226160660S"}, "tries": 1}
        @returns items 1 1
        @returns requests 0 0
        @scrapes docket_no caption parties docket_entries detail_fetched
        @values detail_fetched True
        """
        self.pages_open[listing.get("search_town")] -= 1
        text = response.text
        kind = j.page_kind(text)
        if kind != "case" or j.truncated(text):
            reason = "truncated page" if kind == "case" else f"{kind} page"
            if kind == "error" and response.meta.get("ctf_direct"):
                self._direct_refused()
            yield from self._case_retry(listing, tries, reason)
            return
        try:
            fields = j.parse_case(text, url=response.url)
        except j.LayoutChanged as exc:
            self.crawler.stats.inc_value("ctf/errors/parsing")
            logger.error("LAYOUT CHANGE on %s: %s", response.url, exc.what)
            yield listing_item(listing)
            return
        if fields["docket_no"] != listing["docket_no"]:
            yield from self._case_retry(listing, tries, "another case's page")
            return
        derived = derive(fields["docket_entries"], fields["disposition"])
        flags = fields.pop("flags")
        item = CaseItem(
            **{"search_town": None}
            | {k: v for k, v in listing.items() if k != "docket_no"},
            **fields,
            detail_fetched=True,
            detail_fetched_at=datetime.now(UTC).replace(microsecond=0),
            judgment_type=derived.judgment_type,
            law_day=derived.law_day,
            sale_date=derived.sale_date,
            is_active=derived.is_active,
            flags=flags,
        )
        self.crawler.stats.inc_value("ctf/cases/detail")
        if response.meta.get("ctf_direct"):
            self.crawler.stats.inc_value("ctf/cases/direct")
        yield item

    def _direct_refused(self) -> None:
        """Count a refused direct case page; stop opening them if none was read."""
        stats = self.crawler.stats
        stats.inc_value("ctf/cases/direct_refused")
        if not self.direct_case_pages or stats.get_value("ctf/cases/direct"):
            return
        if stats.get_value("ctf/cases/direct_refused") >= DIRECT_REFUSALS_ALLOWED:
            self.direct_case_pages = False
            logger.warning(
                "the site refused %d case pages opened directly before reading any: "
                "LoadDocket for the rest of this crawl (docs/SITES.md §3.1; "
                "set CASE_PAGES_DIRECT=False to skip the trial)",
                DIRECT_REFUSALS_ALLOWED,
            )

    def _case_retry(self, listing: dict, tries: int, reason: str):
        self.crawler.stats.inc_value("ctf/cases/retried")
        if tries < self.case_attempts:
            logger.info("case %s again (%s)", listing["docket_no"], reason)
            # A fresh session through LoadDocket, which warms it, as opening a case
            # from a bookmark does; the search's session may be the one that expired.
            jar = f"{listing['docket_no']}#{tries + 1}"
            yield self._case_request(listing, jar, None, tries + 1)
            return
        self.crawler.stats.inc_value("ctf/errors/case_page")
        town = listing.get("search_town")
        self.pages_given_up.add(town)
        self.crawler.stats.inc_value(f"{signals.CASE_PAGES_GIVEN_UP_PREFIX}{town}")
        logger.error(
            "case %s: no case page after %d tries (%s)",
            listing["docket_no"],
            tries,
            reason,
        )
        yield listing_item(listing)

    def case_failed(self, failure):
        """Try a case page whose download failed (retries spent) in a fresh session.

        After ``CASE_MAX_ATTEMPTS`` the listing is kept, with the error counted.
        """
        request = failure.request
        listing, tries = request.cb_kwargs["listing"], request.cb_kwargs["tries"]
        self.pages_open[listing.get("search_town")] -= 1
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            tries = self.case_attempts  # robots.txt, the site budget: no retry
        reason = f"page not fetched: {failure.value}"
        yield from self._case_retry(listing, tries, reason)


def listing_item(listing: dict) -> CaseItem:
    """Return a listing-only item: no case page read, parties unknown (not none)."""
    item = CaseItem(**listing, detail_fetched=False)
    item.is_active = not (listing.get("listing_disposition") or "").strip()
    return item
