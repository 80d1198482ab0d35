"""The skip-trace service against the BatchData stand-in, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ctforeclosure import config, db
from ctforeclosure.skiptrace.client import AuthError
from ctforeclosure.skiptrace.service import (
    BudgetExceeded,
    NotConfiguredError,
    SkipTraceService,
)
from ctforeclosure.skiptrace.settings import SkipTraceSettings

from .conftest import add_case, add_party, seed_town


def _service(engine, **overrides) -> SkipTraceService:
    settings = SkipTraceSettings.from_config(config.load())
    values = {**settings.__dict__, **overrides}
    return SkipTraceService.from_config(engine, SkipTraceSettings(**values))


def _rows(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(*where)).all()


def test_run_happy_path_stores_results_per_party(
    migrated_engine, batchdata, configured
):
    configured(batchdata)
    seeded = seed_town(migrated_engine, cases=4)
    service = _service(migrated_engine)
    quote = service.quote(town="Hartford")
    assert sorted(pid for r in quote.records for pid in r.party_ids) == sorted(
        seeded["eligible"]
    )
    assert {s.party_id for s in quote.skipped} == set(seeded["others"])
    result = service.run(quote, triggered_by="tester@example.org")

    billed = batchdata.billed()
    results = _rows(migrated_engine, db.skiptrace_results)
    assert {r.party_id for r in results} == set(seeded["eligible"])
    matched = [r for r in results if r.status == "matched"]
    assert result.matched == len(matched) == len(billed)
    assert result.sent == len(seeded["eligible"])
    assert all(r.sandbox for r in results)
    assert result.cost == Decimal("0.07") * len(billed)
    phones = _rows(migrated_engine, db.skiptrace_phones)
    assert phones, "matched records came back without phones"
    assert all(p.number.startswith("+1") and len(p.number) == 12 for p in phones)
    assert {p.type for p in phones} <= {"Mobile", "Land Line"}
    assert all(p.tcpa is False for p in phones)  # TCPA-listed phones not asked for
    assert _rows(migrated_engine, db.skiptrace_emails)
    ledger = _rows(migrated_engine, db.skiptrace_ledger)
    assert sum(r.records_matched for r in ledger) == len(billed)
    assert sum(r.records_sent for r in ledger) == result.sent
    assert all(r.triggered_by == "tester@example.org" for r in ledger)
    assert all(b["options"] == {"includeTCPABlacklistedPhones": False} for b in billed)


def test_run_no_match_records_are_stored_and_not_billed(
    migrated_engine, batchdata, configured
):
    configured(batchdata)
    seed_town(migrated_engine, cases=10)
    service = _service(migrated_engine)
    result = service.run(service.quote(town="Hartford"), triggered_by="cli")
    no_match = _rows(
        migrated_engine,
        db.skiptrace_results,
        db.skiptrace_results.c.status == "no_match",
    )
    assert result.no_match == len(no_match) > 0, "seed produced no no-match record"
    billed_ids = {b["requestId"] for b in batchdata.billed()}
    assert len(batchdata.billed()) == result.matched
    assert not {r.person_key[:16] for r in no_match} & billed_ids
    matched = _rows(
        migrated_engine,
        db.skiptrace_results,
        db.skiptrace_results.c.status == "matched",
    )
    assert {r.person_key[:16] for r in matched} == billed_ids
    assert not _rows(
        migrated_engine,
        db.skiptrace_phones,
        db.skiptrace_phones.c.result_id.in_([r.id for r in no_match]),
    )
    assert result.cost == Decimal("0.07") * result.matched


def test_run_twice_over_a_town_bills_each_person_once(
    migrated_engine, batchdata, configured
):
    configured(batchdata)
    seed_town(migrated_engine, cases=6)
    service = _service(migrated_engine)
    first = service.run(service.quote(town="Hartford"), triggered_by="cli")
    second_quote = service.quote(town="Hartford")
    assert second_quote.records == []
    second = service.run(second_quote, triggered_by="cli")
    assert second.sent == 0
    billed = batchdata.billed()
    keys = [
        (b["name"]["first"], b["name"]["last"], b["propertyAddress"]["street"])
        for b in billed
    ]
    assert len(keys) == len(set(keys)) == first.matched


def test_quote_reuses_an_earlier_result_for_the_same_person_and_address(
    migrated_engine, batchdata, configured
):
    configured(batchdata)
    with migrated_engine.begin() as conn:
        add_case(conn, "HHDCV266000101S", property_street="12 Shared Lane")
        add_case(conn, "HHDCV266000102S", property_street="12 Shared Lane")
        first = add_party(conn, "HHDCV266000101S", "D-01", "CORA SAMPLESON")
        again = add_party(conn, "HHDCV266000102S", "D-01", "Cora  Sampleson")
    service = _service(migrated_engine)
    quote = service.quote(docket_nos=["HHDCV266000101S"])
    service.run(quote, triggered_by="cli")
    calls_before = len(batchdata.calls())
    quote = service.quote(docket_nos=["HHDCV266000102S"])
    assert quote.records == [] and [p for p, _ in quote.reuse] == [again]
    service.run(quote, triggered_by="cli")
    assert len(batchdata.calls()) == calls_before  # nothing sent
    rows = _rows(migrated_engine, db.skiptrace_results)
    by_party = {r.party_id: r for r in rows}
    assert by_party[again].status == by_party[first].status
    assert by_party[again].ledger_id is None


def test_quote_sends_one_record_for_the_same_person_twice_in_one_run(
    migrated_engine, batchdata, configured
):
    configured(batchdata)
    with migrated_engine.begin() as conn:
        add_case(conn, "HHDCV266000201S", property_street="7 Twin Court")
        add_case(conn, "HHDCV266000202S", property_street="7 Twin Court")
        a = add_party(conn, "HHDCV266000201S", "D-01", "DEVON FICTIONAL")
        b = add_party(conn, "HHDCV266000202S", "D-01", "DEVON FICTIONAL")
    service = _service(migrated_engine)
    quote = service.quote(town="Hartford")
    assert len(quote.records) == 1 and set(quote.records[0].party_ids) == {a, b}
    service.run(quote, triggered_by="cli")
    assert len(batchdata.billed()) <= 1
    assert {r.party_id for r in _rows(migrated_engine, db.skiptrace_results)} == {a, b}


def test_run_with_a_bad_key_raises_a_clear_error_and_spends_nothing(
    migrated_engine, batchdata, configured
):
    configured(batchdata, key="wrong-key")
    seed_town(migrated_engine, cases=2)
    service = _service(migrated_engine)
    with pytest.raises(AuthError, match="BATCHDATA_API_KEY"):
        service.run(service.quote(town="Hartford"), triggered_by="cli")
    assert batchdata.billed() == []
    assert _rows(migrated_engine, db.skiptrace_ledger) == []
    assert _rows(migrated_engine, db.skiptrace_results) == []


def test_run_without_a_base_url_is_refused(migrated_engine):
    seed_town(migrated_engine, cases=1)
    service = _service(migrated_engine)
    with pytest.raises(NotConfiguredError, match="BATCHDATA_BASE_URL"):
        service.run(service.quote(town="Hartford"), triggered_by="cli")


def test_run_stops_at_the_run_budget_in_the_middle(
    migrated_engine, batchdata, configured
):
    configured(batchdata)
    seed_town(migrated_engine, cases=8)
    service = _service(
        migrated_engine, unit_cost=Decimal("1"), run_budget=Decimal("3"), batch_size=2
    )
    quote = service.quote(town="Hartford")
    assert len(quote.records) > 3
    result = service.run(quote, triggered_by="cli")
    assert result.stopped and "per-run skip-trace budget" in result.stopped
    assert "SKIPTRACE_RUN_BUDGET" in result.stopped
    assert result.cost <= Decimal("3")
    assert len(batchdata.billed()) <= 3
    assert result.sent < len(quote.records)
    traced = {r.person_key for r in _rows(migrated_engine, db.skiptrace_results)}
    untraced = [r for r in quote.records if r.person_key not in traced]
    assert untraced, "every record was traced despite the cap"
    # the untraced records are offered again next time
    assert {r.person_key for r in service.quote(town="Hartford").records} == {
        r.person_key for r in untraced
    }


def test_run_refuses_when_the_monthly_budget_is_spent(
    migrated_engine, batchdata, configured
):
    configured(batchdata)
    seed_town(migrated_engine, cases=3)
    service = _service(
        migrated_engine, unit_cost=Decimal("1"), monthly_budget=Decimal("2")
    )
    first = service.run(service.quote(town="Hartford"), triggered_by="cli")
    assert first.cost <= 2
    with migrated_engine.begin() as conn:
        add_case(conn, "HHDCV266000301S")
        add_party(conn, "HHDCV266000301S", "D-01", "HARPER MADEUP")
        conn.execute(
            db.skiptrace_ledger.insert().values(
                at=datetime.now(UTC),
                triggered_by="earlier",
                records_sent=1,
                records_matched=1,
                cost=Decimal("2"),
                sandbox=True,
                status="ok",
            )
        )
    quote = service.quote(docket_nos=["HHDCV266000301S"])
    assert quote.affordable == 0
    billed_before = len(batchdata.billed())
    with pytest.raises(BudgetExceeded, match="monthly skip-trace budget"):
        service.run(quote, triggered_by="cli")
    assert len(batchdata.billed()) == billed_before


def test_run_refused_by_the_budget_sends_an_alert(
    migrated_engine, batchdata, configured, webhook, monkeypatch
):
    configured(batchdata)
    monkeypatch.setenv("ALERT_WEBHOOK_URL", webhook.url)
    seed_town(migrated_engine, cases=2)
    service = _service(migrated_engine, unit_cost=Decimal("1"), run_budget=Decimal("0"))
    with pytest.raises(BudgetExceeded):
        service.run(service.quote(town="Hartford"), triggered_by="cli")
    assert [a["kind"] for a in webhook.received] == ["skiptrace_budget_exhausted"]
    assert "SKIPTRACE_RUN_BUDGET" in json.dumps(webhook.received[0])


def test_run_stopped_by_the_budget_midway_sends_an_alert(
    migrated_engine, batchdata, configured, webhook, monkeypatch
):
    configured(batchdata)
    monkeypatch.setenv("ALERT_WEBHOOK_URL", webhook.url)
    seed_town(migrated_engine, cases=8)
    service = _service(
        migrated_engine, unit_cost=Decimal("1"), run_budget=Decimal("3"), batch_size=2
    )
    result = service.run(service.quote(town="Hartford"), triggered_by="cli")
    assert result.stopped
    assert [a["kind"] for a in webhook.received] == ["skiptrace_budget_exhausted"]


def test_run_never_logs_phones_or_emails(
    migrated_engine, batchdata, configured, caplog
):
    configured(batchdata)
    seed_town(migrated_engine, cases=4)
    service = _service(migrated_engine)
    with caplog.at_level("DEBUG"):
        result = service.run(service.quote(town="Hartford"), triggered_by="cli")
    assert result.matched
    phones = [r.number for r in _rows(migrated_engine, db.skiptrace_phones)]
    emails = [r.email for r in _rows(migrated_engine, db.skiptrace_emails)]
    assert phones and emails
    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("ctforeclosure")
    )
    assert "traced" in ours  # the run did log, at INFO
    for phone in phones:
        assert phone[-10:] not in ours
    for email in emails:
        assert email not in ours and email.split("@")[0] not in ours


def test_two_concurrent_runs_never_send_a_person_twice(
    migrated_engine, batchdata, configured
):
    configured(batchdata)
    seed_town(migrated_engine, cases=10)
    services = [_service(migrated_engine, batch_size=2) for _ in range(2)]
    quotes = [s.quote(town="Hartford") for s in services]  # both before either runs
    results = [None, None]

    def run(i):
        results[i] = services[i].run(quotes[i], triggered_by=f"runner-{i}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(results)
    sent = [b["requestId"] for b in batchdata.billed()]
    assert len(sent) == len(set(sent))  # nobody billed twice
    assert results[0].sent + results[1].sent == len(quotes[0].records)
    statuses = {r.status for r in _rows(migrated_engine, db.skiptrace_results)}
    assert statuses <= {"matched", "no_match"}


def test_unusable_address_goes_to_the_review_list_and_is_never_sent(
    migrated_engine, batchdata, configured
):
    configured(batchdata)
    with migrated_engine.begin() as conn:
        add_case(conn, "HHDCV266000401S", property_street="See Clerk's Note")
        party = add_party(conn, "HHDCV266000401S", "D-01", "GALE INVENTA")
    service = _service(migrated_engine)
    quote = service.quote(docket_nos=["HHDCV266000401S"])
    assert quote.records == [] and [r.party_id for r in quote.review] == [party]
    assert "Review list (address unusable, not sent): 1 parties" in "\n".join(
        quote.lines()
    )
    result = service.run(quote, triggered_by="cli")
    assert result.review == 1 and result.sent == 0
    assert batchdata.calls() == []
    (row,) = _rows(migrated_engine, db.skiptrace_results)
    assert (row.party_id, row.status, row.ledger_id) == (party, "review", None)
    assert [r.party_id for r in service.needs_attention("review")] == [party]
    again = service.quote(docket_nos=["HHDCV266000401S"])
    assert again.review == [] and again.records == []
    assert again.skipped[0].reason == "already on the review list"
