"""API resource: skip traces, quoted and started (managers), their background jobs,
the ledger, one defendant's results and the spend per month."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import g, jsonify, request
from pydantic import Field, StrictBool
from werkzeug.datastructures import MultiDict

from ctforeclosure.db import skiptrace_ledger
from ctforeclosure.parsers.court_clock import court_today
from ctforeclosure.services import audit
from webui import params, queries
from webui import skiptrace as skiptrace_views
from webui.api.common import (
    accepted,
    bp,
    error,
    page_of,
    plain,
    require,
    revealed_traces,
    row_dict,
    scope,
    traces_json,
)
from webui.api.defendants import party_or_404
from webui.dashboard import month_spend
from webui.db import get_conn, write


class LookupBody(params.JsonBody):
    """The body of ``POST /skiptraces/lookup``."""

    docket_nos: params.Dockets | None = Field(
        None, description="a list of docket numbers (strings)"
    )
    town: params.Town | None = Field(
        None, description="a Connecticut town (any spelling)"
    )
    pending: StrictBool = Field(False, description="true or false")
    confirm: StrictBool = Field(False, description="true or false")
    max_cost: params.Money | None = Field(
        None, description="the quote's max_cost: a finite number, 0 or more"
    )


def _selection_form(body: LookupBody) -> MultiDict:
    """Return the JSON body as the form the skip-trace page posts."""
    return MultiDict(
        [("docket_no", d) for d in body.docket_nos or []]
        + [("town", body.town or ""), ("pending", "1" if body.pending else "")]
    )


def _quote_summary(quote) -> dict:
    """Return what a quote would trace, reuse and cost."""
    return {
        "records": len(quote.records),
        "reuse": len(quote.reuse),
        "review": len(quote.review),
        "skipped": quote.skip_reasons(),
        "max_cost": str(quote.max_cost),
        "affordable": bool(quote.affordable),
        "sandbox": quote.sandbox,
        "lines": quote.lines(),
    }


def _start(service, quote, selection: dict):
    """Audit the spend and run the confirmed trace as a background job."""
    actor = g.api_user.email
    with write() as conn:
        audit.record(
            conn,
            actor,
            "skiptrace.start",
            selection["town"] or f"{len(selection['docket_nos'] or [])} cases",
            {
                "records": len(quote.records),
                "max_cost": str(quote.max_cost),
                "api": True,
            },
        )

    def work(job):
        job.total = len(quote.records)
        return service.run(quote, triggered_by=actor, progress=job.progress).lines()

    return skiptrace_views.registry().start("skiptrace", actor, work)


@bp.post("/skiptraces/lookup")
@scope("skiptrace")
def skiptraces_lookup():
    """Quote a skip trace; with ``confirm`` and ``max_cost``, start it (manager+).

    Body: ``{"docket_nos": [...]} | {"town": "..."} | {"pending": true}``, plus
    ``"confirm": true, "max_cost": "<the quote's max_cost>"`` to spend. The run is
    a background job: poll ``/skiptraces/jobs/{job_id}``.
    """
    require("manager")
    body = params.json_body(LookupBody)
    try:
        selection = skiptrace_views.selection_from(_selection_form(body))
    except skiptrace_views.SelectionError as exc:
        return error(400, str(exc))
    service, quote = skiptrace_views.make_quote(selection)
    summary = _quote_summary(quote)
    if not body.confirm:
        return jsonify({"quote": summary, "configured": service.configured})
    if not service.configured:
        return error(503, "skip tracing is off: BATCHDATA_BASE_URL/API_KEY not set")
    if body.max_cost is None:
        accepts = LookupBody.model_fields["max_cost"].description
        return error(
            400,
            "max_cost (from the quote) is required to confirm",
            parameter="max_cost",
            accepts=accepts,
        )
    if quote.max_cost > body.max_cost:
        return error(409, "the quote went up; confirm the new max_cost", quote=summary)
    job = _start(service, quote, selection)
    return accepted({"quote": summary, "job": job.as_dict()})


@bp.get("/skiptraces/jobs/<job_id>")
@scope("read")
def skiptraces_job(job_id: str):
    """Return a background skip trace's progress and outcome."""
    job = skiptrace_views.registry().get(job_id)
    if job is None:
        return error(404, f"no such job: {job_id}")
    return jsonify(job.as_dict())


@bp.get("/skiptraces/history")
@scope("read")
def skiptraces_history():
    """List skip-trace ledger entries, newest first."""
    flt = params.parse(params.PageArgs, request.args)
    statement = sa.select(skiptrace_ledger).order_by(skiptrace_ledger.c.id.desc())
    rows = get_conn().execute(page_of(statement, flt)).all()
    return jsonify([row_dict(r) for r in rows])


@bp.get("/skiptraces/by-defendant/<int:party_id>")
@scope("read")
def skiptraces_by_defendant(party_id: int):
    """List one party's skip-trace results (DNC/TCPA phones only with
    ``include_dnc=true``, managers)."""
    party_or_404(party_id)
    shown = revealed_traces(queries.skiptrace_by_party(get_conn(), [party_id]), {})
    return jsonify(traces_json(shown.by_party.get(party_id, [])))


@bp.get("/skiptraces/costs")
@scope("read")
def skiptraces_costs():
    """Return this month's spend and the spend per month (live and sandbox)."""
    conn = get_conn()
    rows = conn.execute(
        sa.select(
            skiptrace_ledger.c.at,
            skiptrace_ledger.c.sandbox,
            skiptrace_ledger.c.cost,
            skiptrace_ledger.c.records_sent,
        )
    ).all()
    months: dict[tuple[str, bool], dict] = {}
    for at, sandbox, cost, sent in rows:
        key = (f"{at:%Y-%m}", bool(sandbox))
        entry = months.setdefault(
            key, {"month": key[0], "sandbox": key[1], "cost": Decimal(0), "records": 0}
        )
        entry["cost"] += Decimal(cost)
        entry["records"] += sent
    return jsonify(
        {
            "this_month": plain(month_spend(conn, court_today())),
            "by_month": plain(sorted(months.values(), key=lambda m: m["month"])),
        }
    )
