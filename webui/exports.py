"""Exports of the current filtered case list, and its mailing list
(:mod:`webui.mailing`), as CSV and XLSX (manager and up).

Every matching case is exported, streamed by :mod:`webui.streaming` from a
server-side cursor (no cap unless the operator sets one, which refuses up front);
spreadsheet formulas in any cell are neutralised (a leading ``'``), every export is
audited when it ends, and sandbox skip-trace results are never exported. Which
phones and emails an export holds is the contacts policy's decision
(:mod:`ctforeclosure.services.contacts`): DNC/TCPA-flagged phones only when a POST
with the CSRF token asks (``include_dnc``, the cases page's "Export with DNC/TCPA
numbers" form), then marked; a GET naming ``include_dnc`` is refused with 400,
never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, Response, abort, request
from flask_login import current_user

from ctforeclosure.services import audit, contacts
from webui import mailing, params, queries
from webui.auth import require_role
from webui.cases import refused
from webui.db import get_conn, get_engine, write
from webui.filters import docket_dashed, format_phone, judiciary_url
from webui.reveal import include_dnc_asked, page_asker
from webui.sales_export import SALES_HEADER, sale_rows
from webui.sales_queries import SaleFilter, count_sales
from webui.streaming import Ending, stream_export

bp = Blueprint("exports", __name__, url_prefix="/exports")

HEADER = (
    "Docket",
    "Town",
    "County",
    "Case",
    "Property address",
    "Filed",
    "Judgment type",
    "Law day",
    "Sale date",
    "Status",
    "Disposition",
    "Defendants",
    "Phones",
    "Emails",
    "Judiciary link",
)
CHUNK = 500  # cases per fetch from the cursor, and per child-row query


def _status(row) -> str:
    if row.is_active is True:
        return "active"
    if row.is_active is False:
        return "disposed"
    return ""


def _contacts_text(shown: list[contacts.ShownTrace]) -> tuple[str, str]:
    """Return a party's newest phones (flagged ones marked) and emails as text."""
    phones, emails = [], []
    for t in shown:
        for ph in t.phones:
            marks = f" [{'/'.join(ph.marks)}]" if ph.flagged else ""
            phones.append(format_phone(ph.number) + marks)
        emails.extend(t.emails)
    return "; ".join(phones), "; ".join(emails)


def export_rows(
    engine: sa.Engine, flt: queries.CaseFilter, tally: contacts.RevealTally
) -> Iterator[tuple]:
    """Yield one row per matching case, from a server-side cursor on a connection
    of its own, :data:`CHUNK` cases at a time; ``tally`` counts what the rows
    reveal of each party's contacts (for the audit record)."""
    with engine.connect() as conn:
        for chunk in queries.stream_cases(conn, flt, CHUNK).partitions():
            yield from _chunk_rows(conn, chunk, tally)


def _chunk_rows(conn: sa.Connection, chunk, tally: contacts.RevealTally):
    """Return the rows of a chunk of cases: their defendants and the newest
    skip-trace result of each, as the contacts policy lets the asker see it."""
    party_rows = queries.case_parties(conn, [c.docket_no for c in chunk])
    defendants: dict[str, list] = {}
    for p in party_rows:
        if p.role == "D" and p.removed_at is None:
            defendants.setdefault(p.docket_no, []).append(p)
    traces = queries.skiptrace_by_party(
        conn,
        [p.id for ps in defendants.values() for p in ps],
        include_sandbox=False,
    )
    newest = {party_id: found[:1] for party_id, found in traces.items()}
    revealed = contacts.reveal(tally.asker, newest, contacts.suppressions(conn, newest))
    tally.add(revealed)
    return [_row(c, defendants.get(c.docket_no, []), revealed.by_party) for c in chunk]


def _row(case, parties: list, shown: dict) -> tuple:
    texts = [_contacts_text(shown.get(p.id, [])) for p in parties]
    return (
        docket_dashed(case.docket_no),
        case.search_town,
        case.county or "",
        case.case_name or "",
        case.property_street or case.listing_street or "",
        case.file_date,
        case.judgment_type or "",
        case.law_day,
        case.sale_date,
        _status(case),
        case.disposition or "",
        "; ".join(p.name for p in parties),
        "; ".join(phones for phones, _ in texts if phones),
        "; ".join(emails for _, emails in texts if emails),
        judiciary_url(case.docket_no),
    )


def _case_filter() -> queries.CaseFilter:
    """Return the request's case filter; a filter that cannot be read shows the
    list's form again (400): nothing is exported or audited."""
    try:
        flt = queries.CaseFilter.from_args(request.args, me=current_user.email)
    except params.BadParameter as exc:
        abort(refused(exc))
    if problem := flt.search_problem():
        abort(Response(problem, status=400, mimetype="text/plain"))
    return flt


@dataclass(frozen=True)
class _CaseList:
    """One export of the filtered case list: its file, columns and rows."""

    file: str  # the attachment's name before its time stamp
    header: tuple
    rows: Callable[..., Iterator[tuple]]  # (engine, filter, tally) -> rows
    sheet: str
    details: dict  # what its audit record says besides the filter and the rows


CASE_LISTS = {
    "cases": _CaseList("ct-foreclosures", HEADER, export_rows, "Cases", {}),
    "mailing": _CaseList(
        "ct-mailing-list",
        mailing.HEADER,
        mailing.rows,
        "Mailing list",
        {"list": "mailing"},
    ),
}


def _export(fmt: str, kind: str = "cases") -> Response:
    """Stream the filtered list (or its mailing list) as ``fmt``; audit it, and
    what it revealed of contacts, when it ends."""
    flt, export = _case_filter(), CASE_LISTS[kind]
    asker = page_asker(include_dnc_asked())
    tally = contacts.RevealTally(asker=asker)
    scope = {"filters": flt.as_args()}
    actor, path = current_user.email, request.path

    def audited(ending: Ending) -> None:
        details = {**scope, **ending.details(), **export.details}
        details["include_dnc"] = asker.include_dnc
        with write() as conn:
            audit.record(conn, actor, ending.action, fmt, details)
            contacts.audit_reveal(conn, tally, kind="export", target=path, scope=scope)

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return stream_export(
        fmt,
        f"{export.file}-{stamp}.{fmt}",
        export.header,
        export.rows(get_engine(), flt, tally),
        audit=audited,
        count=lambda: queries.count_cases(get_conn(), flt),
        sheet=export.sheet,
        noun="cases",
    )


@bp.route("/cases.csv", methods=["GET", "POST"])
@require_role("manager")
def cases_csv():
    """Download the filtered case list as CSV (POST: with DNC/TCPA phones)."""
    return _export("csv")


@bp.route("/cases.xlsx", methods=["GET", "POST"])
@require_role("manager")
def cases_xlsx():
    """Download the filtered case list as an Excel workbook (POST: with DNC/TCPA
    phones)."""
    return _export("xlsx")


def _sales_export(fmt: str):
    """Stream the filtered sales as ``fmt``; audit it when it ends. A filter that
    cannot be read is a 400 naming it: nothing exported or audited."""
    try:
        flt = SaleFilter.from_args(request.args)
    except params.BadParameter as exc:
        abort(Response(str(exc), status=400, mimetype="text/plain"))
    actor, filters = current_user.email, flt.as_args()

    def audited(ending: Ending) -> None:
        with write() as conn:
            details = {"filters": filters, **ending.details()}
            audit.record(conn, actor, ending.action, f"sales.{fmt}", details)

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return stream_export(
        fmt,
        f"ct-sales-{stamp}.{fmt}",
        SALES_HEADER,
        sale_rows(get_engine(), flt),
        audit=audited,
        count=lambda: count_sales(get_conn(), flt),
        sheet="Sales",
        noun="sales",
    )


@bp.get("/sales.csv")
@require_role("manager")
def sales_csv():
    """Download the filtered sales list as CSV."""
    return _sales_export("csv")


@bp.get("/sales.xlsx")
@require_role("manager")
def sales_xlsx():
    """Download the filtered sales list as an Excel workbook."""
    return _sales_export("xlsx")


@bp.get("/mailing.csv")
@require_role("manager")
def mailing_csv():
    """Download the mailing list of the filtered cases' likely owners as CSV."""
    return _export("csv", "mailing")


@bp.get("/mailing.xlsx")
@require_role("manager")
def mailing_xlsx():
    """Download the mailing list as an Excel workbook."""
    return _export("xlsx", "mailing")
