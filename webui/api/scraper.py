"""API resource: crawls, started on the scrapyd nodes (managers), one crawl run's
record and the history of crawl runs."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, jsonify, request
from werkzeug.datastructures import MultiDict

from ctforeclosure.db import crawl_runs
from ctforeclosure.jobs import scheduling
from ctforeclosure.jobs.scrapyd_api import ScrapydError
from webui import crawls as crawls_views
from webui import queries
from webui.api.common import accepted, bp, error, page_of, require, row_dict, scope
from webui.db import get_conn


@bp.post("/scraper/scrape")
@scope("crawl")
def scraper_scrape():
    """Start a crawl: ``{"scope": "town"|"county"|"all", "town"|"county": ...}``."""
    require("manager")
    body = request.get_json(silent=True) or {}
    form = MultiDict(
        {k: str(v) for k, v in body.items() if k in ("scope", "town", "county")}
    )
    try:
        jobs = crawls_views.start_crawl(form, g.api_user.email)
    except crawls_views.START_ERRORS as exc:
        status = 503 if isinstance(exc, (scheduling.NoNodes, ScrapydError)) else 400
        return error(status, str(exc))
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
    """Return the crawl run recorded for a scrapyd job id (or crawl id)."""
    where = crawl_runs.c.job_id == job_id
    if job_id.isdigit():
        where = sa.or_(where, crawl_runs.c.id == int(job_id))
    row = (
        get_conn()
        .execute(sa.select(crawl_runs).where(where).order_by(crawl_runs.c.id.desc()))
        .first()
    )
    if row is None:
        return error(404, f"no crawl run recorded for job {job_id}")
    return jsonify(row_dict(row))


@bp.get("/scraper/history")
@scope("read")
def scraper_history():
    """List crawl runs, newest first."""
    flt = queries.CaseFilter.from_args(request.args)
    statement = sa.select(crawl_runs).order_by(crawl_runs.c.id.desc())
    rows = get_conn().execute(page_of(statement, flt)).all()
    return jsonify([row_dict(r, drop=("stats",)) for r in rows])
