"""API resource: crawls, started on the scrapyd nodes (managers), one job's or crawl
run's state, the jobs' history with its filters, and the managers' actions: retry
or cancel a job, pause or resume every crawl (the kill switch). The actions are the
web UI's (:mod:`webui.crawl_history`), audited the same way."""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from flask import g, jsonify, request
from pydantic import Field, StrictStr
from werkzeug.datastructures import MultiDict

from ctforeclosure import towns as ct_towns
from ctforeclosure.db import crawl_runs
from ctforeclosure.jobs import crawl_jobs, scheduling
from ctforeclosure.jobs.scrapyd_api import ScrapydError
from webui import crawl_history, params
from webui import crawls as crawls_views
from webui.api.common import accepted, bp, error, require, row_dict, scope
from webui.db import get_conn


class ScrapeBody(params.JsonBody):
    """The body of ``POST /scraper/scrape``."""

    scope: Literal["town", "county", "all"] = Field(
        "town", description="town | county | all"
    )
    town: StrictStr = Field("", description="a Connecticut town, with scope town")
    county: StrictStr = Field("", description="a Connecticut county, with scope county")


#: The parameter a refused crawl start names.
_REFUSED_PARAMETER = {ct_towns.UnknownTown: "town", ct_towns.UnknownCounty: "county"}


@bp.post("/scraper/scrape")
@scope("crawl")
def scraper_scrape():
    """Start a crawl: ``{"scope": "town"|"county"|"all", "town"|"county": ...}``."""
    require("manager")
    form = MultiDict(params.json_body(ScrapeBody).model_dump())
    try:
        jobs = crawls_views.start_crawl(form, g.api_user.email, g.api_user.id)
    except (scheduling.NoNodes, ScrapydError) as exc:
        return error(503, str(exc))
    except crawls_views.START_ERRORS as exc:
        name = _REFUSED_PARAMETER.get(type(exc))
        return error(400, str(exc), **({"parameter": name} if name else {}))
    return accepted(
        {
            "jobs": [
                {"job_id": j.job_id, "node": j.node, "towns": list(j.towns)}
                for j in jobs
            ]
        }
    )


@bp.get("/scraper/status/<job_id>")
@scope("read")
def scraper_status(job_id: str):
    """Return the crawl run recorded for a scrapyd job id (or crawl id), or the
    job's state while it has none (pending in scrapyd)."""
    where = crawl_runs.c.job_id == job_id
    # a crawl id is ASCII digits within the column's range ("²" is a digit too)
    if job_id.isascii() and job_id.isdigit() and int(job_id) <= params.MAX_ID:
        where = sa.or_(where, crawl_runs.c.id == int(job_id))
    row = (
        get_conn()
        .execute(sa.select(crawl_runs).where(where).order_by(crawl_runs.c.id.desc()))
        .first()
    )
    if row is not None:
        return jsonify(row_dict(row))
    job = crawl_jobs.get(get_conn(), job_id)
    if job is None and crawl_history.refresh_jobs() is None:
        job = crawl_jobs.get(get_conn(), job_id)  # posted elsewhere, just found
    if job is None:
        return error(404, f"no crawl run or job recorded for job {job_id}")
    return jsonify(job_json(job))


def job_json(row) -> dict:
    """Return a crawl job as the API shows it."""
    return row_dict(row, drop=("id", "started_by")) | {
        "started_by": row.started_by_email
    }


@bp.get("/scraper/history")
@scope("read")
def scraper_history():
    """List crawl jobs, newest first, filtered by status, spider, town, who started
    them and creation date."""
    flt = crawl_history.job_filter(request.args)
    rows = get_conn().execute(crawl_jobs.select_jobs(flt)).all()
    return jsonify([job_json(r) for r in rows])


def _action_error(exc: Exception):
    if isinstance(exc, scheduling.NoNodes | ScrapydError):
        return error(503, str(exc))
    if isinstance(exc, crawl_jobs.NotRetryable):
        return error(409, str(exc))
    return error(400, str(exc))


@bp.post("/scraper/jobs/<job_id>/retry")
@scope("crawl")
def scraper_retry(job_id: str):
    """Post a failed or cancelled job again (same spider, towns, arguments)."""
    require("manager")
    try:
        jobs = crawl_history.retry_job(job_id, g.api_user.id, g.api_user.email)
    except crawl_history.ACTION_ERRORS as exc:
        return _action_error(exc)
    return accepted(
        {
            "retry_of": job_id,
            "jobs": [{"job_id": j.job_id, "node": j.node} for j in jobs],
        }
    )


@bp.post("/scraper/jobs/<job_id>/cancel")
@scope("crawl")
def scraper_cancel(job_id: str):
    """Cancel a pending or running job."""
    require("manager")
    try:
        done = crawl_history.cancel_job(job_id, g.api_user.email)
    except crawl_history.ACTION_ERRORS as exc:
        return _action_error(exc)
    return jsonify({"job_id": job_id, "was": [state for _, state in done]})


class PauseBody(params.JsonBody):
    """The body of ``POST /scraper/pause``."""

    reason: params.text(200) = Field(
        ..., min_length=1, description="why, in at most 200 characters"
    )


@bp.post("/scraper/pause")
@scope("crawl")
def scraper_pause():
    """Turn the kill switch on: running crawls hold their requests to the court."""
    require("manager")
    reason = params.json_body(PauseBody).reason
    crawl_history.set_paused(True, g.api_user.email, reason)
    return jsonify({"paused": True, "reason": reason})


@bp.post("/scraper/resume")
@scope("crawl")
def scraper_resume():
    """Turn the kill switch off; held crawls continue."""
    require("manager")
    crawl_history.set_paused(False, g.api_user.email)
    return jsonify({"paused": False, "reason": None})
