"""Crawl jobs under staff control: the filtered, paged jobs list and its CSV export,
and the manager actions on a job (retry, clone into the start form, cancel) and on
the kill switch (pause with a reason, resume), every action audited.

The list reads ``crawl_jobs`` (:mod:`ctforeclosure.jobs.crawl_jobs`), brought up to
date from scrapyd when the page is shown, so pending jobs (queued in scrapyd, no
crawl run yet) are there with their state, and so is who started each job. The API
(:mod:`webui.api.scraper`) shares the filter and the actions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from pydantic import Field

from ctforeclosure import config
from ctforeclosure.db import CRAWL_JOB_STATUSES
from ctforeclosure.jobs import crawl_jobs, scheduling
from ctforeclosure.jobs.scrapyd_api import ScrapydError
from ctforeclosure.services import audit
from ctforeclosure.store.site_budget import SiteBudget
from webui import params
from webui.auth import require_role
from webui.db import get_conn, get_engine, write
from webui.streaming import Ending, stream_export

bp = Blueprint("crawl_history", __name__, url_prefix="/crawls")

#: What a retry or a cancel can fail on, each shown to the user as is.
ACTION_ERRORS = (crawl_jobs.NotRetryable, scheduling.NoNodes, ScrapydError, ValueError)
EXPORT_HEADER = (
    "job_id",
    "status",
    "spider",
    "towns",
    "node",
    "started_by",
    "created_at",
    "started_at",
    "ended_at",
    "attempt",
    "retry_of",
    "failure_class",
    "failure_reason",
    "crawl_run_id",
    "outcome",
    "incomplete_towns",
)


class JobArgs(params.PageArgs):
    """The jobs list's filters (the page, the CSV export and the API)."""

    status: Literal[CRAWL_JOB_STATUSES] | None = Field(
        None, description="one of: " + ", ".join(CRAWL_JOB_STATUSES)
    )
    spider: params.text(32) = Field("", description="a spider name (cases, sales)")
    town: params.Town | None = Field(None, description="a Connecticut town")
    started_by: params.text(254) = Field(
        "", description="the email of the user who started the job"
    )
    created_from: params.Day = Field(None, description="a date, YYYY-MM-DD")
    created_to: params.Day = Field(None, description="a date, YYYY-MM-DD")


def job_filter(args) -> crawl_jobs.JobFilter:
    """Return the jobs filter read from query arguments (BadParameter if refused)."""
    parsed = params.parse(JobArgs, args)
    if (
        parsed.created_from
        and parsed.created_to
        and parsed.created_from > parsed.created_to
    ):
        raise params.BadParameter(
            "created_to", "a date, YYYY-MM-DD", "it is before created_from"
        )
    return crawl_jobs.JobFilter(
        status=parsed.status or "",
        spider=parsed.spider,
        town=parsed.town or "",
        started_by=parsed.started_by,
        created_from=parsed.created_from,
        created_to=parsed.created_to,
        page=parsed.page,
        per_page=parsed.per_page,
    )


def refresh_jobs() -> str | None:
    """Bring scrapyd's job states into the table; return why it could not, or None."""
    if not config.load().scrapyd_nodes:
        return "No scrapyd node is configured (SCRAPYD_NODES)."
    try:
        listing = scheduling.list_jobs(settled=crawl_jobs.settled(get_conn()))
    except (scheduling.NoNodes, ScrapydError) as exc:
        return str(exc)
    with write() as conn:
        crawl_jobs.sync(conn, listing)
    return None


def job_or_404(job_id: str):
    """Return a recorded job's row, or answer 404."""
    row = crawl_jobs.get(get_conn(), job_id)
    if row is None:
        abort(404)
    return row


def retry_job(job_id: str, user_id: int, actor: str) -> list[scheduling.ScheduledJob]:
    """Retry a failed or cancelled job as a new job; audit."""
    row = job_or_404(job_id)
    with write() as conn:
        jobs = crawl_jobs.retry(conn, row, user_id)
        audit.record(
            conn, actor, "crawl.retry", job_id, {"jobs": [j.job_id for j in jobs]}
        )
    return jobs


def cancel_job(job_id: str, actor: str) -> list[tuple[str, str]]:
    """Cancel a pending or running job; audit."""
    row = job_or_404(job_id)
    with write() as conn:
        done = crawl_jobs.cancel(conn, row)
        audit.record(
            conn, actor, "crawl.cancel", job_id, {"was": [state for _, state in done]}
        )
    return done


def set_paused(paused: bool, actor: str, reason: str | None = None) -> None:
    """Turn the kill switch on (with its reason) or off; audit."""
    budget = SiteBudget(get_engine())
    if paused:
        budget.pause(by=actor, reason=reason)
    else:
        budget.resume()
    with write() as conn:
        action = "crawl.pause" if paused else "crawl.resume"
        audit.record(conn, actor, action, None, {"reason": reason} if paused else None)


def _act(action, done, refused: str):
    """Run a job action; flash ``done(result)`` or why it was ``refused``; back."""
    try:
        result = action()
    except ACTION_ERRORS as exc:
        flash(f"{refused}: {exc}")
    else:
        flash(done(result))
    return redirect(url_for("crawls.index"))


@bp.post("/jobs/<job_id>/retry")
@require_role("manager")
def retry(job_id: str):
    """Post a failed or cancelled crawl again, as a new job."""
    return _act(
        lambda: retry_job(job_id, current_user.id, current_user.email),
        lambda jobs: f"Retried {job_id} as {', '.join(j.job_id for j in jobs)}",
        "Not retried",
    )


@bp.post("/jobs/<job_id>/cancel")
@require_role("manager")
def cancel(job_id: str):
    """Cancel a pending or running job."""
    return _act(
        lambda: cancel_job(job_id, current_user.email),
        lambda _: f"Cancelled {job_id}",
        "Not cancelled",
    )


@bp.get("/jobs/<job_id>/clone")
@require_role("manager")
def clone(job_id: str):
    """Open the start form with the job's spider, towns and arguments filled in."""
    job_or_404(job_id)
    return redirect(url_for("crawls.index", clone=job_id) + "#start-crawl")


@bp.post("/pause")
@require_role("manager")
def pause():
    """Turn the kill switch on: running crawls hold their requests to the court."""
    reason = params.parse(PauseBody, request.form).reason
    set_paused(True, current_user.email, reason)
    flash("Paused: crawls hold their requests to the court until resumed")
    return redirect(url_for("crawls.index"))


@bp.post("/resume")
@require_role("manager")
def resume():
    """Turn the kill switch off; held crawls continue."""
    set_paused(False, current_user.email)
    flash("Resumed")
    return redirect(url_for("crawls.index"))


class PauseBody(params.QueryArgs):
    """Why the crawls are paused (shown to everyone on every page)."""

    reason: params.text(200) = Field(
        ..., min_length=1, description="why, in at most 200 characters"
    )


@bp.get("/jobs.csv")
def export():
    """Download the filtered jobs list as CSV (audited)."""
    flt = job_filter(request.args)  # refused: the 400 page names the parameter
    actor, filters = current_user.email, request.args.to_dict()

    def audited(ending: Ending) -> None:
        with write() as conn:
            details = {"filters": filters, **ending.details()}
            audit.record(conn, actor, ending.action, "crawl_jobs.csv", details)

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return stream_export(
        "csv",
        f"crawl-jobs-{stamp}.csv",
        EXPORT_HEADER,
        _export_rows(flt),
        audit=audited,
        count=lambda: _count(flt),
        noun="jobs",
    )


def _export_rows(flt: crawl_jobs.JobFilter):
    with get_engine().connect() as conn:
        result = conn.execute(crawl_jobs.select_jobs(flt, paged=False))
        for row in result:
            yield (
                row.job_id,
                row.status,
                row.spider,
                ", ".join(row.towns or []) or "all towns",
                row.node,
                row.started_by_email,
                *(_naive(t) for t in (row.created_at, row.started_at, row.ended_at)),
                row.attempt,
                row.retry_of,
                row.failure_class,
                row.failure_reason,
                row.crawl_run_id,
                row.outcome,
                ", ".join(row.incomplete_towns or []),
            )


def _naive(moment: datetime | None) -> datetime | None:
    """A UTC time without its zone (what the export writer takes)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _count(flt: crawl_jobs.JobFilter) -> int:
    matching = crawl_jobs.select_jobs(flt, paged=False).order_by(None).subquery()
    return get_conn().execute(sa.select(sa.func.count()).select_from(matching)).scalar()
