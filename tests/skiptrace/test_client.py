"""BatchData API failures: what is retried, what is billed, what is reconciled."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.skiptrace.client import (
    AmbiguousOutcome,
    BatchDataClient,
    RequestRejected,
    Unavailable,
)
from ctforeclosure.skiptrace.service import SkipTraceService
from ctforeclosure.skiptrace.settings import SkipTraceSettings
from tests.replica.batchdata import TEST_API_KEY

from .conftest import seed_town

ITEM = {
    "propertyAddress": {"street": "10 Example Road", "city": "Hartford", "state": "CT"},
    "name": {"first": "AVERY", "last": "EXAMPLE"},
}


def _client(server, **kwargs) -> BatchDataClient:
    kwargs.setdefault("backoff", 0.05)
    return BatchDataClient(server.base_url, TEST_API_KEY, **kwargs)


def _statuses(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(db.skiptrace_results.c.status)).scalars())


def _ledger(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(db.skiptrace_ledger)).all()


def test_client_answers_one_person_per_request_item(batchdata):
    items = [ITEM, {**ITEM, "name": {"first": "BLAKE", "last": "TESTWORTH"}}]
    with _client(batchdata) as client:
        answer = client.skip_trace(items)
    assert len(answer.persons) == 2
    assert answer.provider_request_id
    assert answer.attempts == 1


def test_client_rejected_request_raises_and_is_not_billed(batchdata_factory):
    server = batchdata_factory(faults=frozenset({"400_always"}))
    with _client(server) as client, pytest.raises(RequestRejected, match="HTTP 400"):
        client.skip_trace([ITEM])
    assert server.billed() == []
    assert len(server.calls()) == 1  # a 400 is not retried


def test_client_incomplete_address_is_a_400_from_the_replica(batchdata):
    bad = {"propertyAddress": {"street": "10 Example Road"}, "name": ITEM["name"]}
    with _client(batchdata) as client, pytest.raises(RequestRejected, match="zip"):
        client.skip_trace([bad])


def test_client_429_waits_for_retry_after_then_succeeds(batchdata_factory):
    server = batchdata_factory(faults=frozenset({"429_once"}))
    slept = []
    with _client(server, sleep=slept.append) as client:
        answer = client.skip_trace([ITEM])
    assert answer.attempts == 2
    assert slept == [1.0]  # the replica's Retry-After, not our backoff
    assert len(server.calls()) == 2


def test_client_429_over_the_rate_limit_carries_retry_after(batchdata_factory):
    server = batchdata_factory(rate_limit_per_minute=1)
    slept = []
    with _client(server, sleep=slept.append, max_retries=1) as client:
        client.skip_trace([ITEM])
        with pytest.raises(Unavailable, match="HTTP 429"):
            client.skip_trace([ITEM])
    assert slept and 1 <= slept[0] <= 61


@pytest.mark.parametrize("fault", ["500_once", "503_once"])
def test_client_5xx_is_retried_with_backoff(batchdata_factory, fault):
    server = batchdata_factory(faults=frozenset({fault}))
    slept = []
    with _client(server, sleep=slept.append, backoff=0.5) as client:
        answer = client.skip_trace([ITEM])
    assert answer.attempts == 2
    assert slept == [0.5]
    assert len(server.billed()) == sum(
        1 for p in answer.persons if p["meta"]["matched"]
    )


def test_client_gives_up_after_max_retries_on_5xx(batchdata_factory):
    server = batchdata_factory(faults=frozenset({"500_always"}))
    slept = []
    client = _client(server, sleep=slept.append, max_retries=3)
    with client, pytest.raises(Unavailable, match="HTTP 500 4 times"):
        client.skip_trace([ITEM])
    assert slept == [0.05, 0.1, 0.2]  # doubling backoff
    assert server.billed() == []


def test_client_malformed_json_is_an_ambiguous_outcome(batchdata_factory):
    server = batchdata_factory(faults=frozenset({"malformed_json"}))
    with _client(server) as client, pytest.raises(AmbiguousOutcome, match="billed"):
        client.skip_trace([ITEM])
    assert len(server.calls()) == 1  # never retried blindly


def test_client_read_timeout_after_send_is_not_retried(batchdata_factory):
    server = batchdata_factory(faults=frozenset({"slow"}), slow_seconds=2.0)
    client = _client(server, read_timeout=0.3)
    with client, pytest.raises(AmbiguousOutcome, match="may have been billed"):
        client.skip_trace([ITEM])
    assert len(server.calls()) == 1


def test_client_retries_a_refused_connection_then_reports_unavailable():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    slept = []
    client = BatchDataClient(
        f"http://127.0.0.1:{port}/api/v1",
        TEST_API_KEY,
        max_retries=2,
        backoff=0.01,
        sleep=slept.append,
    )
    with client, pytest.raises(Unavailable, match="cannot connect"):
        client.skip_trace([ITEM])
    assert len(slept) == 2


def _service(engine, server, monkeypatch, **overrides) -> SkipTraceService:
    monkeypatch.setenv("BATCHDATA_BASE_URL", server.base_url)
    monkeypatch.setenv("BATCHDATA_API_KEY", TEST_API_KEY)
    settings = SkipTraceSettings(backoff=0.01, **overrides)
    return SkipTraceService.from_config(engine, settings)


def test_run_read_timeout_marks_records_for_reconcile(
    migrated_engine, batchdata_factory, monkeypatch
):
    server = batchdata_factory(faults=frozenset({"slow"}), slow_seconds=1.5)
    seeded = seed_town(migrated_engine, cases=2)
    service = _service(migrated_engine, server, monkeypatch, read_timeout=0.3)
    quote = service.quote(town="Hartford")
    result = service.run(quote, triggered_by="cli")
    assert result.reconcile == len(seeded["eligible"])
    assert "may have been billed" in result.stopped
    assert set(_statuses(migrated_engine)) == {"unknown_reconcile"}
    (ledger,) = _ledger(migrated_engine)
    assert ledger.status == "unknown_reconcile"
    assert ledger.cost == service.settings.unit_cost * ledger.records_sent
    # the vendor did bill (the replica bills before it stalls) ...
    assert server.billed()
    # ... and nothing is sent again until a person decides
    again = service.quote(town="Hartford")
    assert again.records == []
    assert any("awaiting reconcile" in s.reason for s in again.skipped)
    with migrated_engine.connect() as conn:
        ids = list(conn.execute(sa.select(db.skiptrace_results.c.id)).scalars())
    assert service.reconcile(ids, "retry", decided_by="boss@example.org") == len(ids)
    assert len(service.quote(town="Hartford").records) == len(quote.records)


def test_run_malformed_json_marks_records_for_reconcile(
    migrated_engine, batchdata_factory, monkeypatch
):
    server = batchdata_factory(faults=frozenset({"malformed_json"}))
    seed_town(migrated_engine, cases=2)
    service = _service(migrated_engine, server, monkeypatch)
    result = service.run(service.quote(town="Hartford"), triggered_by="cli")
    assert result.reconcile > 0 and result.matched == 0
    assert set(_statuses(migrated_engine)) == {"unknown_reconcile"}


def test_run_5xx_after_retries_stores_errors_and_bills_nothing(
    migrated_engine, batchdata_factory, monkeypatch
):
    server = batchdata_factory(faults=frozenset({"500_always"}))
    seeded = seed_town(migrated_engine, cases=2)
    service = _service(migrated_engine, server, monkeypatch, max_retries=2)
    result = service.run(service.quote(town="Hartford"), triggered_by="cli")
    assert result.errors == len(seeded["eligible"])
    assert result.cost == 0
    assert "HTTP 500" in result.stopped
    assert set(_statuses(migrated_engine)) == {"error"}
    assert [row.status for row in _ledger(migrated_engine)] == ["error"]
    # errors are retried by the next quote
    assert len(service.quote(town="Hartford").records) == len(seeded["eligible"])


def test_run_5xx_once_is_retried_and_completes(
    migrated_engine, batchdata_factory, monkeypatch
):
    server = batchdata_factory(faults=frozenset({"503_once"}))
    seeded = seed_town(migrated_engine, cases=2)
    service = _service(migrated_engine, server, monkeypatch)
    result = service.run(service.quote(town="Hartford"), triggered_by="cli")
    assert result.stopped is None
    assert result.sent == len(seeded["eligible"])
    assert len(server.billed()) == result.matched
