"""The contacts policy: who sees which skip-trace phones and emails, what is never
revealed, and the one audit record of a reveal (SQLite, then PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.services import contacts
from ctforeclosure.services.users import User

PLAIN = "+18605550123"
DNC = "+18605550199"
TCPA = "+18605550188"
EMAIL = "jdoe@example.com"


@dataclass
class Phone:
    number: str
    dnc: bool | None = False
    tcpa: bool | None = False
    type: str | None = "Mobile"
    rank: int | None = 1


@dataclass
class Email:
    email: str


@dataclass
class Trace:
    party_id: int = 2
    id: int = 1
    status: str = "matched"
    sandbox: bool = False
    fetched_at: object = None
    mailing_address: object = None
    phones: list = field(
        default_factory=lambda: [
            Phone(PLAIN),
            Phone(DNC, dnc=True),
            Phone(TCPA, tcpa=True),
        ]
    )
    emails: list = field(default_factory=lambda: [Email(EMAIL)])


MANAGER = contacts.Asker("manager@example.org", sees_contacts=True)
ASKED = contacts.Asker("manager@example.org", sees_contacts=True, include_dnc=True)
VIEWER = contacts.Asker("viewer@example.org", sees_contacts=False)


def _numbers(revealed: contacts.Revealed, party_id: int = 2) -> list[str]:
    return [p.number for t in revealed.by_party.get(party_id, []) for p in t.phones]


def test_reveal_leaves_flagged_phones_out_unless_asked():
    shown = contacts.reveal(MANAGER, {2: [Trace()]})
    assert _numbers(shown) == [PLAIN]
    assert shown.flagged_hidden == 2
    assert shown.by_party[2][0].emails == [EMAIL]
    assert shown.counts() == {"records": 1, "phones": 1, "emails": 1, "addresses": 0}


def test_reveal_marks_flagged_phones_when_asked():
    shown = contacts.reveal(ASKED, {2: [Trace()]})
    assert _numbers(shown) == [PLAIN, DNC, TCPA]
    assert [p.marks for p in shown.by_party[2][0].phones] == [[], ["DNC"], ["TCPA"]]
    assert shown.counts()["phones"] == 3 and shown.flagged_hidden == 0


def test_reveal_masks_for_those_who_may_not_see_contacts_and_reveals_nothing():
    shown = contacts.reveal(VIEWER, {2: [Trace(mailing_address={"city": "X"})]})
    assert _numbers(shown) == ["(***) ***-**23"]  # flagged ones left out, even masked
    assert shown.by_party[2][0].emails == ["j***@example.com"]
    assert shown.by_party[2][0].mailing_address is None
    assert not shown.anything and shown.party_ids() == []


def test_only_those_who_see_contacts_may_ask_for_flagged_phones():
    with pytest.raises(contacts.NotAllowed, match="include_dnc"):
        contacts.Asker("viewer@example.org", sees_contacts=False, include_dnc=True)


def test_suppressed_numbers_and_people_are_never_revealed_even_when_asked():
    never = contacts.Suppressions(
        numbers=frozenset({PLAIN, DNC}), party_ids=frozenset({3})
    )
    traces = {2: [Trace()], 3: [Trace(party_id=3, id=2)]}
    for asker in (ASKED, VIEWER):
        shown = contacts.reveal(asker, traces, never)
        assert 3 not in shown.by_party
        assert [n[-2:] for n in _numbers(shown)] == (["88"] if asker is ASKED else [])


def test_may_see_is_for_managers_and_up():
    def user(role):
        return User(id=1, email="x@example.org", role=role, active=True)

    assert [contacts.may_see(user(r)) for r in ("admin", "manager", "viewer")] == [
        True,
        True,
        False,
    ]


def _reveals(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(db.audit_log).where(db.audit_log.c.action == "contacts.reveal")
        ).all()


def test_audit_reveal_writes_one_record_without_the_contacts(migrated_engine):
    shown = contacts.reveal(ASKED, {2: [Trace(mailing_address={"city": "X"})]})
    with migrated_engine.begin() as conn:
        written = contacts.audit_reveal(
            conn, shown, kind="api", target="/api/v1/defendants/2", scope={}
        )
    [record] = _reveals(migrated_engine)
    assert written and record.actor == "manager@example.org"
    assert record.target == "/api/v1/defendants/2"
    assert record.details == {
        "kind": "api",
        "records": 1,
        "phones": 3,
        "emails": 1,
        "addresses": 1,
        "include_dnc": True,
    }


def test_audit_reveal_writes_nothing_when_nothing_was_revealed(migrated_engine):
    with migrated_engine.begin() as conn:
        for asker, traces in ((VIEWER, {2: [Trace()]}), (MANAGER, {2: []})):
            shown = contacts.reveal(asker, traces)
            assert not contacts.audit_reveal(
                conn, shown, kind="page", target="/cases/X", scope={}
            )
    assert _reveals(migrated_engine) == []


def test_audit_reveal_refuses_an_unknown_kind(migrated_engine):
    shown = contacts.reveal(MANAGER, {2: [Trace()]})
    with migrated_engine.begin() as conn, pytest.raises(ValueError, match="kind"):
        contacts.audit_reveal(conn, shown, kind="email", target="x", scope={})
