"""The do-not-contact list as a service: keyed hashes and last 4 only, one verdict
for each contact, a suppressed person skipped by a skip-trace quote (unbilled),
and a list that cannot be read without its key (fail closed)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.services import contacts
from ctforeclosure.services import suppressions as dnc
from ctforeclosure.skiptrace import service as skiptrace
from tests.skiptrace.conftest import add_case, add_party
from tests.skiptrace.test_service import _service

KEY = "service-test-suppression-key"


@pytest.fixture(autouse=True)
def suppression_key(monkeypatch):
    monkeypatch.setenv("CTF_SUPPRESSION_KEY", KEY)


def test_the_hash_is_keyed_and_normalised():
    secret = dnc.key()
    assert dnc.digest("email", " J@X.org", secret) == dnc.digest(
        "email", "j@x.org", secret
    )
    assert dnc.digest("phone", "+18605550123", secret) != dnc.digest(
        "phone", "+18605550123", b"another key"
    )
    assert dnc.last4("phone", "+18605550123") == "0123"
    assert dnc.last4("email", "JaneRoe@example.org") == "eroe"


def test_a_quote_skips_a_suppressed_person_unbilled(migrated_engine):
    with migrated_engine.begin() as conn:
        add_case(conn, "HHDCV266000001S")
        add_party(conn, "HHDCV266000001S", "P-01", "FIRST BANK")
        kept = add_party(conn, "HHDCV266000001S", "D-01", "ROE, JANE")
        gone = add_party(conn, "HHDCV266000001S", "D-02", "DOE, JOHN")
        key = skiptrace.person_keys(conn, [gone])[gone]
        dnc.add(conn, "person", key, "deceased", "m@example.org")
    quote = _service(migrated_engine).quote(docket_nos=["HHDCV266000001S"])
    assert [r.party_ids for r in quote.records] == [(kept,)]
    assert [
        s.party_id for s in quote.skipped if s.reason == skiptrace.DO_NOT_CONTACT
    ] == [gone]
    assert quote.max_cost == quote.unit_cost


def test_without_the_key_an_empty_list_reads_as_empty_and_a_full_one_fails(
    migrated_engine, monkeypatch
):
    with migrated_engine.begin() as conn:
        dnc.add(conn, "phone", "+18605550123", "asked", "m@example.org")
    monkeypatch.delenv("CTF_SUPPRESSION_KEY")
    with migrated_engine.connect() as conn:
        with pytest.raises(dnc.NoKey):
            dnc.lookup(conn, [("phone", "+18605550123")])
        conn.execute(db.suppressions.update().values(removed_at=sa.func.now()))
        assert dnc.lookup(conn, [("phone", "+18605550123")]) == {}
        with pytest.raises(dnc.NoKey):
            dnc.add(conn, "phone", "+18605550123", "asked", "m@example.org")


def test_each_phone_has_one_verdict():
    phone = contacts.ShownPhone("+18605550123", "Mobile", False, False, 1)
    flagged = contacts.ShownPhone("+18605550199", "Mobile", True, True, 2)
    assert phone.verdict == "callable"
    assert flagged.verdict == "not callable: DNC/TCPA" and not flagged.callable
