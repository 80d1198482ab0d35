"""Exports of the current filtered case list as CSV and XLSX (manager and up).

Spreadsheet formulas in any cell are neutralised (a leading ``'``), every export is
audited, phones flagged DNC or TCPA are left out unless the user explicitly asks
(then they are marked and the choice is audited), and sandbox skip-trace results are
never exported.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, request
from flask_login import current_user
from openpyxl import Workbook

from ctforeclosure.services import audit
from webui import masking, params, queries
from webui.auth import require_role
from webui.cases import refused
from webui.db import get_conn, write
from webui.filters import docket_dashed, judiciary_url

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
#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
CHUNK = 500  # dockets per child-row query


def neutralise(value) -> object:
    """Return the value with a leading ``'`` when a spreadsheet would run it."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _status(row) -> str:
    if row.is_active is True:
        return "active"
    if row.is_active is False:
        return "disposed"
    return ""


def export_rows(conn: sa.Connection, flt, *, include_dnc: bool, visible: bool):
    """Yield the header, then one row per matching case."""
    yield HEADER
    limit = current_app.config["EXPORT_MAX_ROWS"]
    case_rows = queries.iter_cases(conn, flt, limit)
    for start in range(0, len(case_rows), CHUNK):
        chunk = case_rows[start : start + CHUNK]
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
        for c in chunk:
            phones, emails = [], []
            for p in defendants.get(c.docket_no, []):
                for t in traces.get(p.id, [])[:1]:  # newest result only
                    for ph in t.phones:
                        flagged = bool(ph.dnc or ph.tcpa)
                        if flagged and not include_dnc:
                            continue
                        text = masking.phone_for(ph.number, visible=visible)
                        if flagged:
                            marks = [
                                m
                                for m, on in (("DNC", ph.dnc), ("TCPA", ph.tcpa))
                                if on
                            ]
                            text += f" [{'/'.join(marks)}]"
                        phones.append(text)
                    emails.extend(
                        masking.email_for(e.email, visible=visible) for e in t.emails
                    )
            row = (
                docket_dashed(c.docket_no),
                c.search_town,
                c.county or "",
                c.case_name or "",
                c.property_street or c.listing_street or "",
                c.file_date,
                c.judgment_type or "",
                c.law_day,
                c.sale_date,
                _status(c),
                c.disposition or "",
                "; ".join(p.name for p in defendants.get(c.docket_no, [])),
                "; ".join(phones),
                "; ".join(emails),
                judiciary_url(c.docket_no),
            )
            yield tuple(neutralise(v) for v in row)


def _prepare(fmt: str):
    """Return the export's rows and file name; audit it. A filter that cannot be
    read shows the list's form again (400): nothing is exported or audited."""
    try:
        flt = queries.CaseFilter.from_args(request.args)
    except params.BadParameter as exc:
        abort(refused(exc))
    if problem := flt.search_problem():
        abort(Response(problem, status=400, mimetype="text/plain"))
    include_dnc = request.args.get("include_dnc") == "1"
    rows = list(
        export_rows(
            get_conn(),
            flt,
            include_dnc=include_dnc,
            visible=current_user.sees_contacts,
        )
    )
    with write() as conn:
        audit.record(
            conn,
            current_user.email,
            "export",
            fmt,
            {
                "filters": flt.as_args(),
                "rows": len(rows) - 1,
                "include_dnc": include_dnc,
            },
        )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return rows, f"ct-foreclosures-{stamp}.{fmt}"


def _attachment(body, filename: str, mimetype: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/cases.csv")
@require_role("manager")
def cases_csv():
    """Download the filtered case list as CSV."""
    rows, filename = _prepare("csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([v.isoformat() if isinstance(v, date) else v for v in row])
    return _attachment(buffer.getvalue(), filename, "text/csv")


@bp.get("/cases.xlsx")
@require_role("manager")
def cases_xlsx():
    """Download the filtered case list as an Excel workbook."""
    rows, filename = _prepare("xlsx")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Cases")
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _attachment(
        buffer.getvalue(),
        filename,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
