"""``GET /metrics``: the web UI and the data, in Prometheus' text format.

prometheus_client does the work. Per request: counts and latency histograms by
route pattern (``/cases/<docket_no>``, never the path's values or the query) and
status, and the worker's database pool use. Under gunicorn every worker writes its
figures to ``PROMETHEUS_MULTIPROC_DIR`` (``webui.server`` makes it before the
workers fork) and a scrape adds them up (the library's multiprocess mode). Gauges
about the data are read when scraped, from the database and the crawl records
(``ctforeclosure.ops.status.figures``; no push gateway): cases by status, changes
in the last day, each town's last successful crawl's age, the spool backlog, the
skip-trace budget left. Counts only: no names, no contacts.

It needs an API token with the ``admin`` scope, like ``/api/v1/status``.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from ctforeclosure import config
from ctforeclosure.ops import status
from ctforeclosure.services import tokens
from webui.db import get_conn, get_engine

REQUESTS = Counter(
    "ctf_http_requests", "Requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "ctf_http_request_duration_seconds", "Time to answer", ["method", "route"]
)
POOL_IN_USE = Gauge(
    "ctf_db_pool_checked_out",
    "Database connections in use",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge("ctf_db_pool_size", "Database pool size", multiprocess_mode="livesum")


def init_app(app: Flask) -> None:
    """Time every request and serve ``/metrics``."""
    app.before_request(_start)
    app.after_request(_observe)
    app.get("/metrics")(metrics)


def route_of() -> str:
    """Return the request's route pattern, never its values."""
    return request.url_rule.rule if request.url_rule else "unmatched"


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response):
    started = g.pop("metrics_started", None)
    if started is not None:
        route = route_of()
        LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        pool = get_engine().pool
        if hasattr(pool, "checkedout"):
            POOL_IN_USE.set(pool.checkedout())
            POOL_SIZE.set(pool.size())
    return response


def _refusal() -> tuple[dict, int] | None:
    """Refuse a request without a valid token holding the ``admin`` scope."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return {"error": "missing bearer token"}, 401
    bearer = tokens.verify_token(get_conn(), secret.strip())
    if bearer is None:
        return {"error": "invalid or revoked token"}, 401
    if "admin" not in bearer.scopes:
        return {
            "error": "this token lacks the admin scope",
            "missing_scope": "admin",
        }, 403
    return None


class DataCollector:
    """Gauges read from the database when scraped."""

    def __init__(self, cfg: config.Config, engine: sa.Engine):
        self.cfg, self.engine = cfg, engine

    def collect(self):
        up = GaugeMetricFamily("ctf_database_up", "The database answered this scrape")
        try:
            found = status.figures(self.cfg, self.engine)
        except sa.exc.SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _data_gauges(found)


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, value=value)


def _data_gauges(found: dict):
    cases = GaugeMetricFamily("ctf_cases", "Stored cases by status", labels=["status"])
    for state, count in found["cases"].items():
        cases.add_metric([state], count)
    yield cases
    yield _gauge(
        "ctf_changes_last_day",
        "Case changes found in the last 24 h",
        found["changes_last_day"],
    )
    age = GaugeMetricFamily(
        "ctf_town_last_crawl_age_seconds",
        "Seconds since each town's last successful cases crawl",
        labels=["town"],
    )
    for town in found["towns"]:
        if town["age_hours"] is not None:
            age.add_metric([town["town"]], town["age_hours"] * 3600)
    yield age
    yield _gauge(
        "ctf_towns_stale",
        "Towns not refreshed in time",
        sum(t["stale"] for t in found["towns"]),
    )
    yield _gauge(
        "ctf_spool_backlog_records",
        "Records waiting in the spool",
        found["spool_backlog"],
    )
    left = found["skiptrace"].get("left")
    if left is not None:
        yield _gauge(
            "ctf_skiptrace_budget_left_dollars", "Skip-trace monthly budget left", left
        )
    yield _gauge(
        "ctf_court_requests_last_hour",
        "Court requests of crawls that ended in the last hour",
        found["court_requests_last_hour"],
    )


def metrics():
    """Answer the Prometheus text format (admin token)."""
    refused = _refusal()
    if refused is not None:
        return refused
    cfg = config.load()
    data = CollectorRegistry(auto_describe=False)
    data.register(DataCollector(cfg, get_engine()))
    if cfg.metrics_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry) + generate_latest(data)
    current_app.logger.debug("metrics scraped")
    return Response(body, content_type=CONTENT_TYPE_LATEST)
