"""API resource: crawls, started on the scrapyd nodes (managers), one crawl run's
record and the history of crawl runs."""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from flask import g, jsonify, request
from pydantic import Field, StrictStr
from werkzeug.datastructures import MultiDict

from ctforeclosure import towns as ct_towns
from ctforeclosure.db import crawl_runs
from ctforeclosure.jobs import scheduling
from ctforeclosure.jobs.scrapyd_api import ScrapydError
from webui import crawls as crawls_views
from webui import params
from webui.api.common import accepted, bp, error, page_of, require, row_dict, scope
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
        jobs = crawls_views.start_crawl(form, g.api_user.email)
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
    """Return the crawl run recorded for a scrapyd job id (or crawl id)."""
    where = crawl_runs.c.job_id == job_id
    # a crawl id is ASCII digits within the column's range ("²" is a digit too)
    if job_id.isascii() and job_id.isdigit() and int(job_id) <= params.MAX_ID:
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
    flt = params.parse(params.PageArgs, request.args)
    statement = sa.select(crawl_runs).order_by(crawl_runs.c.id.desc())
    rows = get_conn().execute(page_of(statement, flt)).all()
    return jsonify([row_dict(r, drop=("stats",)) for r in rows])
