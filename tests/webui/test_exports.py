"""Exports: CSV and XLSX of the filtered list; formulas neutralised, DNC left out,
sandbox never exported, every export audited."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from ctforeclosure import db
from tests.webui.conftest import EMAILS, FORMULA_NAME, PHONE_SANDBOX, csrf_token
from webui import streaming


def _csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _xlsx(response) -> list[dict]:
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def test_export_csv_follows_the_current_filters(as_role):
    rows = _csv(
        as_role("manager").get("/exports/cases.csv?town=Hartford&sort=docket&order=asc")
    )
    assert [r["Docket"] for r in rows] == ["HHD-CV-19-6001234-S", "HHD-CV-22-6160660-S"]
    assert rows[1]["Property address"] == "12 Elm Street"
    assert rows[1]["Judiciary link"].endswith("DocketNo=HHD-CV-22-6160660-S")


def test_export_of_a_text_search_has_each_match_once_in_the_list_order(as_role):
    """ "OE," is in every case name (Doe, Roe, Poe) and in a party's name (Poe)."""
    rows = _csv(
        as_role("manager").get("/exports/cases.csv?q=oe,&sort=docket&order=asc")
    )
    assert [r["Docket"] for r in rows] == [
        "HHD-CV-19-6001234-S",
        "HHD-CV-22-6160660-S",
        "NNH-CV-23-6012345-S",
    ]


def test_export_of_a_too_short_search_is_refused_with_the_reason(as_role):
    response = as_role("manager").get("/exports/cases.csv?q=oe")
    assert response.status_code == 400
    assert "at least 3 characters" in response.get_data(as_text=True)


def test_export_csv_neutralises_formulas(as_role):
    rows = _csv(as_role("manager").get("/exports/cases.csv?county=New+Haven"))
    assert rows[0]["Defendants"] == "'" + FORMULA_NAME


def test_export_xlsx_neutralises_formulas(as_role):
    rows = _xlsx(as_role("manager").get("/exports/cases.xlsx?county=New+Haven"))
    cell = rows[0]["Defendants"]
    assert cell.data_type == "s"
    assert cell.value == "'" + FORMULA_NAME


def test_export_leaves_out_dnc_phones_by_default(as_role):
    rows = _csv(as_role("manager").get("/exports/cases.csv?town=Hartford&q=elm"))
    assert rows[0]["Phones"] == "(860) 555-0123"
    assert rows[0]["Emails"] == "jdoe@example.com"


def _with_dnc(client, path: str):
    """Export the way the cases page's form asks for flagged phones (a POST)."""
    token = csrf_token(client, "/")
    return client.post(path, data={"csrf_token": token, "include_dnc": "1"})


def test_export_includes_marked_dnc_phones_when_asked_and_audits_it(app, as_role):
    client = as_role("manager")
    rows = _csv(_with_dnc(client, "/exports/cases.csv?q=elm"))
    assert rows[0]["Phones"] == "(860) 555-0123; (860) 555-0199 [DNC]"
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        record = conn.execute(
            sa.select(db.audit_log).where(db.audit_log.c.action == "export")
        ).one()
    assert record.actor == EMAILS["manager"]
    assert record.target == "csv"
    assert record.details["include_dnc"] is True
    assert record.details["rows"] == 1
    assert record.details["filters"] == {"q": "elm"}


def test_export_never_contains_sandbox_results(as_role):
    client = as_role("admin")
    csv_text = _with_dnc(client, "/exports/cases.csv").get_data(as_text=True)
    xlsx = _xlsx(_with_dnc(client, "/exports/cases.xlsx"))
    assert "555-0177" not in csv_text and PHONE_SANDBOX not in csv_text
    assert all("0177" not in (r["Phones"].value or "") for r in xlsx)


def test_export_xlsx_has_dates_and_all_rows(as_role):
    rows = _xlsx(as_role("manager").get("/exports/cases.xlsx"))
    assert len(rows) == 3
    assert rows[0]["Filed"].is_date


def test_viewer_cannot_export(as_role):
    client = as_role("viewer")
    assert client.get("/exports/cases.csv").status_code == 403
    assert client.get("/exports/cases.xlsx").status_code == 403


def _audited_exports(app) -> list:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        return conn.execute(
            sa.select(db.audit_log.c.action, db.audit_log.c.details)
            .where(db.audit_log.c.action.like("export%"))
            .order_by(db.audit_log.c.id)
        ).all()


def test_export_xlsx_goes_on_in_a_new_sheet_past_the_sheet_limit(as_role, monkeypatch):
    monkeypatch.setattr(streaming, "XLSX_SHEET_ROWS", 3)  # a header and two rows
    response = as_role("manager").get("/exports/cases.xlsx?sort=docket&order=asc")
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Cases", "Cases 2"]
    sheets = [[r[0] for r in ws.iter_rows(values_only=True)] for ws in workbook]
    assert sheets == [
        ["Docket", "HHD-CV-19-6001234-S", "HHD-CV-22-6160660-S"],
        ["Docket", "NNH-CV-23-6012345-S"],
    ]


def test_an_export_left_early_is_audited_with_the_rows_sent(app, as_role, monkeypatch):
    monkeypatch.setattr(streaming, "FLUSH_CHARS", 1)  # one piece per row
    response = as_role("manager").get("/exports/cases.csv", buffered=False)
    pieces = iter(response.response)
    next(pieces), next(pieces)  # the first row was taken when the second was asked
    response.close()  # what the server does when the client goes away
    [(action, details)] = _audited_exports(app)
    assert action == "export"
    assert details["ended"] == "client went away" and details["rows"] == 1


def test_an_export_over_the_operators_maximum_is_refused_and_audited(app, as_role):
    app.config["EXPORT_MAX_ROWS"] = 2
    manager = as_role("manager")
    response = manager.get("/exports/cases.xlsx")
    assert response.status_code == 400
    assert response.get_data(as_text=True) == (
        "3 cases match; exports are limited to 2: narrow the filter"
    )
    assert "Content-Disposition" not in response.headers
    assert len(_csv(manager.get("/exports/cases.csv?town=Hartford"))) == 2
    refused, exported = _audited_exports(app)
    assert refused == (
        "export.refused",
        {"filters": {}, "matches": 3, "limit": 2, "include_dnc": False},
    )
    assert exported.action == "export" and exported.details["rows"] == 2


@pytest.mark.parametrize("value", ["0", "lots", "-5"])
def test_a_maximum_that_is_not_a_whole_number_stops_the_web_ui(value):
    from webui import ConfigurationError, create_app

    with pytest.raises(ConfigurationError, match="CTF_EXPORT_MAX_ROWS"):
        create_app({"SECRET_KEY": "k", "EXPORT_MAX_ROWS": value})
