"""One budget of load on the court's site for the whole deployment.

However many scrapyd nodes and crawl processes run, every request to the judiciary
hosts (the hosts of ``CTJUD_BASE_URL`` and ``CTJUD_SALES_BASE_URL``) takes its turn
from one shared row in the crawl's database (:mod:`ctforeclosure.store.site_budget`,
which explains the row), so several nodes buy redundancy and parallel
parsing/storage, never more pressure on the court. This middleware does the waiting:

- for the next free request slot, deployment-wide;
- for the search-session lease: at most one search session on the site at a time;
- while the kill switch is on (``ctforeclosure pause`` / ``resume``): running crawls
  re-read it at least every ``SITE_BUDGET_POLL_SECONDS`` and hold their requests to
  the court (nothing is dropped; ``ctforeclosure cancel`` stops jobs).

Interface for spiders (request meta):

- ``site_session``: a key naming the search session this request belongs to, e.g.
  ``"cases:Hartford"``. The first request with a key waits until the deployment-wide
  session lease is free and takes it; later requests with the same key renew it.
- The session ends, and the next one anywhere may start, when the first of these
  happens: a response arrives to a request with ``site_session_end: True`` (2xx/3xx;
  on errors the lease is kept for the retry); the spider calls
  ``await end_session(self.crawler, key)``; no request of the session has been in
  flight for ``SITE_BUDGET_SESSION_GRACE`` seconds (75: longer than a NoBot wait);
  the spider closes; or, for a crashed process, ``SITE_BUDGET_SESSION_TTL`` seconds
  (120) after its last request. Ending sessions explicitly keeps the others waiting
  the least.
- Requests without ``site_session`` are only rate-limited.

Settings: ``SITE_BUDGET_ENABLED`` (True), ``SITE_BUDGET_INTERVAL`` (seconds between
requests across the deployment; default ``DOWNLOAD_DELAY``),
``SITE_BUDGET_POLL_SECONDS`` (2), ``SITE_BUDGET_SESSION_TTL`` (120),
``SITE_BUDGET_WINDOW`` ("22:00-06:00" = nights only; empty = any time; env
``CTF_CRAWL_WINDOW``) in ``SITE_BUDGET_TIMEZONE`` ("America/New_York"). Outside the
window requests wait for it to open.

Database calls run in worker threads and waits are ``asyncio.sleep``: the reactor never
blocks. If the table is missing, a crawl of the real site stops (fail closed); a crawl
of the offline replica on 127.0.0.1 runs without the budget and says so in the log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
import weakref
from collections import defaultdict
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

from ctforeclosure.config import is_loopback_url
from ctforeclosure.extensions.database import CrawlDatabase
from ctforeclosure.store.site_budget import SiteBudget

__all__ = [
    "SiteBudgetMiddleware",
    "end_session",
    "parse_window",
    "seconds_until_window",
]

logger = logging.getLogger(__name__)

#: Finish reason when the shared site budget fails mid-crawl (a failed crawl: exit 1).
SITE_BUDGET_UNAVAILABLE = "site_budget_unavailable"
SESSION_META = "site_session"
SESSION_END_META = "site_session_end"

# The middleware of each running crawler, for end_session().
_BY_CRAWLER: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def end_session(crawler, key: str) -> None:
    """End the spider's search session ``key`` now (no-op when it holds none)."""
    if (middleware := _BY_CRAWLER.get(crawler)) is not None:
        await middleware.release(middleware._holder(key))


def parse_window(text: str | None) -> tuple[time, time] | None:
    """Parse ``"22:00-06:00"`` into (start, end); empty means no window."""
    if not text or not text.strip():
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError as exc:
        raise ValueError(f"crawl window {text!r} is not HH:MM-HH:MM") from exc
    return start, end


def seconds_until_window(window: tuple[time, time] | None, now: datetime) -> float:
    """Return 0 inside the window, else the seconds until it opens (``now`` aware)."""
    if window is None:
        return 0.0
    start, end = window
    current = now.time().replace(tzinfo=None)
    inside = (
        start <= current < end if start < end else current >= start or current < end
    )
    if start == end or inside:
        return 0.0
    opens = datetime.combine(now.date(), start, tzinfo=now.tzinfo)
    if opens <= now:
        opens += timedelta(days=1)
    return (opens - now).total_seconds()


def _netloc(url: str) -> str:
    return urlsplit(url).netloc.lower()


class SiteBudgetMiddleware:
    """Make every request to the court's hosts take its turn from the shared budget."""

    def __init__(self, crawler, budget: SiteBudget, *, hosts: set[str], loopback: bool):
        settings = crawler.settings
        self.crawler = crawler
        self.budget = budget
        self.hosts = hosts
        self.loopback = loopback
        interval = settings.get("SITE_BUDGET_INTERVAL")
        self.interval = float(
            settings.getfloat("DOWNLOAD_DELAY") if interval in (None, "") else interval
        )
        self.poll = settings.getfloat("SITE_BUDGET_POLL_SECONDS", 2.0)
        self.session_ttl = settings.getfloat("SITE_BUDGET_SESSION_TTL", 120.0)
        self.session_grace = settings.getfloat("SITE_BUDGET_SESSION_GRACE", 75.0)
        self.window = parse_window(settings.get("SITE_BUDGET_WINDOW"))
        self.tz = ZoneInfo(settings.get("SITE_BUDGET_TIMEZONE") or "America/New_York")
        self.prefix = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.sessions: set[str] = set()  # leases this process holds
        self._active: dict[str, int] = defaultdict(int)  # requests per session
        self._idle: dict[str, asyncio.Future] = {}
        self.enabled: bool | None = None  # decided at the first request
        self._check_lock = asyncio.Lock()
        self._announced: str | None = None
        self._closing = None

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("SITE_BUDGET_ENABLED", True):
            raise NotConfigured("SITE_BUDGET_ENABLED is off")
        urls = [settings.get("CTJUD_BASE_URL"), settings.get("CTJUD_SALES_BASE_URL")]
        urls = [u for u in urls if u]
        mw = cls(
            crawler,
            SiteBudget(CrawlDatabase.of(crawler).engine),
            hosts={_netloc(u) for u in urls},
            loopback=all(is_loopback_url(u) for u in urls),
        )
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        _BY_CRAWLER[crawler] = mw
        return mw

    def _holder(self, key: str) -> str:
        return f"{self.prefix}:{key}"[:200]

    async def _ready(self) -> bool:
        async with self._check_lock:
            if self.enabled is None:
                if await asyncio.to_thread(self.budget.ready):
                    self.enabled = True
                elif self.loopback:
                    logger.warning(
                        "site_budget table missing (run `ctforeclosure db upgrade`); "
                        "crawling the local replica without the shared budget"
                    )
                    self.enabled = False
                else:
                    raise LookupError(
                        "site_budget table missing: run `ctforeclosure db upgrade`"
                    )
        return self.enabled

    def _announce(self, state: str | None, message: str = "") -> None:
        if state != self._announced:
            self._announced = state
            if state:
                logger.info("court site budget: %s", message)

    async def _wait_for_window(self) -> None:
        while (wait := seconds_until_window(self.window, datetime.now(self.tz))) > 0:
            self._announce("window", f"outside crawl window; waiting {wait:.0f}s")
            self.crawler.stats.inc_value("site_budget/window_waits")
            await asyncio.sleep(min(wait, self.poll))

    async def process_request(self, request):
        if _netloc(request.url) not in self.hosts:
            return None
        try:
            if not await self._ready():
                return None
            key = request.meta.get(SESSION_META)
            if key:
                self._begin(self._holder(key))
            while True:
                await self._wait_for_window()
                if key and not await self._acquire(key):
                    continue
                wait = await asyncio.to_thread(self.budget.take_slot, self.interval)
                if wait is None:
                    self._announce("paused", "paused by the kill switch; holding")
                    self.crawler.stats.inc_value("site_budget/paused_polls")
                    await asyncio.sleep(self.poll)
                    continue
                if wait > self.poll and await asyncio.to_thread(self.budget.is_paused):
                    continue
                self._announce(None)
                self.crawler.stats.inc_value("site_budget/requests")
                if wait:
                    self.crawler.stats.inc_value(
                        "site_budget/waited_ms", int(wait * 1000)
                    )
                    await asyncio.sleep(wait)
                return None
        except (sa.exc.SQLAlchemyError, LookupError) as exc:
            self._fail_closed(exc)
            raise IgnoreRequest("court site budget unavailable") from exc

    async def _acquire(self, key: str) -> bool:
        holder = self._holder(key)
        if await asyncio.to_thread(
            self.budget.acquire_session, holder, self.session_ttl
        ):
            self.sessions.add(holder)
            return True
        self._announce("session", "another search session is running; waiting")
        await asyncio.sleep(self.poll)
        return False

    def _begin(self, holder: str) -> None:
        self._active[holder] += 1
        if (timer := self._idle.pop(holder, None)) is not None:
            timer.cancel()

    async def process_response(self, request, response):
        end = request.meta.get(SESSION_END_META) and 200 <= response.status < 400
        await self._done(request, end=bool(end))
        return response

    async def process_exception(self, request, exception):
        await self._done(request, end=False)

    async def _done(self, request, *, end: bool) -> None:
        key = request.meta.get(SESSION_META)
        if not key or not self.enabled or _netloc(request.url) not in self.hosts:
            return
        holder = self._holder(key)
        self._active[holder] = max(0, self._active[holder] - 1)
        if end:
            await self.release(holder)
        elif (
            not self._active[holder]
            and holder in self.sessions
            and holder not in self._idle
        ):
            self._idle[holder] = asyncio.ensure_future(self._release_idle(holder))

    async def _release_idle(self, holder: str) -> None:
        await asyncio.sleep(self.session_grace)
        self._idle.pop(holder, None)
        if not self._active[holder]:
            await self.release(holder)

    async def release(self, holder: str) -> None:
        """Give this process's lease back so another session may start."""
        if holder in self.sessions:
            self.sessions.discard(holder)
            await asyncio.to_thread(self.budget.release_session, holder)

    def _fail_closed(self, exc: Exception) -> None:
        logger.error("court site budget unavailable, stopping the crawl: %s", exc)
        if self._closing is None and self.crawler.engine is not None:
            self._closing = asyncio.ensure_future(
                self.crawler.engine.close_spider_async(reason=SITE_BUDGET_UNAVAILABLE)
            )

    async def spider_closed(self, spider, reason):
        for timer in self._idle.values():
            timer.cancel()
        self._idle.clear()
        try:
            for holder in list(self.sessions):
                await asyncio.to_thread(self.budget.release_session, holder)
        except sa.exc.SQLAlchemyError as exc:
            logger.warning("could not release the search session: %s", exc)
        finally:
            self.sessions.clear()
