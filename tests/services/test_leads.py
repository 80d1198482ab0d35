"""Leads survive what the crawl and skip tracing do: a re-crawl of the case (even
with changes) and a purge leave the status, assignee, tags, notes and the
do-not-contact list as they were."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ctforeclosure.services import leads, notes, users
from ctforeclosure.services import suppressions as dnc
from ctforeclosure.skiptrace import purge
from ctforeclosure.store.cases import upsert_cases
from tests.store.factory import make_case


@pytest.fixture(autouse=True)
def suppression_key(monkeypatch):
    monkeypatch.setenv("CTF_SUPPRESSION_KEY", "leads-test-key")


def test_a_recrawl_and_a_purge_never_reset_a_lead(migrated_engine):
    case = make_case()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with migrated_engine.begin() as conn:
        upsert_cases(conn, [case], now=now)
        users.create_user(
            conn, "m@example.org", "a long enough passphrase 1", "manager", actor="t"
        )
        change = leads.Change(
            status="Contacting", assignee="m@example.org", add_tags=("callback",)
        )
        leads.update(conn, [case.docket_no], change, "m@example.org")
        notes.add(conn, case.docket_no, "m@example.org", "Spoke to the owner")
        dnc.add(conn, "phone", "+18605550123", "asked", "m@example.org")
    case.law_day = date(2027, 1, 5)  # the next crawl sees a change
    case.detail_hash = None
    with migrated_engine.begin() as conn:
        upsert_cases(conn, [case], now=now + timedelta(days=1))
    purge.purge_person(migrated_engine, "DOE, JANE", "admin@example.org")
    with migrated_engine.connect() as conn:
        lead = leads.get(conn, case.docket_no)
        assert (lead.status, lead.assignee, lead.tags) == (
            "Contacting",
            "m@example.org",
            ["callback"],
        )
        assert [n.body for n in notes.of_case(conn, case.docket_no)] == [
            "Spoke to the owner"
        ]
        assert dnc.lookup(conn, [("phone", "+18605550123")])


def test_a_status_in_use_cannot_be_deleted_nor_the_first(migrated_engine):
    with migrated_engine.begin() as conn:
        upsert_cases(conn, [make_case()], now=datetime(2026, 12, 1, tzinfo=UTC))
        leads.update(conn, ["HHDCV246000001S"], leads.Change(status="Lost"), "m@x.org")
        lost = leads.status_named(conn, "lost")
        with pytest.raises(leads.LeadError, match="1 leads have this status"):
            leads.delete_status(conn, lost.id, "admin@x.org")
        with pytest.raises(leads.LeadError, match="first status"):
            leads.delete_status(conn, leads.statuses(conn)[0].id, "admin@x.org")
        with pytest.raises(leads.LeadError, match="not an active manager"):
            leads.update(
                conn, ["HHDCV246000001S"], leads.Change(assignee="x@x.org"), "m@x.org"
            )
