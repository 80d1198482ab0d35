"""The JSON API ``/api/v1``: read cases, towns, defendants, skip traces and crawls.

Authenticated with per-user API tokens (``Authorization: Bearer ctf_...``), never
with the session cookie, so CSRF cannot apply. Case data comes from the court: the API
does not create or edit cases. Viewers get phones and emails masked, as on the pages.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import Blueprint, abort, g, jsonify, request
from werkzeug.datastructures import MultiDict

from ctforeclosure import dockets
from ctforeclosure import towns as ct_towns
from ctforeclosure.db import cases, crawl_runs, parties, skiptrace_ledger
from ctforeclosure.jobs import scheduling
from ctforeclosure.jobs.scrapyd_api import ScrapydError
from ctforeclosure.services import audit
from ctforeclosure.services import users as user_service
from webui import crawls as crawls_views
from webui import masking, queries
from webui import skiptrace as skiptrace_views
from webui.dashboard import month_spend
from webui.db import get_conn, write
from webui.towns import county_rows

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def plain(value):
    """Return a JSON-friendly value (ISO dates, decimal strings)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def row_dict(row, *, drop=()) -> dict:
    return {k: plain(v) for k, v in row._mapping.items() if k not in drop}


def error(status: int, message: str, **extra):
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


@bp.before_request
def _authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return error(401, "missing bearer token")
    with write() as conn:
        user = user_service.verify_token(conn, secret.strip())
    if user is None:
        return error(401, "invalid or revoked token")
    g.api_user = user
    return None


def _require(role: str) -> None:
    if not g.api_user.can(role):
        abort(error(403, f"needs the {role} role"))


def _visible() -> bool:
    return g.api_user.can("manager")


def _town_dict(town: ct_towns.Town) -> dict:
    return {
        "name": town.name,
        "county": town.county,
        "planning_region": town.planning_region,
    }


# --- towns and counties -------------------------------------------------------


@bp.get("/towns")
def towns_list():
    """List the 169 towns."""
    return jsonify([_town_dict(t) for t in ct_towns.all_towns()])


@bp.get("/towns/by-county/<county>")
def towns_by_county(county: str):
    """List the towns of one county."""
    try:
        name = ct_towns.canonical_county(county)
    except ct_towns.UnknownCounty as exc:
        return error(404, str(exc))
    return jsonify([_town_dict(t) for t in ct_towns.towns_in_county(name)])


@bp.get("/towns/search")
def towns_search():
    """Return towns whose name contains ``q`` (and the town ``q`` spells, if any)."""
    q = (request.args.get("q") or "").strip().lower()
    if not q:
        return error(400, "q is required")
    found = [t for t in ct_towns.all_towns() if q in t.name.lower()]
    spelled = ct_towns.match(q)
    if spelled:  # the town the text names (or misspells) comes first
        found = [spelled, *(t for t in found if t != spelled)]
    return jsonify([_town_dict(t) for t in found])


@bp.get("/towns/validate/<name>")
def towns_validate(name: str):
    """Say whether a name is a town, and which; suggest close towns if not."""
    try:
        town = ct_towns.canonical(name)
    except ct_towns.UnknownTown as exc:
        return jsonify(
            {"valid": False, "message": str(exc), "suggestions": exc.suggestions}
        )
    return jsonify({"valid": True, "town": _town_dict(town)})


@bp.get("/counties")
def counties_list():
    """List counties with their number of towns and cases."""
    return jsonify(
        [
            {
                "county": c["county"],
                "towns": len(c["towns"]),
                "cases": c["cases"],
                "active": c["active"],
            }
            for c in county_rows(get_conn())
        ]
    )


@bp.get("/counties/<county>/stats")
def county_stats(county: str):
    """Return one county's case counts, per town."""
    try:
        name = ct_towns.canonical_county(county)
    except ct_towns.UnknownCounty as exc:
        return error(404, str(exc))
    row = next(c for c in county_rows(get_conn()) if c["county"] == name)
    return jsonify(row)


# --- cases ---------------------------------------------------------------------


def _case_page(flt: queries.CaseFilter):
    if problem := flt.search_problem():
        return error(400, problem)
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
def cases_list():
    """List cases, filtered and paginated (same arguments as the cases page)."""
    return _case_page(queries.CaseFilter.from_args(request.args))


@bp.get("/cases/search")
def cases_search():
    """Search cases by docket number, party name or address (``q``)."""
    flt = queries.CaseFilter.from_args(request.args)
    if not flt.q:
        return error(400, "q is required")
    return _case_page(flt)


@bp.get("/cases/by-town/<town>")
def cases_by_town(town: str):
    """List one town's cases (any spelling of the town)."""
    try:
        name = ct_towns.canonical(town).name
    except ct_towns.UnknownTown as exc:
        return error(404, str(exc), suggestions=exc.suggestions)
    flt = queries.CaseFilter.from_args(request.args)
    flt.town = name
    return _case_page(flt)


def _traces_json(traces: list[queries.TraceResult]) -> list[dict]:
    visible = _visible()
    return [
        {
            "id": t.id,
            "status": t.status,
            "sandbox": t.sandbox,
            "fetched_at": plain(t.fetched_at),
            "mailing_address": t.mailing_address if visible else None,
            "phones": [
                {
                    "number": p.number if visible else masking.mask_phone(p.number),
                    "type": p.type,
                    "dnc": p.dnc,
                    "tcpa": p.tcpa,
                    "rank": p.rank,
                }
                for p in t.phones
            ],
            "emails": [
                e.email if visible else masking.mask_email(e.email) for e in t.emails
            ],
        }
        for t in traces
    ]


def _compact_or_404(docket_no: str) -> str:
    try:
        return dockets.compact(docket_no)
    except dockets.InvalidDocket:
        abort(error(404, f"not a docket number: {docket_no}"))


@bp.get("/cases/<docket_no>")
def case_detail(docket_no: str):
    """Return one case with parties, docket entries, court dates and changes."""
    conn = get_conn()
    compact = _compact_or_404(docket_no)
    case = queries.get_case(conn, compact)
    if case is None:
        return error(404, f"no such case: {compact}")
    story = queries.case_story(conn, compact)
    traces = queries.skiptrace_by_party(conn, [p.id for p in story["parties"]])
    body = row_dict(case)
    body["docket_dashed"] = dockets.dashed(compact)
    body["parties"] = [
        {**row_dict(p), "skiptraces": _traces_json(traces.get(p.id, []))}
        for p in story["parties"]
    ]
    body["docket_entries"] = [row_dict(e) for e in story["entries"]]
    body["court_dates"] = [row_dict(d) for d in story["court_dates"]]
    body["changes"] = [row_dict(c) for c in story["changes"]]
    return jsonify(body)


# --- defendants ----------------------------------------------------------------

DEFENDANT_COLUMNS = (
    parties.c.id,
    parties.c.docket_no,
    parties.c.party_no,
    parties.c.category,
    parties.c.name,
    parties.c.non_appearing,
    parties.c.removed_at,
)


@bp.get("/defendants")
def defendants_list():
    """List defendants, optionally those whose name contains ``q``, paginated."""
    flt = queries.CaseFilter.from_args(request.args)
    q = (request.args.get("q") or "").strip()
    where = [parties.c.role == "D"]
    if q:
        where.append(parties.c.name.ilike(queries.like_pattern(q), escape="\\"))
    conn = get_conn()
    total = conn.execute(
        sa.select(sa.func.count()).select_from(parties).where(*where)
    ).scalar_one()
    rows = conn.execute(
        sa.select(*DEFENDANT_COLUMNS)
        .where(*where)
        .order_by(parties.c.id)
        .limit(flt.per_page)
        .offset((flt.page - 1) * flt.per_page)
    ).all()
    return jsonify(
        {
            "total": total,
            "page": flt.page,
            "per_page": flt.per_page,
            "defendants": [row_dict(r) for r in rows],
        }
    )


def _party_or_404(party_id: int):
    row = (
        get_conn()
        .execute(
            sa.select(*DEFENDANT_COLUMNS, parties.c.role).where(
                parties.c.id == party_id
            )
        )
        .first()
    )
    if row is None:
        abort(error(404, f"no such party: {party_id}"))
    return row


@bp.get("/defendants/<int:party_id>")
def defendant_detail(party_id: int):
    """Return one party with its case summary and skip-trace results."""
    conn = get_conn()
    party = _party_or_404(party_id)
    case = conn.execute(
        sa.select(*queries.LIST_COLUMNS).where(cases.c.docket_no == party.docket_no)
    ).first()
    traces = queries.skiptrace_by_party(conn, [party_id]).get(party_id, [])
    return jsonify(
        {
            **row_dict(party),
            "case": row_dict(case) if case else None,
            "skiptraces": _traces_json(traces),
        }
    )


@bp.get("/defendants/by-case/<docket_no>")
def defendants_by_case(docket_no: str):
    """List one case's defendants."""
    compact = _compact_or_404(docket_no)
    rows = (
        get_conn()
        .execute(
            sa.select(*DEFENDANT_COLUMNS)
            .where(parties.c.docket_no == compact, parties.c.role == "D")
            .order_by(parties.c.party_no)
        )
        .all()
    )
    return jsonify([row_dict(r) for r in rows])


# --- skip traces ---------------------------------------------------------------


@bp.post("/skiptraces/lookup")
def skiptraces_lookup():
    """Quote a skip trace; with ``confirm`` and ``max_cost``, start it (manager+).

    Body: ``{"docket_nos": [...]} | {"town": "..."} | {"pending": true}``, plus
    ``"confirm": true, "max_cost": "<the quote's max_cost>"`` to spend. The run is
    a background job: poll ``/skiptraces/jobs/{job_id}``.
    """
    _require("manager")
    body = request.get_json(silent=True) or {}
    form = MultiDict(
        [("docket_no", d) for d in body.get("docket_nos") or []]
        + [
            ("town", body.get("town") or ""),
            ("pending", "1" if body.get("pending") else ""),
        ]
    )
    try:
        selection = skiptrace_views.selection_from(form)
    except skiptrace_views.SelectionError as exc:
        return error(400, str(exc))
    service, quote = skiptrace_views._quote(selection)
    summary = {
        "records": len(quote.records),
        "reuse": len(quote.reuse),
        "review": len(quote.review),
        "skipped": quote.skip_reasons(),
        "max_cost": str(quote.max_cost),
        "affordable": quote.affordable,
        "sandbox": quote.sandbox,
        "lines": quote.lines(),
    }
    if not body.get("confirm"):
        return jsonify({"quote": summary, "configured": service.configured})
    if not service.configured:
        return error(503, "skip tracing is off: BATCHDATA_BASE_URL/API_KEY not set")
    try:
        confirmed = Decimal(str(body.get("max_cost")))
    except InvalidOperation:
        return error(400, "max_cost (from the quote) is required to confirm")
    if quote.max_cost > confirmed:
        return error(409, "the quote went up; confirm the new max_cost", quote=summary)
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

    job = skiptrace_views.registry().start("skiptrace", actor, work)
    response = jsonify({"quote": summary, "job": job.as_dict()})
    response.status_code = 202
    return response


@bp.get("/skiptraces/jobs/<job_id>")
def skiptraces_job(job_id: str):
    """Return a background skip trace's progress and outcome."""
    job = skiptrace_views.registry().get(job_id)
    if job is None:
        return error(404, f"no such job: {job_id}")
    return jsonify(job.as_dict())


@bp.get("/skiptraces/history")
def skiptraces_history():
    """List skip-trace ledger entries, newest first."""
    flt = queries.CaseFilter.from_args(request.args)
    rows = (
        get_conn()
        .execute(
            sa.select(skiptrace_ledger)
            .order_by(skiptrace_ledger.c.id.desc())
            .limit(flt.per_page)
            .offset((flt.page - 1) * flt.per_page)
        )
        .all()
    )
    return jsonify([row_dict(r) for r in rows])


@bp.get("/skiptraces/by-defendant/<int:party_id>")
def skiptraces_by_defendant(party_id: int):
    """List one party's skip-trace results."""
    _party_or_404(party_id)
    traces = queries.skiptrace_by_party(get_conn(), [party_id]).get(party_id, [])
    return jsonify(_traces_json(traces))


@bp.get("/skiptraces/costs")
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
            "this_month": plain(month_spend(conn, date.today())),
            "by_month": plain(sorted(months.values(), key=lambda m: m["month"])),
        }
    )


# --- scraper -------------------------------------------------------------------


@bp.post("/scraper/scrape")
def scraper_scrape():
    """Start a crawl: ``{"scope": "town"|"county"|"all", "town"|"county": ...}``."""
    _require("manager")
    body = request.get_json(silent=True) or {}
    form = MultiDict(
        {k: str(v) for k, v in body.items() if k in ("scope", "town", "county")}
    )
    try:
        jobs = crawls_views.start_crawl(form, g.api_user.email)
    except crawls_views.START_ERRORS as exc:
        status = 503 if isinstance(exc, (scheduling.NoNodes, ScrapydError)) else 400
        return error(status, str(exc))
    response = jsonify(
        {
            "jobs": [
                {"job_id": j.job_id, "node": j.node, "towns": list(j.towns)}
                for j in jobs
            ]
        }
    )
    response.status_code = 202
    return response


@bp.get("/scraper/status/<job_id>")
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
        return error(404, f"no crawl recorded for job {job_id}")
    return jsonify(row_dict(row))


@bp.get("/scraper/history")
def scraper_history():
    """List crawl runs, newest first."""
    flt = queries.CaseFilter.from_args(request.args)
    rows = (
        get_conn()
        .execute(
            sa.select(crawl_runs)
            .order_by(crawl_runs.c.id.desc())
            .limit(flt.per_page)
            .offset((flt.page - 1) * flt.per_page)
        )
        .all()
    )
    return jsonify([row_dict(r, drop=("stats",)) for r in rows])


@bp.get("/openapi.json")
def openapi():
    """Return the OpenAPI 3.1 description of this API."""
    from webui.openapi import spec

    return jsonify(spec())
