"""Crawl jobs as staff see them: every scrapyd job, who started it, and its state.

scrapyd forgets, lists a crashed job as "finished", and would show a job's arguments
to anyone with its password; so the ``crawl_jobs`` table (migration 0018) keeps each
job posted (by the web UI, the API or the CLI) with the user who started it, and
:func:`sync` brings the states in from scrapyd's ``listjobs.json`` (pending jobs
included, jobs found on a node recorded too) and from the job's crawl run record.
The web UI, the API and ``ctforeclosure jobs`` read it through :func:`select_jobs`.

:func:`retry` and :func:`cancel` are the staff actions on one job; whether a failed
job is retried by itself is :mod:`ctforeclosure.jobs.auto_retry`'s decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from ctforeclosure.db import CRAWL_JOB_STATUSES, aware, crawl_jobs, crawl_runs, users
from ctforeclosure.jobs import auto_retry, scheduling

__all__ = [
    "ACTIVE",
    "JobFilter",
    "NotRetryable",
    "cancel",
    "failure_of",
    "get",
    "record",
    "retry",
    "select_jobs",
    "settled",
    "sync",
]

STATUSES = CRAWL_JOB_STATUSES
#: States scrapyd may still change (and a cancel can stop).
ACTIVE = ("pending", "running")
#: A job's states that nothing changes any more.
FINAL = ("finished", "failed", "cancelled")
#: States a staff retry starts again from.
RETRYABLE = ("failed", "cancelled")


class NotRetryable(ValueError):
    """A job that cannot be retried or cancelled in its state (the message says)."""


@dataclass(frozen=True)
class JobFilter:
    """The jobs list's filters; empty values filter nothing."""

    status: str = ""
    spider: str = ""
    town: str = ""
    started_by: str = ""  # a user's email
    created_from: date | None = None
    created_to: date | None = None
    page: int = 1
    per_page: int = 50


def record(
    conn: sa.Connection,
    scheduled: Iterable[scheduling.ScheduledJob],
    *,
    spider: str,
    args: Mapping[str, str] | None = None,
    started_by: int | None = None,
    retry_of: str | None = None,
    attempt: int = 1,
) -> None:
    """Record jobs just posted to scrapyd as pending, with who started them."""
    now = datetime.now(UTC)
    for job in scheduled:
        conn.execute(
            crawl_jobs.insert().values(
                job_id=job.job_id,
                node=job.node,
                spider=spider,
                towns=list(job.towns),
                args=dict(args or {}),
                started_by=started_by,
                status="pending",
                created_at=now,
                retry_of=retry_of,
                attempt=attempt,
            )
        )


def get(conn: sa.Connection, job_id: str):
    """Return one job's row (with ``started_by_email``), or None."""
    return conn.execute(_listing().where(crawl_jobs.c.job_id == job_id)).first()


def _listing() -> sa.Select:
    return sa.select(
        crawl_jobs,
        users.c.email.label("started_by_email"),
        crawl_runs.c.id.label("crawl_run_id"),
    ).select_from(
        crawl_jobs.outerjoin(users, users.c.id == crawl_jobs.c.started_by).outerjoin(
            crawl_runs, crawl_runs.c.job_id == crawl_jobs.c.job_id
        )
    )


def select_jobs(flt: JobFilter, *, paged: bool = True) -> sa.Select:
    """Return the jobs matching the filter, newest first (one page unless not)."""
    statement = _listing().order_by(
        crawl_jobs.c.created_at.desc(), crawl_jobs.c.id.desc()
    )
    if flt.status:
        statement = statement.where(crawl_jobs.c.status == flt.status)
    if flt.spider:
        statement = statement.where(crawl_jobs.c.spider == flt.spider)
    if flt.town:
        # the towns JSON's text holds the name quoted; [] is every town
        towns = sa.cast(crawl_jobs.c.towns, sa.Text)
        statement = statement.where(
            sa.or_(towns.like(f'%"{flt.town}"%'), towns == "[]")
        )
    if flt.started_by:
        statement = statement.where(users.c.email == flt.started_by)
    if flt.created_from:
        statement = statement.where(
            crawl_jobs.c.created_at >= _midnight(flt.created_from)
        )
    if flt.created_to:
        statement = statement.where(
            crawl_jobs.c.created_at < _midnight(flt.created_to + timedelta(days=1))
        )
    if paged:
        statement = statement.limit(flt.per_page).offset((flt.page - 1) * flt.per_page)
    return statement


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _moment(text: str | None) -> datetime | None:
    """Read a scrapyd time ("2026-12-04 13:50:01.123456", the node's UTC clock)."""
    if not text:
        return None
    try:
        return aware(datetime.fromisoformat(text))
    except ValueError:
        return None


def failure_of(job: scheduling.Job, run) -> str | None:
    """Return why a job that ended failed, or None if it did not.

    A job fails when scrapyd's log says so (a crash, a finish reason other than
    "finished", critical errors), its crawl run says ``failed`` or ``partial``
    (some towns not complete), or a check of its run failed (a site that never
    answered still "finishes").
    """
    if job.state == "failed":
        return job.reason or "failed"
    if run is None:
        if job.outcome == "partial":  # no database: its log says so
            towns = ", ".join(job.incomplete_towns)
            return f"partial: towns not complete: {towns}"[: scheduling.MAX_REASON]
        return None
    if run.status == "failed" or run.outcome == "failed":  # spooled, yet failed
        return f"finish_reason {run.finish_reason}"
    if run.outcome == "partial":
        towns = ", ".join(run.incomplete_towns or ())
        return f"partial: towns not complete: {towns}"[: scheduling.MAX_REASON]
    failed = [
        c.get("message") or c.get("name")
        for c in run.checks or ()
        if not c.get("passed")
    ]
    return (
        ("failed checks: " + "; ".join(failed))[: scheduling.MAX_REASON]
        if failed
        else None
    )


def settled(conn: sa.Connection) -> set[str]:
    """Return the ids of jobs whose outcome is recorded (their logs need no reading)."""
    final = crawl_jobs.c.status.in_(FINAL)
    return set(conn.execute(sa.select(crawl_jobs.c.job_id).where(final)).scalars())


def sync(conn: sa.Connection, listing: Iterable[scheduling.Job]) -> int:
    """Bring scrapyd's view of the jobs into ``crawl_jobs``; return rows changed.

    Jobs found on a node that are not recorded yet (posted by hand, or by a
    routine) are recorded without a user. A cancelled job stays cancelled.
    """
    jobs = list(listing)
    c = crawl_jobs.c
    ids = [job.job_id for job in jobs]
    rows = {
        r.job_id: r
        for r in conn.execute(sa.select(crawl_jobs).where(c.job_id.in_(ids)))
    }
    # a job whose outcome is recorded needs no crawl run: scrapyd knows no more
    open_ids = [i for i in ids if i not in rows or rows[i].status not in FINAL]
    runs = {
        r.job_id: r
        for r in conn.execute(
            sa.select(crawl_runs).where(crawl_runs.c.job_id.in_(open_ids))
        )
    }
    changed = 0
    for job in jobs:
        row, run = rows.get(job.job_id), runs.get(job.job_id)
        if row is not None and row.status in FINAL:
            continue  # final: scrapyd keeps no more than the record has
        values = _state_values(job, run)
        if row is None:
            try:
                with conn.begin_nested():  # another sync may record it first
                    conn.execute(crawl_jobs.insert().values(**values, **_found(job)))
            except sa.exc.IntegrityError:
                continue
        elif any(getattr(row, k) != v for k, v in values.items()):
            conn.execute(
                crawl_jobs.update().where(crawl_jobs.c.id == row.id).values(**values)
            )
        else:
            continue
        changed += 1
    return changed


def _state_values(job: scheduling.Job, run) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": job.state,
        "started_at": _moment(job.start_time),
        "ended_at": _moment(job.end_time),
    }
    if run is not None and run.outcome is not None:
        values["outcome"] = run.outcome
        values["incomplete_towns"] = list(run.incomplete_towns or ())
    if job.state in ("finished", "failed"):
        reason = failure_of(job, run)
        values["status"] = "failed" if reason else "finished"
        if reason:
            kind = auto_retry.classify(run, reason)
            values["failure_reason"] = reason[: scheduling.MAX_REASON]
            values["failure_class"] = kind.kind
    return values


def _found(job: scheduling.Job) -> dict[str, Any]:
    """Return the columns of a job found on a node (its town arguments read back)."""
    args = dict(job.args)
    towns = [args.pop("town")] if "town" in args else []
    if "towns" in args:
        towns = [t for t in args.pop("towns").split(",") if t]
    args.pop("_job", None)
    return {
        "job_id": job.job_id,
        "node": job.node,
        "spider": job.spider,
        "towns": towns,
        "args": args,
        "created_at": _moment(job.start_time) or datetime.now(UTC),
    }


def retry(
    conn: sa.Connection, row, started_by: int | None
) -> list[scheduling.ScheduledJob]:
    """Post a failed or cancelled job again (same spider, towns, arguments); record it.


    A partial or lost job posts only its incomplete towns. Raises
    :class:`NotRetryable` for a job in another state, and whatever
    :func:`scheduling.schedule` raises (no node, a node refusing).
    """
    if row.status not in RETRYABLE:
        raise NotRetryable(
            f"job {row.job_id} is {row.status}: "
            "only a failed or cancelled job is retried"
        )
    towns = list(row.towns or [])
    if row.outcome in ("partial", "lost") and row.incomplete_towns:
        towns = list(row.incomplete_towns)
    jobs = scheduling.schedule(
        towns=towns or None,
        all_towns=not towns,
        spider=row.spider,
        extra_args=dict(row.args or {}),
        batch_size=max(len(towns), 1),
    )
    record(
        conn,
        jobs,
        spider=row.spider,
        args=row.args,
        started_by=started_by,
        retry_of=row.job_id,
        attempt=row.attempt + 1,
    )
    return jobs


def cancel(conn: sa.Connection, row) -> list[tuple[str, str]]:
    """Cancel a pending or running job on its node; record it cancelled."""
    if row.status not in ACTIVE:
        raise NotRetryable(
            f"job {row.job_id} is {row.status}: "
            "only a pending or running job is cancelled"
        )
    done = scheduling.cancel(row.job_id, row.node)
    if not done:
        raise NotRetryable(
            f"job {row.job_id} is no longer pending or running on {row.node}"
        )
    record_cancelled(conn, row.job_id)
    return done


def record_cancelled(conn: sa.Connection, job_id: str) -> None:
    """Record a job cancelled (by the web UI, the API or the CLI), so the sync that
    later finds it among scrapyd's finished jobs keeps it cancelled: not failed,
    and never retried."""
    conn.execute(
        crawl_jobs.update()
        .where(crawl_jobs.c.job_id == job_id, crawl_jobs.c.status.in_(ACTIVE))
        .values(status="cancelled", ended_at=datetime.now(UTC))
    )
