"""Run a real crawl in a test: a local HTTP server that counts requests, a spider
that yields prepared items after fetching it, and the project's settings."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import scrapy
from scrapy.crawler import CrawlerRunner
from scrapy.utils.project import get_project_settings


class CountingServer:
    """An HTTP server on 127.0.0.1 answering 200 to anything (after ``delay``
    seconds) and counting hits."""

    def __init__(self, delay: float = 0.0):
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                time.sleep(delay)
                body = b"<html><body>ok</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class ItemsSpider(scrapy.Spider):
    """Yield the given steps one page at a time: page k yields step k.

    A step is an item, or a callable called with the crawler (to send a signal,
    say). One step per page keeps the order: step k+1 runs after a round trip to
    the server, when step k's item has long left the pipelines.
    """

    name = "itemsfixture"

    def __init__(self, url: str, steps=(), **kwargs):
        super().__init__(**kwargs)
        self.url = url
        self.steps = list(steps)

    async def start(self):
        yield self._page(0)

    def _page(self, index: int):
        return scrapy.Request(
            f"{self.url}?step={index}",
            callback=self.parse,
            cb_kwargs={"index": index},
            dont_filter=True,
        )

    def parse(self, response, index):
        if index < len(self.steps):
            step = self.steps[index]
            if callable(step):
                step(self.crawler)
            else:
                yield step
        if index + 1 < len(self.steps):
            yield self._page(index + 1)


def test_settings(**overrides):
    """Return the project's settings, quiet and local, with overrides applied."""
    settings = get_project_settings()
    settings.setdict(
        {
            "TELNETCONSOLE_ENABLED": False,
            "REMOTE_CONTROL_ENABLED": False,
            "ROBOTSTXT_OBEY": False,
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "RETRY_ENABLED": False,
            "LOG_LEVEL": "INFO",
            **overrides,
        },
        priority="cmdline",
    )
    return settings


async def crawl(url: str, steps=(), **overrides):
    """Run :class:`ItemsSpider` to the end; return its crawler (stats, spider)."""
    runner = CrawlerRunner(test_settings(**overrides))
    crawler = runner.create_crawler(ItemsSpider)
    # The Deferred form: pytest-twisted drives the test through Twisted.
    await crawler.crawl(url=url, steps=steps)
    return crawler
