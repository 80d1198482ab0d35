"""A crawl's progress on one updating line, when someone watches it in a terminal.

Towns searched n/N, case pages read n/expected, items stored, errors, and the time
left as the court's politeness rules bound it: each town's search needs at least one
postback, and postbacks come no faster than ``NOBOT_MAX_POSTBACKS`` per
``NOBOT_WINDOW`` (nor sooner than ``NOBOT_MIN_DELAY`` after their page); each case
page waits its turn in the site budget (``SITE_BUDGET_INTERVAL``, else
``DOWNLOAD_DELAY``). The estimate is the slower of the two: no crawl can be faster.

Drawn with tqdm on stdout, only when stdout is a terminal (``PROGRESS_ENABLED``
turns it off): under scrapyd, in a pipe or a file, nothing changes and the logs stay
as they are. Counts come from the signals the spiders send and from the crawl stats,
read on a timer as Scrapy's own LogStats does.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from dataclasses import dataclass

from scrapy import signals
from scrapy.exceptions import NotConfigured

from ctforeclosure import signals as ctf_signals
from ctforeclosure.extensions.crawl_stats import errors_by_category

#: The spider callback whose requests are case pages.
CASE_PAGE_CALLBACK = "parse_case"
REFRESH_SECONDS = 0.5


@dataclass
class Counts:
    """What the line shows, kept as the crawl goes."""

    towns: int | None = None  # the crawl's target towns (None: not a town crawl)
    reads_case_pages: bool = False  # the cases spider (towns and sales read none)
    towns_searched: int = 0
    pages_expected: int = 0
    pages_read: int = 0
    pages_failed: int = 0
    stored: int = 0
    errors: int = 0


def politeness_bound(counts: Counts, town_seconds: float, page_seconds: float) -> float:
    """Return the fewest seconds the court's rules allow for what is left."""
    towns_left = max((counts.towns or 0) - counts.towns_searched, 0)
    done = counts.pages_read + counts.pages_failed
    pages_left = max(counts.pages_expected - done, 0)
    return max(towns_left * town_seconds, pages_left * page_seconds)


def describe(counts: Counts, seconds_left: float) -> str:
    """Return the progress line's text (the time left only where the politeness
    bound is known: a crawl of case pages)."""
    parts = []
    if counts.towns is not None:
        parts.append(f"towns {counts.towns_searched}/{counts.towns}")
    if counts.reads_case_pages:
        parts.append(f"case pages {counts.pages_read}/{counts.pages_expected}")
    parts += [f"stored {counts.stored}", f"errors {counts.errors}"]
    if counts.reads_case_pages:
        parts.append(f"ETA ≥ {_clock(seconds_left)}")
    return " | ".join(parts)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class CrawlProgress:
    """Scrapy extension: the one-line progress display on a terminal."""

    def __init__(self, crawler, stream):
        self.crawler = crawler
        self.stream = stream
        self.counts = Counts()
        settings = crawler.settings
        postbacks = settings.getint("NOBOT_MAX_POSTBACKS")
        per_postback = settings.getfloat("NOBOT_WINDOW") / postbacks if postbacks else 0
        self.town_seconds = max(settings.getfloat("NOBOT_MIN_DELAY"), per_postback)
        interval = settings.get("SITE_BUDGET_INTERVAL")
        self.page_seconds = float(
            interval if interval is not None else settings.getfloat("DOWNLOAD_DELAY")
        )
        self._dockets: set[str] = set()
        self.bar = None
        self._timer: asyncio.Task | None = None

    @classmethod
    def from_crawler(cls, crawler) -> CrawlProgress:
        stream = sys.stdout
        if not crawler.settings.getbool("PROGRESS_ENABLED", True):
            raise NotConfigured
        if not stream.isatty():
            raise NotConfigured  # a pipe, a file, scrapyd: the logs say it all
        ext = cls(crawler, stream)
        connect = crawler.signals.connect
        connect(ext.spider_opened, signal=signals.spider_opened)
        connect(ext.spider_closed, signal=signals.spider_closed)
        connect(ext.request_scheduled, signal=signals.request_scheduled)
        connect(ext.town_searched, signal=ctf_signals.town_search_complete)
        connect(ext.town_searched, signal=ctf_signals.sales_town_complete)
        return ext

    def spider_opened(self, spider) -> None:
        from tqdm import tqdm

        names = getattr(spider, "target_names", None)
        self.counts.towns = len(names) if names is not None else None
        self.counts.reads_case_pages = hasattr(spider, CASE_PAGE_CALLBACK)
        # The terminal's size, or 80x24 where it tells none (tqdm would draw
        # nothing): a longer line is cut, never wrapped, so it stays one line.
        size = shutil.get_terminal_size()
        self.bar = tqdm(
            file=self.stream,
            bar_format="{desc} | {elapsed}",
            desc=spider.name,
            ncols=size.columns,
            nrows=size.lines,
        )
        self._timer = asyncio.create_task(self._refresh_on_time(spider.name))

    def request_scheduled(self, request, spider=None) -> None:
        """Count each case page the spider asks for, once per docket (a retry, or a
        request the site budget puts back to wait, is scheduled again)."""
        if getattr(request.callback, "__name__", "") == CASE_PAGE_CALLBACK:
            self._dockets.add(request.cb_kwargs["listing"]["docket_no"])
            self.counts.pages_expected = len(self._dockets)

    def town_searched(self, town: str, **_) -> None:
        """Count a town whose search (cases) or sales list (sales) is complete."""
        self.counts.towns_searched += 1

    async def _refresh_on_time(self, name: str) -> None:
        while True:
            self.refresh(name)
            await asyncio.sleep(REFRESH_SECONDS)

    def refresh(self, name: str) -> None:
        """Read the stats and redraw the line."""
        stats = self.crawler.stats.get_stats()
        self.counts.pages_read = stats.get("ctf/cases/detail", 0)
        self.counts.pages_failed = stats.get("ctf/errors/case_page", 0)
        self.counts.stored = stats.get("ctf/items_stored", 0)
        self.counts.errors = sum(errors_by_category(stats).values())
        left = politeness_bound(self.counts, self.town_seconds, self.page_seconds)
        self.bar.set_description_str(f"{name}: {describe(self.counts, left)}")

    def spider_closed(self, spider, reason: str = "") -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.bar is not None:
            self.refresh(spider.name)
            self.bar.close()
