"""Count the court's requests per second, across every client of one replica.

The site budget (``ctforeclosure.middlewares.site_budget``) promises the court one
rate however many scrapyd nodes crawl it; the replica is the court here, so it is
where that promise is checked: ``/_replica/request_rate.json`` says how many
requests to the judiciary's pages arrived in each wall-clock second, and the busiest.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from flask import Flask, jsonify, request


class RequestRate:
    """Requests to one path prefix, counted per whole second (thread-safe)."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.per_second: Counter[int] = Counter()
        self._lock = threading.Lock()

    def count(self, path: str) -> None:
        if path.startswith(self.prefix):
            with self._lock:
                self.per_second[int(time.time())] += 1

    def report(self) -> dict:
        with self._lock:
            seconds = dict(sorted(self.per_second.items()))
        return {
            "prefix": self.prefix,
            "requests": sum(seconds.values()),
            "max_per_second": max(seconds.values(), default=0),
            "per_second": {str(second): n for second, n in seconds.items()},
        }


def install(app: Flask, prefix: str) -> RequestRate:
    """Count every request under ``prefix``; serve the counts as JSON."""
    rate = RequestRate(prefix)

    @app.before_request
    def _count():
        rate.count(request.path)

    @app.get("/_replica/request_rate.json")
    def request_rate_json():
        return jsonify(rate.report())

    return rate
