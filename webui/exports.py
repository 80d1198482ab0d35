"""Exports of the current filtered case list, and its mailing list
(:mod:`webui.mailing`), as CSV and XLSX (manager and up).

Spreadsheet formulas in any cell are neutralised (a leading ``'``), every export is
audited, and sandbox skip-trace results are never exported. Which phones and emails
an export holds is the contacts policy's decision
(:mod:`ctforeclosure.services.contacts`): DNC/TCPA-flagged phones only when a POST
with the CSRF token asks (``include_dnc``, the cases page's "Export with DNC/TCPA
numbers" form), then marked; a GET naming ``include_dnc`` is refused with 400,
never silently ignored.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, request
from flask_login import current_user
from openpyxl import Workbook

from ctforeclosure.services import audit, contacts
from webui import mailing, params, queries
from webui.auth import require_role
from webui.cases import refused
from webui.db import get_conn, write
from webui.filters import docket_dashed, format_phone, judiciary_url
from webui.reveal import include_dnc_asked, page_asker

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


def _contacts_text(shown: list[contacts.ShownTrace]) -> tuple[str, str]:
    """Return a party's newest phones (flagged ones marked) and emails as text."""
    phones, emails = [], []
    for t in shown:
        for ph in t.phones:
            marks = f" [{'/'.join(ph.marks)}]" if ph.flagged else ""
            phones.append(format_phone(ph.number) + marks)
        emails.extend(t.emails)
    return "; ".join(phones), "; ".join(emails)


def export_rows(conn: sa.Connection, flt, revealed: contacts.Revealed):
    """Yield the header, then one row per matching case; ``revealed`` collects
    what the rows show of each party's contacts (for the audit record)."""
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
        newest = {party_id: found[:1] for party_id, found in traces.items()}
        shown = contacts.reveal(
            revealed.asker, newest, contacts.suppressions(conn, newest)
        ).by_party
        revealed.by_party.update(shown)
        for c in chunk:
            parties = defendants.get(c.docket_no, [])
            texts = [_contacts_text(shown.get(p.id, [])) for p in parties]
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
                "; ".join(p.name for p in parties),
                "; ".join(phones for phones, _ in texts if phones),
                "; ".join(emails for _, emails in texts if emails),
                judiciary_url(c.docket_no),
            )
            yield tuple(neutralise(v) for v in row)


def _filter():
    """Return the request's filter; a filter that cannot be read shows the list's
    form again (400): nothing is exported or audited."""
    try:
        flt = queries.CaseFilter.from_args(request.args, me=current_user.email)
    except params.BadParameter as exc:
        abort(refused(exc))
    if problem := flt.search_problem():
        abort(Response(problem, status=400, mimetype="text/plain"))
    return flt


def _audited(fmt: str, flt, rows: list, revealed, kind: str = "cases") -> None:
    """Write the export's audit record, and the reveal's when it showed contacts."""
    details = {
        "filters": flt.as_args(),
        "rows": len(rows) - 1,
        "include_dnc": revealed.asker.include_dnc,
    }
    if kind != "cases":
        details["list"] = kind
    with write() as conn:
        audit.record(conn, current_user.email, "export", fmt, details)
        contacts.audit_reveal(
            conn,
            revealed,
            kind="export",
            target=request.path,
            scope={"filters": flt.as_args()},
        )


def _prepare(fmt: str):
    """Return the export's rows and file name; audit it."""
    flt = _filter()
    asker = page_asker(include_dnc_asked())
    revealed = contacts.Revealed(asker=asker, masked=not asker.sees_contacts)
    rows = list(export_rows(get_conn(), flt, revealed))
    _audited(fmt, flt, rows, revealed)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return rows, f"ct-foreclosures-{stamp}.{fmt}"


def _attachment(body, filename: str, mimetype: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _csv_file(rows, filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([v.isoformat() if isinstance(v, date) else v for v in row])
    return _attachment(buffer.getvalue(), filename, "text/csv")


def _xlsx_file(rows, filename: str, sheet_name: str = "Cases") -> Response:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _attachment(
        buffer.getvalue(),
        filename,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@bp.route("/cases.csv", methods=["GET", "POST"])
@require_role("manager")
def cases_csv():
    """Download the filtered case list as CSV (POST: with DNC/TCPA phones)."""
    return _csv_file(*_prepare("csv"))


@bp.route("/cases.xlsx", methods=["GET", "POST"])
@require_role("manager")
def cases_xlsx():
    """Download the filtered case list as an Excel workbook (POST: with DNC/TCPA
    phones)."""
    return _xlsx_file(*_prepare("xlsx"))


def _mailing_list(fmt: str):
    """Return the mailing list's rows (header first) and file name; audit it.
    The glue to the writers: :mod:`webui.mailing` makes the header and rows."""
    flt = _filter()
    asker = page_asker(include_dnc_asked())  # no phones: only refuses it in a URL
    revealed = contacts.Revealed(asker=asker, masked=not asker.sees_contacts)
    limit = current_app.config["EXPORT_MAX_ROWS"]
    rows = [
        mailing.HEADER,
        *(
            tuple(neutralise(v) for v in row)
            for row in mailing.rows(get_conn(), flt, limit, revealed)
        ),
    ]
    _audited(fmt, flt, rows, revealed, kind="mailing")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return rows, f"ct-mailing-list-{stamp}.{fmt}"


@bp.get("/mailing.csv")
@require_role("manager")
def mailing_csv():
    """Download the mailing list of the filtered cases' likely owners as CSV."""
    return _csv_file(*_mailing_list("csv"))


@bp.get("/mailing.xlsx")
@require_role("manager")
def mailing_xlsx():
    """Download the mailing list as an Excel workbook."""
    rows, filename = _mailing_list("xlsx")
    return _xlsx_file(rows, filename, "Mailing list")
