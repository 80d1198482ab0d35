"""Crawls: recorded crawl runs, scrapyd jobs, and starting a crawl (manager and up).

Starting a crawl and listing jobs go through :mod:`ctforeclosure.jobs.scheduling`, the
same code the CLI uses; the web UI never talks to scrapyd on its own.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ctforeclosure import config
from ctforeclosure import towns as ct_towns
from ctforeclosure.db import crawl_runs
from ctforeclosure.jobs import scheduling
from ctforeclosure.jobs.scrapyd_api import ScrapydError
from ctforeclosure.services import audit
from webui.auth import require_role
from webui.db import get_conn, write

bp = Blueprint("crawls", __name__, url_prefix="/crawls")

#: What a crawl start can fail on, each shown to the user as is (no data in them).
START_ERRORS = (
    scheduling.NoNodes,
    ScrapydError,
    ct_towns.UnknownTown,
    ct_towns.UnknownCounty,
    ValueError,
)


def scrapyd_jobs() -> tuple[list, str | None]:
    """Return scrapyd's jobs, or an explanation of why there are none to show."""
    if not config.load().scrapyd_nodes:
        return [], "No scrapyd node is configured (SCRAPYD_NODES)."
    try:
        return scheduling.list_jobs(), None
    except (scheduling.NoNodes, ScrapydError) as exc:
        return [], str(exc)


def start_crawl(form, actor: str) -> list[scheduling.ScheduledJob]:
    """Schedule a crawl for the town, county or all towns named in the form; audit."""
    scope = form.get("scope", "town")
    if scope == "all":
        kwargs, target = {"all_towns": True}, "all towns"
    elif scope == "county":
        county = ct_towns.canonical_county(form.get("county", ""))
        kwargs, target = {"county": county}, f"{county} County"
    else:
        town = ct_towns.canonical(form.get("town", "")).name
        kwargs, target = {"towns": [town]}, town
    jobs = scheduling.schedule(**kwargs)
    with write() as conn:
        audit.record(
            conn,
            actor,
            "crawl.start",
            target,
            {"jobs": [j.job_id for j in jobs], "nodes": sorted({j.node for j in jobs})},
        )
    return jobs


@bp.get("/")
def index():
    """List crawl runs and scrapyd jobs, newest first."""
    crawls = (
        get_conn()
        .execute(sa.select(crawl_runs).order_by(crawl_runs.c.id.desc()).limit(100))
        .all()
    )
    jobs, jobs_problem = scrapyd_jobs()
    return render_template(
        "crawls/index.html",
        crawls=crawls,
        jobs=jobs,
        jobs_problem=jobs_problem,
        counties=ct_towns.counties(),
        town_names=[t.name for t in ct_towns.all_towns()],
    )


@bp.get("/<int:crawl_id>")
def detail(crawl_id: int):
    """Show one crawl run: counts, errors, checks and notes."""
    run = (
        get_conn()
        .execute(sa.select(crawl_runs).where(crawl_runs.c.id == crawl_id))
        .first()
    )
    if run is None:
        abort(404)
    return render_template("crawls/detail.html", run=run)


@bp.post("/start")
@require_role("manager")
def start():
    """Start a crawl for a town, a county or all towns."""
    try:
        jobs = start_crawl(request.form, current_user.email)
    except START_ERRORS as exc:
        flash(f"Crawl not started: {exc}")
        return redirect(url_for("crawls.index"))
    flash(f"Started {len(jobs)} crawl job(s): {', '.join(j.job_id for j in jobs)}")
    return redirect(url_for("crawls.index"))
