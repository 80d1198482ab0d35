"""Retries that wait as long as the server asks (``Retry-After``) before trying again.

Scrapy's RetryMiddleware retries 429/503 at once (only the download delay between),
which a rate-limited court server answers with another refusal. This subclass waits
the ``Retry-After`` seconds (a number or an HTTP date; up to 25 % longer at random, so
that requests refused together do not all return together), capped at
``RETRY_AFTER_MAX_SECONDS`` (default 120), and otherwise backs off exponentially
from ``RETRY_BACKOFF_BASE`` seconds (default 1; 0 turns the backoff off) for 5xx and
timeouts. Waiting is an ``asyncio.sleep``: the reactor keeps serving other requests.

Register in place of Scrapy's own (settings.py)::

    DOWNLOADER_MIDDLEWARES = {
        "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
        "ctforeclosure.middlewares.retry_after.RetryAfterMiddleware": 550,
    }
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.response import response_status_message

logger = logging.getLogger(__name__)

#: Stat counting seconds slept because a server asked for it.
STAT_WAITED = "ctf/retry_after/seconds_waited"


def retry_after_seconds(
    value: bytes | str | None, now: datetime | None = None
) -> float | None:
    """Return the delay a Retry-After header asks for (None when absent/invalid)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


#: A wait is lengthened by up to this fraction, at random. Requests refused together
#: with the same Retry-After would otherwise all come back at the same instant, in
#: the same order, and a server (or a rate rule) that refuses by arrival order then
#: refuses the same ones every time.
JITTER = 0.25


def spread(seconds: float) -> float:
    """Return ``seconds`` lengthened by a random part of ``JITTER`` (never shorter)."""
    return seconds * (1 + random.random() * JITTER)


class RetryAfterMiddleware(RetryMiddleware):
    """RetryMiddleware that sleeps for Retry-After / an exponential backoff first."""

    def __init__(self, settings):
        super().__init__(settings)
        self.max_wait = settings.getfloat("RETRY_AFTER_MAX_SECONDS", 120.0)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler.settings)
        mw.crawler = crawler
        return mw

    def _delay(self, request, response=None) -> float:
        asked = None
        if response is not None:
            asked = retry_after_seconds(response.headers.get(b"Retry-After"))
        if asked is not None:
            return min(spread(asked), self.max_wait)
        if not self.backoff_base:
            return 0.0
        tries = request.meta.get("retry_times", 0)
        return min(spread(self.backoff_base * (2**tries)), self.max_wait)

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.crawler.stats.inc_value(STAT_WAITED, seconds)
            await asyncio.sleep(seconds)

    async def process_response(self, request, response):
        if request.meta.get("dont_retry", False):
            return response
        if response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        await self._wait(self._delay(request, response))
        return retry

    async def process_exception(self, request, exception):
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get(
            "dont_retry", False
        ):
            return None
        retry = self._retry(request, exception)
        if retry is None:
            return None
        await self._wait(self._delay(request))
        return retry
