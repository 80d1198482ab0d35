"""The ``towns`` spider: Connecticut's 169 towns and their counties, checked.

Domain: the Connecticut State Library's towns guide, ``STATE_LIBRARY_TOWNS_URL``
(default https://libguides.ctstatelibrary.org/cttowns).

Flow:

1. ``start``: one GET of the guide page.
2. ``parse_towns``: :func:`ctforeclosure.parsers.statelib.parse_towns` reads every
   "town, county" the page names; :func:`~ctforeclosure.parsers.statelib.check_towns`
   accepts them only as exactly the 169 towns in their 8 counties. Accepted: one
   ``TownItem`` per town, ``source="statelib"``.
3. Otherwise (page changed, partly loaded, or not fetched at all: ``errback``) the
   bundled list (``ctforeclosure/data/ct_towns.csv``) is yielded with
   ``source="bundled"``, a WARNING names exactly which towns differ, and the stats
   record ``towns/fallback_used`` = 1 and ``towns/differences`` (counts). Never silent.

Items go through the pipelines into the ``towns`` table; re-running changes nothing.

Caveats (docs/SITES.md §6): the page's current HTML was never captured. A kyp0717
scraper reading LibGuides boxes found only 24 towns, so a fallback is expected to be
common; the bundled list is the source of truth and the page a cross-check. The planning
region comes from the page when it has one, else from the bundled list.
"""

from __future__ import annotations

import scrapy

from ctforeclosure import config, towns
from ctforeclosure.extensions.startup_guard import require_contact
from ctforeclosure.items import TownItem
from ctforeclosure.parsers import statelib


class TownsSpider(scrapy.Spider):
    """Read the State Library's towns guide; fall back to the bundled list, loudly."""

    name = "towns"

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        # `scrapy check` replaces start() with @fixture requests to saved pages, so it
        # visits no site and needs no CONTACT.
        if not config.load().scrapy_check:
            require_contact(crawler.settings, ("STATE_LIBRARY_TOWNS_URL",))
        return super().from_crawler(crawler, *args, **kwargs)

    async def start(self):
        yield scrapy.Request(
            self.settings["STATE_LIBRARY_TOWNS_URL"],
            callback=self.parse_towns,
            errback=self.page_failed,
        )

    def parse_towns(self, response):
        """Yield one TownItem per town: the page's if it passes the check.

        @fixture statelib/towns__table.html
        @returns items 169 169
        @scrapes town county
        @values source statelib
        """
        parsed = statelib.parse_towns(response)
        ok, differences = statelib.check_towns(parsed)
        if not ok:
            yield from self._fallback(
                f"{response.url} failed the 169-towns check: {differences.describe()}",
                differences.counts(),
            )
            return
        self.crawler.stats.set_value("towns/fallback_used", 0)
        self.logger.info(
            "Town list accepted: %s names the 169 towns in their 8 counties.",
            response.url,
        )
        for row in parsed:
            town = towns.canonical(row["town"])
            yield TownItem(
                town=town.name,
                county=row["county"],
                planning_region=row["planning_region"] or town.planning_region,
                source="statelib",
            )

    def page_failed(self, failure):
        """Yield the bundled list when the page could not be fetched at all."""
        request = getattr(failure, "request", None)
        url = request.url if request else self.settings["STATE_LIBRARY_TOWNS_URL"]
        reason = failure.getErrorMessage() or failure.type.__name__
        yield from self._fallback(
            f"{url} could not be read ({reason})",
            {"found": 0, "missing": len(towns.all_towns())},
        )

    def _fallback(self, why: str, counts: dict[str, int]):
        stats = self.crawler.stats
        stats.set_value("towns/fallback_used", 1)
        stats.set_value("towns/differences", counts)
        self.logger.warning(
            "Town list fallback: %s. Storing the bundled list of %d towns instead.",
            why,
            len(towns.all_towns()),
        )
        for town in towns.all_towns():
            yield TownItem(
                town=town.name,
                county=town.county,
                planning_region=town.planning_region,
                source="bundled",
            )
