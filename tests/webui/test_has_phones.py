"""The cases' ``has_phones`` flag (migration 0005) behind the "has phones" filter:
set when the skip-trace store keeps phones, cleared when a purge removes the last."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.skiptrace import purge, store
from tests.skiptrace.conftest import add_case, add_party

DOCKET = "HHDCV266000951S"
PERSON = {
    "phoneNumbers": [{"number": "8605550142", "type": "Mobile"}],
    "meta": {"matched": True},
}


def _flag(engine, docket_no: str = DOCKET) -> bool:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(db.cases.c.has_phones).where(db.cases.c.docket_no == docket_no)
        ).scalar_one()


def _result(conn, party_id: int, person: dict | None, status: str = "matched"):
    now = datetime.now(UTC)
    return store.insert_result(
        conn,
        party_id=party_id,
        person_key=f"key-{party_id}-{status}",
        status=status,
        sandbox=False,
        fetched_at=now,
        expires_at=now,
        person=person,
    )


def test_storing_phones_sets_the_flag_and_purging_the_last_clears_it(
    migrated_engine,
):
    with migrated_engine.begin() as conn:
        add_case(conn, DOCKET)
        first = add_party(conn, DOCKET, "D-01", "AVERY EXAMPLE")
        second = add_party(conn, DOCKET, "D-02", "BLAKE EXAMPLE")
        _result(conn, first, None, status="no_match")
    assert _flag(migrated_engine) is False  # a result without phones
    with migrated_engine.begin() as conn:
        _result(conn, first, PERSON)
        _result(conn, second, PERSON)
    assert _flag(migrated_engine) is True
    purge.purge_parties(migrated_engine, [first], actor="test")
    assert _flag(migrated_engine) is True  # the other party still has a phone
    purge.purge_parties(migrated_engine, [second], actor="test")
    assert _flag(migrated_engine) is False


def test_copying_a_result_with_phones_flags_the_other_case(migrated_engine):
    other = "HHDCV266000952S"
    with migrated_engine.begin() as conn:
        add_case(conn, DOCKET)
        add_case(conn, other)
        party = add_party(conn, DOCKET, "D-01", "AVERY EXAMPLE")
        twin = add_party(conn, other, "D-01", "AVERY EXAMPLE")
        source = _result(conn, party, PERSON)
        store.copy_result(conn, source, twin)
    assert _flag(migrated_engine, other) is True


def test_refresh_recomputes_flags_of_rows_stored_around_the_store(migrated_engine):
    with migrated_engine.begin() as conn:
        add_case(conn, DOCKET)
        party = add_party(conn, DOCKET, "D-01", "AVERY EXAMPLE")
        result_id = _result(conn, party, PERSON)
        conn.execute(db.cases.update().values(has_phones=False))
        store.refresh_has_phones(conn)
    assert _flag(migrated_engine) is True
    with migrated_engine.begin() as conn:
        conn.execute(
            db.skiptrace_phones.delete().where(
                db.skiptrace_phones.c.result_id == result_id
            )
        )
        store.refresh_has_phones(conn, [DOCKET])
    assert _flag(migrated_engine) is False
