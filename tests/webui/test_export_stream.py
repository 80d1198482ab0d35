"""Exports stream every matching row (issue 26): 150,000 cases on PostgreSQL, served
by the real ``ctforeclosure web``, come out whole in CSV and XLSX, the audit counts
them all, and the serving process's memory does not grow with the export; an
operator's maximum below the count refuses up front and writes nothing.

One database fill (COPY, seconds) and one server serve every test of this module.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from openpyxl import load_workbook

from ctforeclosure import db, migrate
from ctforeclosure.services import users as user_service
from tests.conftest import ENV_VARS, throwaway_database
from tests.webui.conftest import CSRF_RE, EMAILS, PASSWORD, login
from tests.webui.test_workers import _children, _cookie, _web_server

pytestmark = pytest.mark.postgres

CASES = 150_000
#: The serving process's peak memory may grow by less than this during an export.
MAX_GROWTH_KB = 100 * 1024


def _copy_cases(url: str, count: int) -> None:
    """COPY ``count`` cases, each with one defendant (fake names), into ``url``."""
    import psycopg

    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(False)
    now, filed = datetime.now(UTC), date(2020, 1, 1)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY cases (docket_no, search_town, county, case_name, property_street, "
            "file_date, is_active, flags, listed, first_seen, last_seen, "
            "last_changed) FROM STDIN"
        ) as copy:
            for n in range(count):
                docket = f"HHDCV{20 + n % 6}{n:07d}S"
                name = f"SAMPLE BANK v. PERSON{n}, PAT"
                where = ("Hartford", "Hartford", name, f"{n % 900 + 1} Sample St")
                filed_on = filed + timedelta(days=n % 1500)
                copy.write_row(
                    (docket, *where, filed_on, True, "[]", True, now, now, now)
                )
        with cur.copy(
            "COPY parties (docket_no, party_no, role, category, name, non_appearing,"
            " appearances, first_seen, last_seen) FROM STDIN"
        ) as copy:
            for n in range(count):
                docket = f"HHDCV{20 + n % 6}{n:07d}S"
                row = (docket, "D-01", "D", "Defendant", f"PERSON{n}, PAT", False)
                copy.write_row((*row, "[]", now, now))
        conn.commit()
        conn.autocommit = True
        cur.execute("ANALYZE cases, parties")


@pytest.fixture(scope="module")
def big_db(postgres_admin_url):
    """A migrated PostgreSQL database of 150,000 cases and the seeded users."""
    with throwaway_database(postgres_admin_url, prefix="ctf_export") as url:
        migrate.upgrade(url)
        _copy_cases(url, CASES)
        engine = db.make_engine(url)
        with engine.begin() as conn:
            user_service.create_user(
                conn, EMAILS["manager"], PASSWORD, "manager", actor="test"
            )
        engine.dispose()
        yield url


@pytest.fixture(scope="module")
def server(big_db, tmp_path_factory):
    """``ctforeclosure web`` on the big database, none of the operator's settings
    in its environment (no export maximum)."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ENV_VARS:
            mp.delenv(name, raising=False)
        with _web_server(big_db, tmp_path_factory.mktemp("web")) as (base, proc, _):
            yield base, proc


def _signed_in(base: str) -> dict:
    """Sign in as the manager over HTTP; return the request headers to send."""
    form = requests.get(f"{base}/auth/login", timeout=10)
    signed_in = requests.post(
        f"{base}/auth/login",
        data={
            "email": EMAILS["manager"],
            "password": PASSWORD,
            "csrf_token": CSRF_RE.search(form.text)[1],
        },
        headers={"Cookie": _cookie(form)},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302
    return {"Cookie": _cookie(signed_in)}


def _peaks(proc) -> dict[str, int]:
    """Return each worker process's peak resident memory (VmHWM, kB)."""
    peaks = {}
    for pid in _children(proc.pid):
        status = Path(f"/proc/{pid}/status").read_text()
        peaks[pid] = int(status.split("VmHWM:")[1].split()[0])
    return peaks


def _exports(url: str) -> list:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.select(db.audit_log.c.action, db.audit_log.c.target)
                .add_columns(db.audit_log.c.details)
                .where(db.audit_log.c.action.like("export%"))
                .order_by(db.audit_log.c.id)
            ).all()
    finally:
        engine.dispose()


def _download(base: str, path: str, sink) -> requests.Response:
    with requests.get(
        f"{base}{path}", headers=_signed_in(base), stream=True, timeout=300
    ) as response:
        assert response.status_code == 200, response.text[:500]
        for piece in response.iter_content(256 * 1024):
            sink.write(piece)
    return response


def test_the_csv_holds_every_case_in_flat_memory(server, big_db):
    base, proc = server
    before = _peaks(proc)
    body = io.BytesIO()
    _download(base, "/exports/cases.csv", body)
    growth = {pid: kb - before[pid] for pid, kb in _peaks(proc).items()}
    rows = list(csv.reader(io.StringIO(body.getvalue().decode())))
    assert rows[0][0] == "Docket" and len(rows) == CASES + 1
    assert len({r[0] for r in rows[1:]}) == CASES
    assert all(r[11].startswith("PERSON") for r in rows[1:])  # each one defendant
    *_, (action, target, details) = _exports(big_db)
    assert (action, target) == ("export", "csv")
    assert details["rows"] == CASES and details["ended"] == "complete"
    assert max(growth.values()) < MAX_GROWTH_KB, growth


def test_the_xlsx_holds_every_case(server, big_db, tmp_path):
    base, _proc = server
    path = tmp_path / "cases.xlsx"
    with path.open("wb") as sink:
        _download(base, "/exports/cases.xlsx", sink)
    workbook = load_workbook(path, read_only=True)
    assert workbook.sheetnames == ["Cases"]
    rows = workbook["Cases"].iter_rows(max_row=2, values_only=True)
    assert next(rows)[0] == "Docket" and next(rows)[11].startswith("PERSON")
    workbook.close()
    # every row, counted in the sheet's XML (openpyxl reads ~8,000 rows/s)
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    assert sheet.count(b"<row ") == CASES + 1
    *_, (action, target, details) = _exports(big_db)
    assert (action, target) == ("export", "xlsx")
    assert details["rows"] == CASES and details["ended"] == "complete"


def test_a_maximum_below_the_count_refuses_and_writes_nothing(big_db, monkeypatch):
    from webui import create_app

    monkeypatch.setenv("CTF_EXPORT_MAX_ROWS", "100000")
    monkeypatch.setenv("CTF_SECRET_KEY", "test-secret-key-not-for-production")
    app = create_app({"TESTING": True, "DATABASE_URL": big_db})
    try:
        client = app.test_client()
        assert login(client, "manager").status_code == 302
        before = _exports(big_db)
        response = client.get("/exports/cases.csv")
        assert response.status_code == 400
        assert response.get_data(as_text=True) == (
            "150,000 cases match; exports are limited to 100,000: narrow the filter"
        )
        assert "Content-Disposition" not in response.headers
        [(action, target, details)] = _exports(big_db)[len(before) :]
        assert (action, target) == ("export.refused", "csv")
        assert details == {
            "filters": {},
            "matches": CASES,
            "limit": 100_000,
            "include_dnc": False,
        }
    finally:
        app.extensions["ctforeclosure_engine"].dispose()
