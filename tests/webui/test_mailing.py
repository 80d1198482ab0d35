"""The mailing list: one row per likely owner of the filtered cases, the newest
production skip trace's mailing address (never a sandbox one) else the property
address, deduplicated, the suppressed left out, audited like the other exports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import DOCKET_OLD, csrf_token
from tests.webui.test_exports import _csv, _xlsx

#: Tests whose logic does not depend on the database run on SQLite only (the
#: time budget); those exercising SQL filters, sorts or sequences run on both.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def suppression_key(monkeypatch):
    monkeypatch.setenv("CTF_SUPPRESSION_KEY", "mailing-test-key")


def _trace(conn, sandbox: bool, street: str, age_days: int) -> None:
    conn.execute(
        db.skiptrace_results.insert().values(
            party_id=4,
            person_key="k4",
            status="matched",
            persons=[],
            sandbox=sandbox,
            mailing_address={
                "street": street,
                "city": "Hartford",
                "state": "CT",
                "zip": "06105",
            },
            fetched_at=datetime.now(UTC) - timedelta(days=age_days),
        )
    )


def test_the_mailing_list_has_likely_owners_at_their_mailing_address(app, as_role):
    manager = as_role("manager")
    rows = _csv(manager.get("/exports/mailing.csv"))
    # banks, placeholders and unreadable names are not owners: one row, the property
    assert [(r["Name"], r["Mailing street"], r["Docket"]) for r in rows] == [
        ("POE, EDGAR", "7 Oak Avenue", "HHD-CV-19-6001234-S")
    ]
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        _trace(conn, sandbox=False, street="1 Post Office Road", age_days=2)
        _trace(conn, sandbox=True, street="99 Sandbox Lane", age_days=0)
    [row] = _xlsx(manager.get("/exports/mailing.xlsx?town=Hartford"))
    assert row["Mailing street"].value == "1 Post Office Road"
    assert row["Property address"].value == "7 Oak Avenue, Hartford, CT"
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        records = conn.execute(
            sa.select(db.audit_log).where(db.audit_log.c.action == "export")
        ).all()
    assert [r.details["list"] for r in records] == ["mailing", "mailing"]
    assert records[1].details["filters"] == {"town": "Hartford"}


@SQLITE_ONLY
def test_a_suppressed_person_is_left_out_and_viewers_cannot_export(as_role):
    manager = as_role("manager")
    token = csrf_token(manager, f"/cases/{DOCKET_OLD}")
    manager.post(
        "/suppressions/",
        data={"csrf_token": token, "party_id": "4", "reason": "asked"},
    )
    assert _csv(manager.get("/exports/mailing.csv")) == []
    assert as_role("viewer").get("/exports/mailing.csv").status_code == 403
    assert manager.get("/exports/mailing.csv?include_dnc=1").status_code == 400
