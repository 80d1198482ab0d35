"""Cases: the searchable, filterable list and the page telling one case's story.

The case page shows skip-trace contacts as :mod:`ctforeclosure.services.contacts`
allows: DNC/TCPA-flagged phones only after a manager's explicit POST
(``include_dnc``, with the CSRF token), and every view revealing contacts audited.
"""

from __future__ import annotations

from functools import cache

from flask import (
    Blueprint,
    abort,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup

from ctforeclosure import dockets
from ctforeclosure import towns as ct_towns
from ctforeclosure.services import leads as lead_service
from ctforeclosure.skiptrace import service as skiptrace_service
from ctforeclosure.store import quality
from webui import leads, params, queries, reveal, sales_queries
from webui.db import get_conn

bp = Blueprint("cases", __name__, url_prefix="/cases")
_LIST_WIDTH = len(queries.LIST_COLUMNS)


@cache
def _town_options() -> Markup:
    """The town autocomplete's 169 options, built once: the same on every list page
    and, built in the template, a tenth of the page's rendering time."""
    return Markup("").join(
        Markup('<option value="{}">').format(t.name) for t in ct_towns.all_towns()
    )


@bp.get("/")
def index():
    """List cases matching the search and filters, one page at a time."""
    try:
        flt = queries.CaseFilter.from_args(request.args, me=current_user.email)
    except params.BadParameter as exc:
        return refused(exc)
    if search_problem := flt.search_problem():
        return _render(flt, search_problem=search_problem), 400
    return _render(flt, *queries.list_cases(get_conn(), flt))


def refused(exc: params.BadParameter):
    """Show the list's form again with what the user typed and why it was refused
    (400), listing nothing: never the list without the filter."""
    page = _render(queries.CaseFilter.echo(request.args), problem=exc)
    return make_response(page, 400)


def _render(flt, rows=(), total=0, more=False, **problems) -> str:
    pages = max(1, -(-total // flt.per_page))
    return render_template(
        "cases/index.html",
        # the table unpacks a row into the names of LIST_COLUMNS (a page's rows
        # end with one more column, the number of matches)
        rows=[row[:_LIST_WIDTH] for row in rows],
        total=total,
        more=more,
        flt=flt,
        pages=pages,
        problem=problems.get("problem"),
        search_problem=problems.get("search_problem"),
        export_args={
            k: v for k, v in request.args.items() if k not in ("include_dnc", "page")
        },
        town_options=_town_options(),
        counties=ct_towns.counties(),
        sorts=list(queries.SORTS),
        quality_flags=quality.QUALITY_FLAGS,
        leads_by_docket=lead_service.leads_of(get_conn(), [r[0] for r in rows])
        if rows
        else {},
        statuses=lead_service.statuses(get_conn()),
        staff=lead_service.staff(get_conn()),
        nobody=leads.NOBODY,
    )


@bp.route("/<docket_no>", methods=["GET", "POST"])
def detail(docket_no: str):
    """Show one case: header, property, parties, timeline, dates, changes, traces."""
    try:
        compact = dockets.compact(docket_no)
    except dockets.InvalidDocket:
        abort(404)
    include_dnc = reveal.include_dnc_asked()
    if compact != docket_no:
        return redirect(url_for("cases.detail", docket_no=compact))
    conn = get_conn()
    case = queries.get_case(conn, compact)
    if case is None:
        abort(404)
    # most parties were never traced: no results query for them (a round trip)
    story = queries.case_story(conn, compact, traced=True)
    traces = queries.skiptrace_by_party(
        conn, [p.id for p in story["parties"] if p.traced]
    )
    people = skiptrace_service.person_keys(
        conn, [p.id for p in story["parties"] if p.role == "D" and not p.removed_at]
    )
    shown = reveal.reveal_audited(
        conn,
        reveal.page_asker(include_dnc),
        traces,
        "page",
        {"docket_no": compact},
        person_keys=people,
    )
    return render_template(
        "cases/detail.html",
        case=case,
        traces=shown.by_party,
        shown=shown,
        sales=sales_queries.case_sales(conn, compact),
        sale_history=[
            (c, sales_queries.describe(c))
            for c in sales_queries.sale_history(conn, compact)
        ],
        people=people,
        **leads.case_context(conn, case, story),
        **story,
    )
