"""The do-not-contact list in the web UI and the API: a suppressed number is struck
through with its reason on the case page, left out of exports (even with
include_dnc), flagged and masked by the API; the list keeps no number; only admins
remove an entry, with a reason; a new trace finding the same number finds it
suppressed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.services import suppressions as dnc
from ctforeclosure.skiptrace import store
from tests.webui.conftest import (
    DOCKET_HARTFORD,
    DOCKET_OLD,
    EMAIL,
    PHONE_DNC,
    PHONE_OK,
    api_token,
    csrf_token,
)
from tests.webui.test_exports import _csv, _with_dnc

SUPPRESSION_KEY = "test-suppression-key-not-for-production"

#: Tests whose logic does not depend on the database run on SQLite only (the
#: time budget); those exercising SQL filters, sorts or sequences run on both.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def suppression_key(monkeypatch):
    monkeypatch.setenv("CTF_SUPPRESSION_KEY", SUPPRESSION_KEY)


def _suppress(client, **form):
    token = csrf_token(client, f"/cases/{DOCKET_HARTFORD}")
    data = {"csrf_token": token, "docket_no": DOCKET_HARTFORD, **form}
    return client.post("/suppressions/", data=data)


def _audit(app, action: str) -> list:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        return conn.execute(
            sa.select(db.audit_log).where(db.audit_log.c.action == action)
        ).all()


def test_a_suppressed_phone_is_struck_through_left_out_and_kept_as_a_hash(app, as_role):
    manager = as_role("manager")
    assert (
        _suppress(manager, phone="(860) 555-0123", reason="wrong_number").status_code
        == 302
    )
    page = manager.get(f"/cases/{DOCKET_HARTFORD}").get_data(as_text=True)
    assert "<s>(***) ***-0123</s>" in page
    assert "do not contact (wrong number)" in page
    assert "(860) 555-0123" not in page and PHONE_OK not in page
    # exports leave it out, even when DNC/TCPA numbers are asked for
    assert _csv(manager.get("/exports/cases.csv?q=elm"))[0]["Phones"] == ""
    flagged = _csv(_with_dnc(manager, "/exports/cases.csv?q=elm"))[0]["Phones"]
    assert flagged == "(860) 555-0199 [DNC]"
    # the list holds a hash and the last 4, never the number; the audit the same
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        row = conn.execute(sa.select(db.suppressions)).one()
    assert row.last4 == "0123" and row.reason == "wrong_number"
    assert "5550123" not in str(tuple(row)) and len(row.value_hash) == 64
    [added] = _audit(app, "suppression.add")
    assert added.details["last4"] == "0123" and "5550123" not in str(added.details)


@SQLITE_ONLY
def test_the_api_returns_a_suppressed_phone_flagged_and_masked(app, as_role):
    token = api_token(app, "manager")
    headers = {"Authorization": f"Bearer {token}"}
    answer = app.test_client().post(
        "/api/v1/suppressions",
        json={"email": EMAIL.upper(), "reason": "asked"},
        headers=headers,
    )
    assert answer.status_code == 201 and answer.json["last4"] == "jdoe"
    _suppress(as_role("manager"), phone=PHONE_DNC, reason="attorney")
    case = app.test_client().get(
        f"/api/v1/cases/{DOCKET_HARTFORD}?include_dnc=true", headers=headers
    )
    [party] = [p for p in case.json["parties"] if p["id"] == 2]
    [trace] = party["skiptraces"]
    by_number = {p["number"]: p for p in trace["phones"]}
    assert by_number["+18605550123"]["verdict"] == "callable"
    withheld = by_number["(***) ***-0199"]
    assert withheld["suppressed"] and not withheld["callable"]
    assert "attorney-represented" in withheld["verdict"]
    assert trace["emails"] == [] and trace["withheld_emails"] == ["***jdoe@example.com"]
    again = app.test_client().post(
        "/api/v1/suppressions",
        json={"phone": PHONE_DNC, "reason": "asked"},
        headers=headers,
    )
    assert again.status_code == 409


@SQLITE_ONLY
def test_only_admins_remove_an_entry_with_a_reason_and_the_number_returns(app, as_role):
    manager, admin, viewer = as_role("manager"), as_role("admin"), as_role("viewer")
    assert _suppress(viewer, phone=PHONE_OK, reason="asked").status_code == 403
    _suppress(manager, phone=PHONE_OK, reason="asked")
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        entry_id = conn.execute(sa.select(db.suppressions.c.id)).scalar_one()
    form = {"csrf_token": csrf_token(manager, "/suppressions/")}
    removal = f"/suppressions/{entry_id}/remove"
    assert (
        manager.post(removal, data={**form, "removal_reason": "x"}).status_code == 403
    )
    token = csrf_token(admin, "/suppressions/")
    refused = admin.post(removal, data={"csrf_token": token})
    assert refused.status_code == 400 and "removal_reason" in refused.get_data(
        as_text=True
    )
    done = admin.post(
        removal, data={"csrf_token": token, "removal_reason": "owner asked again"}
    )
    assert done.status_code == 302
    [record] = _audit(app, "suppression.remove")
    assert record.details == {"reason": "owner asked again"}
    assert "(860) 555-0123" in manager.get(f"/cases/{DOCKET_HARTFORD}").get_data(
        as_text=True
    )


@SQLITE_ONLY
def test_a_new_trace_with_the_same_number_is_still_suppressed(app, as_role):
    manager = as_role("manager")
    _suppress(manager, phone=PHONE_OK, reason="wrong_number")
    person = {
        "meta": {"matched": True},
        "phoneNumbers": [{"number": "8605550123", "type": "Mobile"}],
    }
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        store.insert_results(
            conn,
            [
                {
                    "party_id": 2,
                    "person_key": "k2",
                    "status": "matched",
                    "sandbox": False,
                    "fetched_at": datetime.now(UTC),
                    "person": person,
                }
            ],
        )
    page = manager.get(f"/cases/{DOCKET_HARTFORD}").get_data(as_text=True)
    assert page.count("<s>(***) ***-0123</s>") == 2
    assert "(860) 555-0123" not in page


@SQLITE_ONLY
def test_a_suppressed_person_shows_the_reason_and_no_contacts(app, as_role):
    manager = as_role("manager")
    token = csrf_token(manager, f"/cases/{DOCKET_OLD}")
    manager.post(
        "/suppressions/",
        data={"csrf_token": token, "party_id": "4", "reason": "deceased"},
    )
    page = manager.get(f"/cases/{DOCKET_OLD}").get_data(as_text=True)
    assert "do not contact: deceased" in page
    assert 'data-kind="person"' not in manager.get(
        f"/cases/{DOCKET_HARTFORD}"
    ).get_data(
        as_text=True
    )  # its defendant's name cannot be read as a person's: no form to suppress it
    not_a_person = _suppress(manager, party_id="1", reason="asked")  # FIRST BANK
    assert not_a_person.status_code == 400
    assert "party_id" in not_a_person.get_data(as_text=True)


@SQLITE_ONLY
def test_without_a_key_the_list_fails_closed(app, as_role, monkeypatch):
    manager = as_role("manager")
    _suppress(manager, phone=PHONE_OK, reason="asked")
    monkeypatch.delenv("CTF_SUPPRESSION_KEY")
    with pytest.raises(dnc.NoKey):  # an error page, never the number
        manager.get(f"/cases/{DOCKET_HARTFORD}")
