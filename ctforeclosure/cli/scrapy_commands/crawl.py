"""``scrapy crawl`` that exits 1 when the crawl failed and 3 when it finished partial,
with one line saying why.

Why: Scrapy's own ``crawl`` sets its exit code only when the crawler cannot start,
so a crawl that closes before its first request because the database is down
(finish reason ``database_unavailable``) exited 0, and cron, systemd or a scrapyd
job (``scrapyd.runner`` runs this same command through ``COMMANDS_MODULE``) could
not tell it from a good one. This command runs Scrapy's, then reads each crawler's
finish reason: ``finished``, Ctrl-C or a scrapyd cancel (``shutdown``), the
operator's own ``CLOSESPIDER_TIMEOUT``/``ITEMCOUNT``/``PAGECOUNT`` limits and any
reason listed in ``CTF_EXPECTED_FINISH_REASONS`` exit 0; any other reason exits 1
and prints ``crawl <spider> failed: <reason> (<why>)`` on stderr, the last line. A
crawl that finished with towns incomplete (outcome ``partial``:
``ctforeclosure.extensions.crawl_outcome``) exits 3 and prints ``crawl <spider>
partial: towns not complete: <towns>``.
"""

from __future__ import annotations

import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from ctforeclosure.extensions.crawl_outcome import (
    INCOMPLETE_STAT,
    OUTCOME_STAT,
    PARTIAL,
    ended_normally,
)
from ctforeclosure.extensions.database import CrawlDatabase
from ctforeclosure.middlewares.site_budget import SITE_BUDGET_UNAVAILABLE
from ctforeclosure.pipelines.upsert import DATABASE_UNAVAILABLE
from ctforeclosure.spiders._cases_search import ROBOTS_FORBIDDEN

#: The exit status of a crawl that failed, and of one that finished partial.
EXIT_FAILED = 1
EXIT_PARTIAL = 3
#: What each failure reason the project (or Scrapy) defines means, for the one line.
FAILURE_REASONS = {
    DATABASE_UNAVAILABLE: "the database cannot be used; nothing was crawled",
    SITE_BUDGET_UNAVAILABLE: "the shared court-site budget became unavailable",
    ROBOTS_FORBIDDEN: "robots.txt forbids the court site",
    "closespider_errorcount": "more errors than CLOSESPIDER_ERRORCOUNT allows",
    "closespider_timeout_no_item": "no item for CLOSESPIDER_TIMEOUT_NO_ITEM seconds",
    "cancelled": "a component closed the crawl without naming a reason",
}


def failure(crawler) -> str | None:
    """Return the one line for a crawler whose finish reason is a failure, or None."""
    # Scrapy's advice for code that may run before the crawl starts: read the
    # underscored attribute (None when the crawler never started; Scrapy's own
    # crawl command already exits 1 for that).
    stats = crawler._stats
    reason = stats.get_value("finish_reason") if stats is not None else None
    if reason is None or ended_normally(reason, crawler.settings):
        return None
    why = FAILURE_REASONS.get(reason, "not a reason a good crawl closes with")
    if reason == DATABASE_UNAVAILABLE:
        database = crawler.get_extension(CrawlDatabase)
        if database is not None and database.unavailable:
            why = database.unavailable  # as logged: names the URL, password hidden
    name = crawler.spidercls.name if crawler.spidercls else "?"
    return f"crawl {name} failed: {reason} ({why})"


def partial(crawler) -> str | None:
    """Return the one line for a crawl that finished with towns incomplete, or None.

    Only for finish reason ``finished``: a crawl the operator stopped (Ctrl-C, a
    ``CLOSESPIDER_*`` limit) ends where they said.
    """
    stats = crawler._stats
    if stats is None or stats.get_value("finish_reason") != "finished":
        return None
    if stats.get_value(OUTCOME_STAT) != PARTIAL:
        return None
    towns = stats.get_value(INCOMPLETE_STAT) or "?"
    name = crawler.spidercls.name if crawler.spidercls else "?"
    return f"crawl {name} partial: towns not complete: {towns}"


def _json_logs_from_the_start() -> None:
    """With ``CTF_LOG_FORMAT=json``, make every log handler Scrapy installs write
    JSON lines (before Scrapy installs its first; scrapyd's job logs too)."""
    from ctforeclosure import config
    from ctforeclosure.extensions.json_logs import json_scrapy_handlers

    if config.load().log_format == "json":
        json_scrapy_handlers()


class Command(ScrapyCrawlCommand):
    """Scrapy's ``crawl``, exiting 1 when the crawl's finish reason is a failure."""

    def __init__(self) -> None:
        super().__init__()
        self._crawlers: list = []

    def _create_crawler(self, spidercls):
        crawler = super()._create_crawler(spidercls)
        self._crawlers.append(crawler)
        return crawler

    def process_options(self, args, opts) -> None:
        super().process_options(args, opts)
        _json_logs_from_the_start()

    def run(self, args, opts) -> None:
        super().run(args, opts)
        for crawler in self._crawlers:
            if line := failure(crawler):
                print(line, file=sys.stderr, flush=True)
                self.exitcode = EXIT_FAILED
            elif line := partial(crawler):
                print(line, file=sys.stderr, flush=True)
                self.exitcode = self.exitcode or EXIT_PARTIAL
