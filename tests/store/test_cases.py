"""store.cases on SQLite and PostgreSQL: idempotent upserts and change history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.items import DocketEntryItem
from ctforeclosure.store.cases import (
    mark_town_listing,
    refresh_search_text,
    upsert_cases,
)
from tests.store.factory import changes, clone, make_case, snapshot

T1 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
T2 = T1 + timedelta(days=1)


def utc(value):
    """SQLite hands back naive datetimes (stored as UTC): compare in UTC."""
    return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value


def store(engine, items, now=T1):
    with engine.begin() as conn:
        return upsert_cases(conn, items, now=now)


def _one(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(*where)).one()


def test_upsert_cases_new_case_stores_children_and_reports_new_parties(
    migrated_engine,
):
    result = store(migrated_engine, [make_case()])
    assert (result.new, result.changed, result.unchanged) == (1, 0, 0)
    assert sorted(p["party_no"] for p in result.new_parties) == ["D-01", "D-02", "P-01"]
    assert all(isinstance(p["party_id"], int) for p in result.new_parties)
    tables = snapshot(migrated_engine)
    assert len(tables["cases"]) == 1
    assert len(tables["parties"]) == 3
    assert len(tables["docket_entries"]) == 3
    assert len(tables["court_dates"]) == 1
    assert changes(migrated_engine) == [
        (
            "HHDCV246000001S",
            "new_case",
            None,
            None,
            {"search_town": "Hartford", "file_date": "2024-03-01"},
        )
    ]
    row = _one(migrated_engine, db.cases)
    assert row.docket_display == "HHD-CV-24-6000001-S"
    assert row.listed is True
    plaintiff = _one(migrated_engine, db.parties, db.parties.c.party_no == "P-01")
    assert plaintiff.category == "Plaintiff"
    assert plaintiff.appearances[0]["attorney"] == "SAMPLE LAW LLC"
    assert plaintiff.appearances[0]["file_date"] == "2024-03-01"


def test_upsert_cases_same_items_twice_changes_nothing(migrated_engine):
    items = [make_case(), make_case("HHDCV246000002S", detail=False)]
    store(migrated_engine, [clone(i) for i in items], now=T1)
    before = snapshot(migrated_engine)
    result = store(migrated_engine, [clone(i) for i in items], now=T2)
    assert (result.new, result.changed, result.unchanged) == (0, 0, 2)
    assert result.new_parties == []
    assert result.changes == 0
    assert snapshot(migrated_engine) == before
    row = _one(migrated_engine, db.cases, db.cases.c.docket_no == "HHDCV246000001S")
    assert utc(row.first_seen) == T1 and utc(row.last_seen) == T2
    assert utc(row.last_changed) == T1


def test_upsert_cases_evolution_records_exactly_the_changes(migrated_engine):
    first = [make_case(), make_case("HHDCV246000002S")]
    store(migrated_engine, [clone(c) for c in first], now=T1)
    with migrated_engine.begin() as conn:
        mark_town_listing(conn, "Hartford", [c.docket_no for c in first], now=T1)

    evolved = clone(first[0])
    evolved.disposition = "JUDGMENT OF FORECLOSURE BY SALE"
    evolved.sale_date = date(2027, 2, 6)
    evolved.docket_entries.append(
        DocketEntryItem(
            entry_no="101.00",
            file_date=date(2026, 10, 1),
            filed_by="P",
            description="MOTION FOR JUDGMENT OF FORECLOSURE BY SALE",
        )
    )
    evolved.parties = [p for p in evolved.parties if p.party_no != "D-02"]
    result = store(migrated_engine, [evolved], now=T2)
    with migrated_engine.begin() as conn:
        unlisted, relisted = mark_town_listing(
            conn, "Hartford", ["HHD-CV-24-6000001-S"], now=T2
        )

    assert (result.changed, unlisted, relisted) == (1, 1, 0)
    assert result.new_parties == []
    assert changes(migrated_engine)[2:] == [
        (
            "HHDCV246000001S",
            "disposition",
            "disposition",
            None,
            "JUDGMENT OF FORECLOSURE BY SALE",
        ),
        ("HHDCV246000001S", "sale_date", "sale_date", None, "2027-02-06"),
        (
            "HHDCV246000001S",
            "party_removed",
            "D-02",
            {"party_no": "D-02", "role": "D", "name": "JOHN R DOE"},
            None,
        ),
        (
            "HHDCV246000001S",
            "docket_entry_added",
            "101.00",
            None,
            {
                "entry_no": "101.00",
                "file_date": "2026-10-01",
                "description": "MOTION FOR JUDGMENT OF FORECLOSURE BY SALE",
            },
        ),
        ("HHDCV246000002S", "no_longer_listed", "listed", True, False),
    ]
    removed = _one(
        migrated_engine,
        db.parties,
        db.parties.c.docket_no == "HHDCV246000001S",
        db.parties.c.party_no == "D-02",
    )
    assert utc(removed.removed_at) == T2
    withdrawn = _one(
        migrated_engine, db.cases, db.cases.c.docket_no == "HHDCV246000002S"
    )
    assert withdrawn.listed is False and utc(withdrawn.no_longer_listed_at) == T2


def test_upsert_cases_returning_party_is_restored_not_duplicated(migrated_engine):
    case = make_case()
    store(migrated_engine, [clone(case)], now=T1)
    without = clone(case)
    without.parties = without.parties[:2]
    store(migrated_engine, [without], now=T2)
    result = store(migrated_engine, [clone(case)], now=T2 + timedelta(days=1))
    assert result.new_parties == []
    with migrated_engine.connect() as conn:
        rows = conn.execute(
            sa.select(db.parties.c.party_no, db.parties.c.removed_at)
        ).all()
    assert sorted(rows) == [("D-01", None), ("D-02", None), ("P-01", None)]
    assert [c[1] for c in changes(migrated_engine)] == [
        "new_case",
        "party_removed",
        "party_added",
    ]


def test_upsert_cases_listing_only_item_keeps_case_page_data(migrated_engine):
    store(migrated_engine, [make_case()], now=T1)
    listing = make_case(detail=False, listing_disposition="WITHDRAWN")
    result = store(migrated_engine, [listing], now=T2)
    assert result.changed == 1
    row = _one(migrated_engine, db.cases)
    assert row.listing_disposition == "WITHDRAWN"
    assert row.caption == "EXAMPLE BANK, N.A. v. DOE, JANE Et Al"
    assert row.file_date == date(2024, 3, 1)
    tables = snapshot(migrated_engine)
    assert len(tables["parties"]) == 3
    with migrated_engine.connect() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count()).where(db.parties.c.removed_at.is_not(None))
            ).scalar_one()
            == 0
        )
    assert changes(migrated_engine)[-1] == (
        "HHDCV246000001S",
        "disposition",
        "listing_disposition",
        None,
        "WITHDRAWN",
    )


def test_upsert_cases_unlisted_case_coming_back_is_relisted(migrated_engine):
    store(migrated_engine, [make_case()], now=T1)
    with migrated_engine.begin() as conn:
        assert mark_town_listing(conn, "Hartford", [], now=T1) == (1, 0)
    store(migrated_engine, [make_case(detail=False)], now=T2)
    row = _one(migrated_engine, db.cases)
    assert row.listed is True and row.no_longer_listed_at is None
    with migrated_engine.begin() as conn:
        assert mark_town_listing(conn, "Hartford", [row.docket_no], now=T2) == (0, 0)
    assert [c[1] for c in changes(migrated_engine)] == [
        "new_case",
        "no_longer_listed",
        "relisted",
    ]


def test_upsert_cases_repeated_unnumbered_entries_get_distinct_keys(migrated_engine):
    case = make_case()
    case.docket_entries.append(
        DocketEntryItem(file_date=date(2024, 3, 1), filed_by="P", description="SUMMONS")
    )
    case.docket_entries.append(
        DocketEntryItem(file_date=date(2024, 5, 1), description="X" * 400)
    )
    store(migrated_engine, [case])
    with migrated_engine.connect() as conn:
        keys = (
            conn.execute(
                sa.select(db.docket_entries.c.entry_key).order_by(
                    db.docket_entries.c.seq
                )
            )
            .scalars()
            .all()
        )
    assert keys[0] == "|2024-03-01|SUMMONS"
    assert keys[3] == "|2024-03-01|SUMMONS#2"
    assert len(keys[4]) <= 200
    assert len(set(keys)) == 5
    # Stored again unchanged: no duplicate rows, no change.
    assert store(migrated_engine, [case], now=T2).unchanged == 1


def test_upsert_cases_duplicate_docket_in_batch_keeps_the_read_page(migrated_engine):
    result = store(migrated_engine, [make_case(), make_case(detail=False)])
    assert result.stored == 1
    assert _one(migrated_engine, db.cases).detail_hash is not None


def test_upsert_cases_text_and_json_values_are_stored_exactly(migrated_engine):
    # PostgreSQL loads rows through COPY's text format, where tab, newline,
    # backslash and "\N" are special: what the site printed must come back as is.
    odd = 'A\tB\\C\nD "E" \\N \u00e9'
    case = make_case(caption=odd)
    case.parties[1].name = odd
    case.parties[0].appearances[0].attorney = odd
    case.docket_entries[2].notes = odd
    case.flags = ["town_mismatch"]
    store(migrated_engine, [case])
    assert _one(migrated_engine, db.cases).caption == odd
    assert _one(migrated_engine, db.cases).flags == ["town_mismatch"]
    party = _one(migrated_engine, db.parties, db.parties.c.party_no == "D-01")
    assert party.name == odd
    plaintiff = _one(migrated_engine, db.parties, db.parties.c.party_no == "P-01")
    assert plaintiff.appearances[0]["attorney"] == odd
    entry = _one(migrated_engine, db.docket_entries, db.docket_entries.c.seq == 3)
    assert entry.notes == odd
    # A change with no old value keeps JSON null there, as before (not a string).
    with migrated_engine.connect() as conn:
        kind, old_is_json_null = conn.execute(
            sa.select(
                db.case_changes.c.kind,
                db.case_changes.c.old_value.is_(sa.null()),
            )
        ).one()
    assert kind == "new_case"
    assert old_is_json_null is False
    # Stored again: recognised as unchanged, no duplicate rows.
    assert store(migrated_engine, [clone(case)], now=T2).unchanged == 1


def _search_lines(engine) -> list[str]:
    with engine.connect() as conn:
        text = conn.execute(sa.select(db.cases.c.search_text)).scalar_one()
    return sorted(text.split("\n"))


def test_the_search_text_follows_the_case_its_parties_and_streets(migrated_engine):
    """The web UI's search box matches each case's search text (migration 0011):
    what the store writes must follow the page and the grid, removed parties kept."""
    case = make_case()
    store(migrated_engine, [clone(case)], now=T1)
    assert _search_lines(migrated_engine) == sorted(
        [
            "EXAMPLE BANK, N.A. V. DOE, JANE",  # case name
            "12 EXAMPLE AVE.",  # property street
            "12 EXAMPLE AVE.",  # the grid's street, two lines
            "UNIT 3",
            "EXAMPLE BANK, N.A.",  # parties
            "JANE Q DOE",
            "JOHN R DOE",
        ]
    )

    # the page is read again: one party gone, one new (in mixed case)
    read_again = clone(case)
    read_again.parties = [*read_again.parties[:2], clone(read_again.parties[2])]
    read_again.parties[2].party_no = "D-03"
    read_again.parties[2].name = "Mary Sample-Smith"
    store(migrated_engine, [read_again], now=T2)
    lines = set(_search_lines(migrated_engine))
    assert {"MARY SAMPLE-SMITH", "JOHN R DOE"} <= lines  # removed, still found

    # the grid alone, with a corrected street: the parties stay
    regridded = make_case(detail=False, listing_street="14 Example Ave.")
    store(migrated_engine, [regridded], now=T2 + timedelta(days=1))
    lines = set(_search_lines(migrated_engine))
    assert "14 EXAMPLE AVE." in lines and "UNIT 3" not in lines
    assert {"JANE Q DOE", "MARY SAMPLE-SMITH", "JOHN R DOE"} <= lines


def test_a_new_cases_search_text_is_the_one_its_stored_rows_give(migrated_engine):
    """A new case's search text comes with its insert (no second write of the row):
    it must be what rewriting it from the stored rows gives, the database's own
    upper-casing included (SQLite's leaves "é" as it is), with or without a page."""
    read = make_case()
    read.parties[1].name = "José Núñez"
    grid_only = make_case("HHDCV246000002S", detail=False, case_name=None)
    store(migrated_engine, [read, grid_only], now=T1)
    query = sa.select(db.cases.c.docket_no, db.cases.c.search_text)
    with migrated_engine.begin() as conn:
        inserted = {d: sorted(t.split("\n")) for d, t in conn.execute(query)}
        refresh_search_text(conn)
        rewritten = {d: sorted(t.split("\n")) for d, t in conn.execute(query)}
    assert inserted == rewritten
    assert "12 EXAMPLE AVE." in inserted["HHDCV246000002S"]


def test_upsert_cases_a_judgment_entered_is_a_judgment_change(migrated_engine):
    """judgment_type becoming strict (then sale) is news; its vacating is not."""
    store(migrated_engine, [make_case()], now=T1)
    strict = make_case(judgment_type="strict")
    store(migrated_engine, [strict], now=T2)
    by_sale = make_case(judgment_type="sale")
    store(migrated_engine, [by_sale], now=T2 + timedelta(days=1))
    store(migrated_engine, [make_case()], now=T2 + timedelta(days=2))
    judgments = [c for c in changes(migrated_engine) if c[1] == "judgment"]
    assert judgments == [
        ("HHDCV246000001S", "judgment", "judgment_type", None, "strict"),
        ("HHDCV246000001S", "judgment", "judgment_type", "strict", "sale"),
    ]
