"""Automatic retry of failed crawls: transient failures again, permanent ones never.

A crawl that failed because the court's site could not be reached, the database
was unavailable, or the network failed is worth running again later; one refused
by robots.txt, answered 403 or 429 by the court, started with a bad argument, or
stopped by a layout change would fail the same way, and hammering the court with
it is what its staff would notice. :func:`classify` reads a failed job's crawl run
record (its Scrapy stats) or, for a job that crashed before a run was recorded,
scrapyd's failure reason. :func:`decide` says whether and when a failed job is
retried: at most :data:`MAX_RETRIES` times, :data:`DELAYS` after each failure,
never while the kill switch is on. A partial crawl (some towns not complete) is
transient, and so is a lost one (:mod:`ctforeclosure.jobs.lost_jobs`, retried at
once): their retries post only the incomplete towns. ``ctforeclosure jobs
--retry-failed`` (a timer and a cron line in ``deploy/``, every 5 minutes) finds the
lost crawls, then runs :func:`retry_due`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ctforeclosure.db import aware, crawl_jobs

__all__ = [
    "DELAYS",
    "MAX_RETRIES",
    "Decision",
    "Failure",
    "classify",
    "decide",
    "retry_due",
]

#: Minutes after the failure of attempt 1, 2, 3 that its retry is posted.
DELAYS = (timedelta(minutes=5), timedelta(minutes=25), timedelta(minutes=125))
MAX_RETRIES = len(DELAYS)
#: Network errors (per crawl) above which a crawl's failure counts as the network's.
NETWORK_ERROR_THRESHOLD = 0
TRANSIENT = "transient"
PERMANENT = "permanent"

#: Failure reasons (scrapyd's, for a job without a crawl run) that are transient.
_TRANSIENT_REASON = re.compile(
    r"database_unavailable|site_budget_unavailable|OperationalError|InterfaceError|"
    r"could not connect|Connection refused|ConnectionRefused|TimeoutError|"
    r"DNSLookupError",
    re.I,
)
#: ... and that are a bad argument: the same job would crash the same way.
_ARGUMENT_REASON = re.compile(
    r"UnknownTown|UnknownCounty|UsageError|ValueError|TypeError|KeyError|argument",
    re.I,
)


@dataclass(frozen=True)
class Failure:
    """Whether a failure is ``transient`` or ``permanent``, and why."""

    kind: str
    why: str


@dataclass(frozen=True)
class Decision:
    """Whether a failed job is retried now, and why (or why not, or when)."""

    retry: bool
    why: str
    due_at: datetime | None = None


def _stat(stats: dict, key: str) -> int:
    value = stats.get(key) or 0
    return int(value) if isinstance(value, int | float) else 0


def classify(run, reason: str | None) -> Failure:
    """Return whether a failed crawl is worth retrying, from its run and reason.

    ``run`` is the job's ``crawl_runs`` row (None when the job crashed before one
    was written); ``reason`` is the failure reason recorded for the job.
    """
    stats = dict(run.stats or {}) if run is not None else {}
    for status in (403, 429):
        if _stat(stats, f"downloader/response_status_count/{status}"):
            return Failure(PERMANENT, f"the court answered {status}: not retried")
    finish_reason = (run.finish_reason if run is not None else None) or ""
    if finish_reason == "robots_forbidden" or _stat(stats, "ctf/robots_forbidden"):
        return Failure(PERMANENT, "robots.txt refuses the crawl: not retried")
    if finish_reason == "database_unavailable" or (
        reason and _TRANSIENT_REASON.search(reason)
    ):
        return Failure(TRANSIENT, "the database or the site was unavailable")
    errors = dict(run.errors or {}) if run is not None else {}
    if errors.get("network", 0) > NETWORK_ERROR_THRESHOLD:
        return Failure(
            TRANSIENT, f"{errors['network']} network error(s): the site unreachable"
        )
    if errors.get("parsing", 0):
        return Failure(PERMANENT, "pages did not parse (a layout change?): not retried")
    if run is not None and run.outcome == "partial":
        count = len(run.incomplete_towns or ())
        return Failure(TRANSIENT, f"{count} town(s) not complete: those run again")
    if run is None and reason and _ARGUMENT_REASON.search(reason):
        return Failure(PERMANENT, "a bad argument: the job would crash again")
    return Failure(PERMANENT, "no transient cause found: look at the log; not retried")


def decide(row, *, paused: bool, now: datetime) -> Decision:
    """Return whether the failed job ``row`` (a ``crawl_jobs`` row) is retried now."""
    if row.failure_class != TRANSIENT:
        return Decision(False, row.failure_reason or "not a transient failure")
    if row.attempt > MAX_RETRIES:
        return Decision(False, f"failed {row.attempt} times: no more automatic retries")
    # A lost job waited its threshold (CTF_CRAWL_LOST_MINUTES) already: no delay.
    delay = timedelta(0) if row.outcome == "lost" else DELAYS[row.attempt - 1]
    due = (aware(row.ended_at) or aware(row.created_at)) + delay
    if paused:
        return Decision(False, "the kill switch is on", due)
    if now < due:
        return Decision(False, f"retry due at {due:%Y-%m-%d %H:%M} UTC", due)
    return Decision(True, f"attempt {row.attempt + 1} of {MAX_RETRIES + 1}", due)


def retry_due(engine: sa.Engine, *, paused: bool, now: datetime | None = None) -> list:
    """Retry every failed job whose transient failure's delay has passed.

    Returns ``[(row, decision, new job ids)]`` for every transiently failed job
    not yet retried and with retries left (the others never will be: the query
    leaves them out rather than judge the whole history every 5 minutes). A job
    retried once is never retried again from the same row (its retry, a new job,
    carries the next attempt).
    """
    from ctforeclosure.jobs import crawl_jobs as jobs_store

    now = now or datetime.now(UTC)
    retried = sa.select(crawl_jobs.c.retry_of).where(crawl_jobs.c.retry_of.is_not(None))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(crawl_jobs)
            .where(
                crawl_jobs.c.status == "failed",
                crawl_jobs.c.failure_class == TRANSIENT,
                crawl_jobs.c.attempt <= MAX_RETRIES,
                crawl_jobs.c.job_id.not_in(retried),
            )
            .order_by(crawl_jobs.c.id)
        ).all()
    outcome = []
    for row in rows:
        decision = decide(row, paused=paused, now=now)
        posted: list[str] = []
        if decision.retry:
            with engine.begin() as conn:
                posted = [j.job_id for j in jobs_store.retry(conn, row, None)]
        outcome.append((row, decision, posted))
    return outcome
