"""store.index: what the cases spider knows at start (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from ctforeclosure.items import listing_hash
from ctforeclosure.store.cases import upsert_cases
from ctforeclosure.store.index import load_case_index, stored_town_sizes
from tests.store.factory import FETCHED_AT, make_case

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def test_load_case_index_returns_hash_and_read_time_per_town(migrated_engine):
    read = make_case("HHDCV246000001S")
    listed = make_case("HHDCV246000002S", detail=False)
    elsewhere = make_case(
        "NNHCV246000003S", search_town="New Haven", county="New Haven"
    )
    with migrated_engine.begin() as conn:
        upsert_cases(conn, [read, listed, elsewhere], now=NOW)
    index = load_case_index(migrated_engine, ["Hartford"])
    assert index == {
        "HHDCV246000001S": (listing_hash(read), FETCHED_AT),
        "HHDCV246000002S": (listing_hash(listed), None),
    }
    assert index["HHDCV246000001S"][1].tzinfo is not None
    assert set(load_case_index(migrated_engine)) == {
        "HHDCV246000001S",
        "HHDCV246000002S",
        "NNHCV246000003S",
    }
    assert load_case_index(migrated_engine, []) == {}


def test_stored_town_sizes_counts_cases_per_asked_town(migrated_engine):
    cases = [
        make_case("HHDCV246000001S"),
        make_case("HHDCV246000002S", detail=False),
        make_case("NNHCV246000003S", search_town="New Haven", county="New Haven"),
    ]
    with migrated_engine.begin() as conn:
        upsert_cases(conn, cases, now=NOW)
    sizes = stored_town_sizes(migrated_engine, ["Hartford", "New Haven", "Avon"])
    assert sizes == {"Hartford": 2, "New Haven": 1}
    assert stored_town_sizes(migrated_engine, ["Hartford"]) == {"Hartford": 2}
