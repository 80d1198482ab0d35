"""Storing answers in the official mock's shape (docs/SITES.md §7.3, capture B)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.skiptrace import store

from .conftest import add_case, add_party

#: The phone list of capture B (the mock's own placeholder numbers and carriers).
MOCK_PERSON = {
    "name": {"first": "john", "last": "doe"},
    "phoneNumbers": [
        {
            "number": "111111111",
            "carrier": "OMNIPOINT COMMUNICATIONS- INC.",
            "type": "Mobile",
            "tested": True,
            "reachable": True,
            "score": 100,
        },
        {
            "number": "2222222222",
            "carrier": "VERIZON NEW YORK- INC.",
            "type": "Land Line",
            "tested": False,
            "reachable": False,
            "score": 95,
        },
    ],
    "emails": [{"email": "johndoe@gmail.net"}],
    "mailingAddress": {},
    "dnc": {},
    "litigator": False,
    "meta": {"matched": True, "error": False},
}


def test_insert_result_keeps_valid_phones_in_e164_and_unknown_flags_as_null(
    migrated_engine,
):
    now = datetime.now(UTC)
    with migrated_engine.begin() as conn:
        add_case(conn, "HHDCV266000901S")
        party_id = add_party(conn, "HHDCV266000901S", "D-01", "AVERY EXAMPLE")
        result_id = store.insert_result(
            conn,
            party_id=party_id,
            person_key="k" * 64,
            status="matched",
            sandbox=True,
            fetched_at=now,
            expires_at=now,
            person=MOCK_PERSON,
        )
    with migrated_engine.connect() as conn:
        phones = conn.execute(
            sa.select(db.skiptrace_phones).where(
                db.skiptrace_phones.c.result_id == result_id
            )
        ).all()
        result = conn.execute(
            sa.select(db.skiptrace_results).where(
                db.skiptrace_results.c.id == result_id
            )
        ).one()
    assert [(p.number, p.type, p.rank, p.score) for p in phones] == [
        ("+12222222222", "Land Line", 2, 95)
    ]  # the 9-digit placeholder is not a phone number
    assert phones[0].dnc is None and phones[0].tcpa is None  # not in a v1 answer
    assert result.persons[0]["name"] == {"first": "john", "last": "doe"}
    assert result.mailing_address is None  # {} means none


def test_insert_result_stores_what_fits_of_a_hostile_person(migrated_engine):
    """A person with junk beside its phones is stored, the junk left out: before,
    a phone that was not an object raised AttributeError and a 40-letter type or a
    score of 1e30 made PostgreSQL refuse the whole batch."""
    hostile = {
        **MOCK_PERSON,
        "phoneNumbers": [
            "8605550123",
            {"number": "2035550199", "type": "M" * 40, "score": 1e30},
        ],
        "emails": [{"email": "x" * 300 + "@example.net"}, {"email": "a@b.example"}],
    }
    now = datetime.now(UTC)
    with migrated_engine.begin() as conn:
        add_case(conn, "HHDCV266000902S")
        party_id = add_party(conn, "HHDCV266000902S", "D-01", "BLAKE EXAMPLE")
        result_id = store.insert_result(
            conn,
            party_id=party_id,
            person_key="h" * 64,
            status="matched",
            sandbox=True,
            fetched_at=now,
            expires_at=now,
            person=hostile,
        )
    with migrated_engine.connect() as conn:
        phones = conn.execute(
            sa.select(db.skiptrace_phones).where(
                db.skiptrace_phones.c.result_id == result_id
            )
        ).all()
        emails = conn.execute(
            sa.select(db.skiptrace_emails.c.email).where(
                db.skiptrace_emails.c.result_id == result_id
            )
        ).scalars()
        assert list(emails) == ["a@b.example"]
    assert [(p.number, p.type, p.score, p.rank) for p in phones] == [
        ("+12035550199", "M" * 24, None, 2)
    ]


def _changes_of(engine, docket_no: str) -> list[tuple]:
    c = db.case_changes.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(c.kind, c.field, c.old_value, c.new_value)
            .where(c.docket_no == docket_no)
            .order_by(c.id)
        ).all()
    return [tuple(row) for row in rows]


def test_phones_found_is_recorded_per_party_without_the_numbers(migrated_engine):
    """A trace that stored phones, and its free copy for another party, each add a
    phones_found change naming the party and how many numbers; no numbers, no
    change."""
    now = datetime.now(UTC)
    docket = "HHDCV266000902S"
    traced = {"sandbox": True, "fetched_at": now, "expires_at": now}
    with migrated_engine.begin() as conn:
        add_case(conn, docket)
        first = add_party(conn, docket, "D-01", "AVERY EXAMPLE")
        second = add_party(conn, docket, "D-02", "BLAKE EXAMPLE")
        third = add_party(conn, docket, "D-03", "CASEY EXAMPLE")
        result_id = store.insert_result(
            conn,
            party_id=first,
            person_key="k" * 64,
            status="matched",
            person=MOCK_PERSON,
            **traced,
        )
        store.insert_result(
            conn, party_id=third, person_key="m" * 64, status="no_match", **traced
        )
        store.copy_result(conn, result_id, second)
    changes = _changes_of(migrated_engine, docket)
    assert changes == [
        ("phones_found", "party", None, {"party_no": "D-01", "phones": 1}),
        ("phones_found", "party", None, {"party_no": "D-02", "phones": 1}),
    ]
    assert "2222222222" not in repr(changes)
