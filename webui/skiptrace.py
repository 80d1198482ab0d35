"""Skip trace: spend and ledger, and quote → confirm → results (manager and up).

Everything goes through :class:`ctforeclosure.skiptrace.service.SkipTraceService`,
the same service the CLI and the pipeline use (budgets, dedupe, ledger, audit). The
quote spends nothing; the confirmed run happens in a background job whose progress
page the browser polls, never inside the web request.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from pydantic import Field

from ctforeclosure import dockets
from ctforeclosure import towns as ct_towns
from ctforeclosure.db import skiptrace_ledger
from ctforeclosure.parsers.court_clock import court_today
from ctforeclosure.services import audit
from ctforeclosure.skiptrace.service import SkipTraceService
from webui import params, queries
from webui.auth import require_role
from webui.dashboard import month_spend
from webui.db import get_conn, get_engine, write
from webui.jobs import JobRegistry

bp = Blueprint("skiptrace", __name__, url_prefix="/skiptrace")

#: Most cases a quote built from a filtered list may cover.
MAX_FILTER_CASES = 5000


class RunForm(params.QueryArgs):
    """The confirmation's amount: what the quote said, a finite number ("NaN" made
    the comparison fail, "Infinity" passed it)."""

    max_cost: params.Money = Field(description="a finite number, 0 or more")


class SelectionError(ValueError):
    """The form does not say which parties to trace."""


def registry() -> JobRegistry:
    if "ctf_jobs" not in current_app.extensions:
        current_app.extensions["ctf_jobs"] = JobRegistry(get_engine())
    return current_app.extensions["ctf_jobs"]


def make_service() -> SkipTraceService:
    return SkipTraceService.from_config(get_engine())


def selection_from(form) -> dict:
    """Return the quote's selection: dockets, a town, a filtered list or pending."""
    docket_nos = []
    for value in form.getlist("docket_no"):
        try:
            docket_nos.append(dockets.compact(value))
        except dockets.InvalidDocket as exc:
            raise SelectionError(str(exc)) from exc
    filter_query = form.get("filter_query", "")
    if filter_query:
        args = {k: v[0] for k, v in parse_qs(filter_query).items()}
        try:
            flt = queries.CaseFilter.from_args(args, me=current_user.email)
        except params.BadParameter as exc:
            raise SelectionError(str(exc)) from exc
        if problem := flt.search_problem():
            raise SelectionError(problem)
        rows = queries.iter_cases(get_conn(), flt, MAX_FILTER_CASES)
        if not rows:
            raise SelectionError("No cases match the filters.")
        docket_nos += [r.docket_no for r in rows]
    town = (form.get("town") or "").strip()
    if town:
        try:
            town = ct_towns.canonical(town).name
        except ct_towns.UnknownTown as exc:
            raise SelectionError(str(exc)) from exc
    pending = form.get("pending") == "1"
    if not (docket_nos or town or pending):
        raise SelectionError("Choose cases, a town, or the pending parties to trace.")
    return {
        "docket_nos": sorted(set(docket_nos)) or None,
        "town": town or None,
        "pending": pending,
    }


def make_quote(selection: dict):
    """Return the skip-trace service and its quote for the selection."""
    service = make_service()
    return service, service.quote(
        docket_nos=selection["docket_nos"],
        town=selection["town"],
        pending=selection["pending"],
    )


@bp.get("/")
def index():
    """Show this month's spend, background jobs and the skip-trace ledger."""
    conn = get_conn()
    ledger = conn.execute(
        sa.select(skiptrace_ledger).order_by(skiptrace_ledger.c.id.desc()).limit(100)
    ).all()
    return render_template(
        "skiptrace/index.html",
        spend=month_spend(conn, court_today()),
        ledger=ledger,
        jobs=registry().recent(),
    )


@bp.post("/quote")
@require_role("manager")
def quote():
    """Price a skip trace (spends nothing) and ask for confirmation."""
    try:
        selection = selection_from(request.form)
    except SelectionError as exc:
        flash(str(exc))
        return redirect(url_for("skiptrace.index"))
    service, q = make_quote(selection)
    return render_template(
        "skiptrace/quote.html",
        quote=q,
        selection=selection,
        configured=service.configured,
    )


@bp.post("/run")
@require_role("manager")
def run():
    """Start the confirmed trace as a background job."""
    try:
        selection = selection_from(request.form)
        confirmed = params.parse(RunForm, request.form).max_cost
    except (SelectionError, params.BadParameter):
        flash("The confirmation was incomplete; quote again.")
        return redirect(url_for("skiptrace.index"))
    service, q = make_quote(selection)
    if not service.configured:
        flash("Skip tracing is off: set BATCHDATA_BASE_URL and BATCHDATA_API_KEY.")
        return redirect(url_for("skiptrace.index"))
    if q.max_cost > confirmed:
        flash("The quote went up since you confirmed it: check it again.")
        return render_template(
            "skiptrace/quote.html", quote=q, selection=selection, configured=True
        )
    actor = current_user.email
    with write() as conn:
        audit.record(
            conn,
            actor,
            "skiptrace.start",
            selection["town"] or (f"{len(selection['docket_nos'] or [])} cases"),
            {
                "records": len(q.records),
                "max_cost": str(q.max_cost),
                "sandbox": q.sandbox,
                "pending": selection["pending"],
            },
        )

    def work(job):
        job.total = len(q.records)
        return service.run(q, triggered_by=actor, progress=job.progress).lines()

    job = registry().start("skiptrace", actor, work)
    return redirect(url_for("skiptrace.job", job_id=job.id))


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    """Show a background trace's progress (the page refreshes until it ends)."""
    found = registry().get(job_id)
    if found is None:
        abort(404)
    return render_template("skiptrace/job.html", job=found)
