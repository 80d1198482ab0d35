"""Retries wait as long as the server asks (Retry-After), a little longer at random."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import pytest_twisted
from scrapy import Request, Spider
from scrapy.http import HtmlResponse
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.test import get_crawler
from twisted.internet.defer import DeferredList

from ctforeclosure.middlewares.retry_after import (
    JITTER,
    STAT_WAITED,
    RetryAfterMiddleware,
    retry_after_seconds,
)

URL = "http://127.0.0.1:9/civilinquiry/LoadDocket.aspx?DocketNo=HHD-CV-22-6160660-S"


def test_retry_after_seconds_reads_a_number_or_an_http_date():
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert retry_after_seconds(b"7") == 7.0
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(later, now=now) == 30.0
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds(None) is None


def _middleware(**settings):
    crawler = get_crawler(Spider, {"RETRY_TIMES": 2, **settings})
    crawler.spider = crawler._create_spider("probe")
    return crawler, RetryAfterMiddleware.from_crawler(crawler)


def _respond(middleware, request, response):
    """Run the middleware's coroutine as Scrapy does (asyncio.sleep inside)."""
    return deferred_from_coro(middleware.process_response(request, response))


def _unavailable(request, retry_after: str | None):
    headers = {"Retry-After": retry_after} if retry_after else {}
    return HtmlResponse(URL, status=503, headers=headers, request=request)


@pytest_twisted.ensureDeferred
async def test_a_503_is_retried_after_the_servers_retry_after_and_a_bit_more():
    # Ten requests refused together with "Retry-After: 1", waiting side by side.
    crawlers, waiting = [], []
    for _ in range(10):
        crawler, middleware = _middleware()
        request = Request(URL)
        crawlers.append(crawler)
        waiting.append(_respond(middleware, request, _unavailable(request, "1")))
    retries = await DeferredList(waiting, fireOnOneErrback=True)
    assert all(r.url == URL and r.meta["retry_times"] == 1 for _, r in retries)
    waits = [c.stats.get_value(STAT_WAITED) for c in crawlers]
    assert all(1.0 <= w <= 1.0 * (1 + JITTER) for w in waits)
    # they do not all come back at the same instant
    assert len({round(w, 3) for w in waits}) > 1


@pytest_twisted.ensureDeferred
async def test_retry_after_is_capped_and_retries_end():
    crawler, middleware = _middleware(RETRY_AFTER_MAX_SECONDS=0.05)
    request = Request(URL)
    retry = await _respond(middleware, request, _unavailable(request, "3600"))
    assert crawler.stats.get_value(STAT_WAITED) == pytest.approx(0.05)
    again = await _respond(middleware, retry, _unavailable(retry, "1"))
    last = await _respond(middleware, again, _unavailable(again, "1"))
    assert last.status == 503  # RETRY_TIMES spent: the response goes on, no retry
