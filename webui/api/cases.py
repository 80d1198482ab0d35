"""API resource: cases, listed with the cases page's filters, searched, and one by
one with their parties, docket entries, court dates and changes."""

from __future__ import annotations

from flask import g, jsonify, request

from ctforeclosure import dockets
from ctforeclosure import towns as ct_towns
from ctforeclosure.parsers.court_clock import court_today
from ctforeclosure.services import lead_signals, leads, notes
from ctforeclosure.skiptrace import service as skiptrace_service
from webui import params, queries, sales_queries, timeline
from webui.api.common import (
    bp,
    compact_or_404,
    error,
    revealed_traces,
    row_dict,
    scope,
    traces_json,
)
from webui.api.sales import sale_json
from webui.db import get_conn


def case_page(flt: queries.CaseFilter):
    """Answer one page of the filter's cases (a saved search's too), or a 400 for
    search text too short to search for."""
    if problem := flt.search_problem():
        return error(400, problem, parameter="q", accepts=params.TEXT_TEXT)
    rows, total, more = queries.list_cases(get_conn(), flt)
    return jsonify(
        {
            "total": total,
            "total_is_lower_bound": more,
            "page": flt.page,
            "per_page": flt.per_page,
            "filters": flt.as_args(),
            "cases": [row_dict(r, drop=("_matches",)) for r in rows],
        }
    )


@bp.get("/cases")
@scope("read")
def cases_list():
    """List cases, filtered and paginated (same arguments as the cases page)."""
    return case_page(queries.CaseFilter.from_args(request.args, me=g.api_user.email))


@bp.get("/cases/search")
@scope("read")
def cases_search():
    """Search cases by docket number, party name or address (``q``)."""
    flt = queries.CaseFilter.from_args(request.args, me=g.api_user.email)
    if not flt.q:
        return error(400, "q is required", parameter="q", accepts=params.TEXT_TEXT)
    return case_page(flt)


@bp.get("/cases/by-town/<town>")
@scope("read")
def cases_by_town(town: str):
    """List one town's cases (any spelling of the town)."""
    try:
        name = ct_towns.canonical(town).name
    except ct_towns.UnknownTown as exc:
        return error(404, str(exc), suggestions=exc.suggestions)
    flt = queries.CaseFilter.from_args(request.args, me=g.api_user.email)
    flt.town = name
    return case_page(flt)


@bp.get("/cases/<docket_no>")
@scope("read")
def case_detail(docket_no: str):
    """Return one case with parties, docket entries, court dates and changes (DNC/TCPA
    phones only with ``include_dnc=true``, managers)."""
    conn = get_conn()
    compact = compact_or_404(docket_no)
    case = queries.get_case(conn, compact)
    if case is None:
        return error(404, f"no such case: {compact}")
    story = queries.case_story(conn, compact)
    traces = queries.skiptrace_by_party(conn, [p.id for p in story["parties"]])
    people = skiptrace_service.person_keys(
        conn, [p.id for p in story["parties"] if p.role == "D" and not p.removed_at]
    )
    revealed = revealed_traces(traces, {"docket_no": compact}, people)
    shown = revealed.by_party
    body = row_dict(case)
    body["docket_dashed"] = dockets.dashed(compact)
    body["parties"] = [
        {
            **row_dict(p),
            "skiptraces": traces_json(shown.get(p.id, [])),
            "do_not_contact": revealed.suppressed_parties.get(p.id),
        }
        for p in story["parties"]
    ]
    body["docket_entries"] = [row_dict(e) for e in story["entries"]]
    body["court_dates"] = [row_dict(d) for d in story["court_dates"]]
    body["changes"] = [
        {**row_dict(c), "sentence": timeline.sentence(c.kind, c.old_value, c.new_value)}
        for c in story["changes"]
    ]
    body["lead"] = leads.get(conn, compact).as_dict()
    body["notes_count"] = notes.count(conn, compact)
    body["signals"] = lead_signals.read(
        case,
        story["entries"],
        story["parties"],
        court_today(),
        story["court_dates"],
    ).as_dict()
    body["sales"] = [sale_json(s) for s in sales_queries.case_sales(conn, compact)]
    return jsonify(body)
