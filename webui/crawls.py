"""Crawls: the crawl jobs and runs, one run's report, and starting a crawl (manager
and up; a cloned job's spider, towns and arguments fill the start form in).

Starting a crawl and listing jobs go through :mod:`ctforeclosure.jobs.scheduling`, the
same code the CLI uses; the web UI never talks to scrapyd on its own.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ctforeclosure import towns as ct_towns
from ctforeclosure.db import crawl_runs
from ctforeclosure.jobs import crawl_jobs, scheduling
from ctforeclosure.jobs.scrapyd_api import ScrapydError
from ctforeclosure.services import audit
from webui import crawl_history, crawl_report
from webui.auth import require_role
from webui.db import get_conn, write

bp = Blueprint("crawls", __name__, url_prefix="/crawls")

#: The crawls page reloads itself this often (seconds) while a job or run is active.
REFRESH_SECONDS = 15

#: What a crawl start can fail on, each shown to the user as is (no data in them).
START_ERRORS = (
    scheduling.NoNodes,
    ScrapydError,
    ct_towns.UnknownTown,
    ct_towns.UnknownCounty,
    ValueError,
)


#: The spiders the start form offers.
SPIDERS = ("cases", "sales")


def _extra_args(text: str) -> dict[str, str]:
    """Read the form's "NAME=VALUE" arguments (spaces or commas between them)."""
    pairs = {}
    for item in text.replace(",", " ").split():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"argument {item!r} is not NAME=VALUE")
        if name in ("town", "towns", "county"):
            raise ValueError(f"argument {name}: choose towns with the scope")
        pairs[name] = value
    return pairs


def start_crawl(form, actor: str, user_id: int | None = None):
    """Schedule a crawl for the town(s), county or all towns in the form; record
    the jobs with who started them; audit."""
    scope = form.get("scope", "town")
    spider = form.get("spider") or "cases"
    if spider not in SPIDERS:
        raise ValueError(f"spider {spider!r}: one of {', '.join(SPIDERS)}")
    extra = _extra_args(form.get("args", ""))
    if scope == "all":
        kwargs, target = {"all_towns": True}, "all towns"
    elif scope == "county":
        county = ct_towns.canonical_county(form.get("county", ""))
        kwargs, target = {"county": county}, f"{county} County"
    else:
        names = [n for n in form.get("town", "").split(",") if n.strip()] or [""]
        chosen = [ct_towns.canonical(n).name for n in names]
        kwargs, target = {"towns": chosen}, ", ".join(chosen)
    jobs = scheduling.schedule(**kwargs, spider=spider, extra_args=extra)
    with write() as conn:
        crawl_jobs.record(conn, jobs, spider=spider, args=extra, started_by=user_id)
        audit.record(
            conn,
            actor,
            "crawl.start",
            target,
            {"jobs": [j.job_id for j in jobs], "nodes": sorted({j.node for j in jobs})},
        )
    return jobs


def _clone_form(job_id: str | None) -> dict:
    """Return the start form's values: a cloned job's, or the defaults."""
    row = crawl_jobs.get(get_conn(), job_id) if job_id else None
    if row is None:
        return {"scope": "town", "spider": "cases", "town": "", "args": ""}
    towns = list(row.towns or [])
    return {
        "scope": "town" if towns else "all",
        "spider": row.spider,
        "town": ", ".join(towns),
        "args": " ".join(f"{k}={v}" for k, v in (row.args or {}).items()),
        "from": row.job_id,
    }


@bp.get("/")
def index():
    """List the crawl jobs (filtered, paged) and the recent crawl runs."""
    flt = crawl_history.job_filter(request.args)
    jobs_problem = crawl_history.refresh_jobs()
    conn = get_conn()
    jobs = conn.execute(crawl_jobs.select_jobs(flt)).all()
    crawls = conn.execute(
        sa.select(crawl_runs).order_by(crawl_runs.c.id.desc()).limit(100)
    ).all()
    active = any(j.status in crawl_jobs.ACTIVE for j in jobs) or any(
        r.status == "running" for r in crawls
    )
    return render_template(
        "crawls/index.html",
        crawls=crawls,
        jobs=jobs,
        flt=flt,
        statuses=crawl_jobs.STATUSES,
        jobs_problem=jobs_problem,
        refresh=REFRESH_SECONDS if active else None,
        start=_clone_form(request.args.get("clone")),
        spiders=SPIDERS,
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
    return render_template(
        "crawls/detail.html",
        run=run,
        towns=crawl_report.town_rows(run.town_counts),
        errors=crawl_report.error_examples(run.errors, run.stats),
        refresh=REFRESH_SECONDS if run.status == "running" else None,
    )


@bp.post("/start")
@require_role("manager")
def start():
    """Start a crawl for a town, a county or all towns."""
    try:
        jobs = start_crawl(request.form, current_user.email, current_user.id)
    except START_ERRORS as exc:
        flash(f"Crawl not started: {exc}")
        return redirect(url_for("crawls.index"))
    flash(f"Started {len(jobs)} crawl job(s): {', '.join(j.job_id for j in jobs)}")
    return redirect(url_for("crawls.index"))
