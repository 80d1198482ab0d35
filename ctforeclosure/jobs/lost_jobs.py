"""Lost crawls: a crawl whose node died mid-job, found and its towns put back.

A scrapyd node that loses power or its network leaves its crawl run "running" for
ever, and its towns stale. A running crawl writes a heartbeat (``heartbeat_at``,
``ctforeclosure.extensions.heartbeat``) with the towns it has finished. :func:`detect`
(run by ``ctforeclosure jobs --retry-failed``, every 5 minutes) calls a run lost
when its heartbeat is older than ``CTF_CRAWL_LOST_MINUTES`` (default 10) and its
node does not answer, or answers without the job among its pending and running
ones. It alerts (``crawl_failed``, naming the towns); the run is recorded ``lost``
with its incomplete towns (its towns minus those it finished); its job in
``crawl_jobs`` is recorded failed, outcome ``lost``, a transient failure, so
:func:`ctforeclosure.jobs.auto_retry.retry_due` posts those towns at once on a node
that answers (a lost job's retry waits no delay: the threshold already waited), and
a lost job counts toward the retry limit like any failure.

What the dead crawl held needs nothing here: its site-budget lease expires on its
own (``store.site_budget``), and its spooled items, if its disk comes back, replay
idempotently (``ctforeclosure spool replay``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ctforeclosure import config, towns
from ctforeclosure.db import aware, crawl_jobs, crawl_runs
from ctforeclosure.jobs import scheduling
from ctforeclosure.jobs.auto_retry import PERMANENT, TRANSIENT
from ctforeclosure.jobs.scrapyd_api import ScrapydClient, ScrapydError
from ctforeclosure.services import alerts
from ctforeclosure.store import crawl_runs as runs_store

__all__ = ["LOST", "Lost", "detect"]

logger = logging.getLogger(__name__)

LOST = "lost"
#: Spider arguments that name the towns (kept in ``crawl_jobs.towns`` instead).
_TOWN_ARGS = ("town", "towns", "county")


@dataclass(frozen=True)
class Lost:
    """A crawl found lost: its run, job, node and the towns it did not finish."""

    run_id: int
    job_id: str
    node: str | None
    heartbeat_at: datetime
    incomplete_towns: list[str]


class _Nodes:
    """The jobs each scrapyd node has pending or running, asked once per node."""

    def __init__(self, cfg: config.Config, nodes: Iterable[str] | None):
        self.cfg = cfg
        self.nodes = [n.rstrip("/") for n in nodes or cfg.scrapyd_nodes]
        self.active: dict[str, set[str] | None] = {}  # None: it did not answer

    def runs(self, job_id: str, node: str | None) -> bool:
        """Return True when the node (any configured one if unknown) has the job."""
        urls = [node] if node else self.nodes
        return any(job_id in (self._active(url) or ()) for url in urls)

    def _active(self, url: str) -> set[str] | None:
        if url not in self.active:
            client = ScrapydClient.from_config(url, self.cfg)
            try:
                listing = client.list_jobs(scheduling.PROJECT)
            except ScrapydError as exc:
                logger.warning("node does not answer: %s", exc)
                self.active[url] = None
            else:
                jobs = listing.get("pending", []) + listing.get("running", [])
                self.active[url] = {entry["id"] for entry in jobs}
        return self.active[url]


def _stale_runs(conn: sa.Connection, cutoff: datetime) -> list:
    """Return the running scrapyd crawls whose last heartbeat is before ``cutoff``."""
    rows = conn.execute(
        sa.select(
            crawl_runs.c.id,
            crawl_runs.c.job_id,
            crawl_runs.c.spider,
            crawl_runs.c.args,
            crawl_runs.c.started_at,
            crawl_runs.c.heartbeat_at,
            crawl_runs.c.completed_towns,
            crawl_jobs.c.id.label("job_row"),
            crawl_jobs.c.node,
            crawl_jobs.c.towns,
        )
        .select_from(
            crawl_runs.outerjoin(crawl_jobs, crawl_jobs.c.job_id == crawl_runs.c.job_id)
        )
        .where(crawl_runs.c.status == "running", crawl_runs.c.job_id.is_not(None))
        .order_by(crawl_runs.c.id)
    ).all()
    return [r for r in rows if aware(r.heartbeat_at or r.started_at) < cutoff]


def run_towns(spider: str, job_towns: Iterable[str], args: dict) -> list[str]:
    """Return the towns a job crawls ([] for a one-job spider's "every town")."""
    names = [t for t in job_towns if t != "all"]
    if not names and not job_towns:
        names = [
            n for key in ("town", "towns") for n in (args.get(key) or "").split(",")
        ]
        names = [n.strip() for n in names if n.strip() and n.strip() != "all"]
        if args.get("county"):
            names = [t.name for t in towns.towns_in_county(args["county"])]
    if not names and spider not in scheduling.ONE_JOB_SPIDERS:
        names = [t.name for t in towns.all_towns()]
    return names


def detect(
    engine: sa.Engine,
    *,
    nodes: Iterable[str] | None = None,
    now: datetime | None = None,
    cfg: config.Config | None = None,
) -> list[Lost]:
    """Find the lost crawls, record them lost (run and job); return them.

    A job's node is the one recorded for it; a job never recorded is looked for on
    ``nodes`` (default ``SCRAPYD_NODES``).
    """
    cfg = cfg or config.load()
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(minutes=cfg.crawl_lost_minutes)
    with engine.connect() as conn:
        stale = _stale_runs(conn, cutoff)
    answers = _Nodes(cfg, nodes)
    lost = []
    for run in stale:
        if answers.runs(run.job_id, run.node):
            continue  # quiet, not lost: its node still runs it
        job_towns = run.towns if run.job_row is not None else []
        done = set(run.completed_towns or ())
        wanted = run_towns(run.spider, job_towns, dict(run.args or {}))
        incomplete = [t for t in wanted if t not in done]
        with engine.begin() as conn:
            if not runs_store.mark_lost(conn, run.id, incomplete):
                continue  # it closed meanwhile
            _record_job_lost(conn, run, now, wanted, incomplete)
        heartbeat = aware(run.heartbeat_at or run.started_at)
        lost.append(Lost(run.id, run.job_id, run.node, heartbeat, incomplete))
        alerts.crawl_failed(
            spider=run.spider,
            reason=f"lost: no heartbeat since {heartbeat:%Y-%m-%d %H:%M} UTC",
            job_id=run.job_id,
            node=run.node,
            towns=", ".join(incomplete) or None,
        )
        logger.warning(
            "crawl run #%s (job %s) lost: no heartbeat since %s; %d town(s) to redo",
            run.id,
            run.job_id,
            f"{heartbeat:%Y-%m-%d %H:%M:%S}",
            len(incomplete),
        )
    return lost


def _record_job_lost(conn, run, now: datetime, wanted, incomplete) -> None:
    """Record the run's job failed, outcome lost (a row first if none was synced)."""
    heartbeat = aware(run.heartbeat_at or run.started_at)
    reason = f"lost: no heartbeat since {heartbeat:%Y-%m-%d %H:%M} UTC"
    kind = TRANSIENT
    if wanted and not incomplete:
        reason += "; every town was done, nothing to run again"
        kind = PERMANENT
    values = {
        "status": "failed",
        "ended_at": now,
        "outcome": LOST,
        "incomplete_towns": incomplete,
        "failure_reason": reason[: scheduling.MAX_REASON],
        "failure_class": kind,
    }
    if run.job_row is None:  # posted and lost between two syncs
        args = {k: v for k, v in dict(run.args or {}).items() if k not in _TOWN_ARGS}
        conn.execute(
            crawl_jobs.insert().values(
                job_id=run.job_id,
                spider=run.spider,
                towns=wanted,
                args=args,
                created_at=aware(run.started_at),
                started_at=aware(run.started_at),
                **values,
            )
        )
        return
    conn.execute(
        crawl_jobs.update().where(crawl_jobs.c.id == run.job_row).values(**values)
    )
