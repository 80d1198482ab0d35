"""The tokens service on both databases: secrets, scopes within the role, the record
of each use and its pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.services import tokens as svc
from ctforeclosure.services import users

PASSWORD = "correct horse battery staple"


@pytest.fixture
def conn(migrated_engine):
    with migrated_engine.begin() as connection:
        yield connection


def _user(conn, role: str, email: str = "a@example.org") -> str:
    users.create_user(conn, email, PASSWORD, role, actor="cli")
    return email


def test_tokens_verify_until_revoked_or_user_disabled(conn):
    _user(conn, "viewer")
    first = svc.issue_token(conn, "a@example.org", "laptop", actor="cli")
    second = svc.issue_token(conn, "a@example.org", "script", actor="cli")
    assert first.secret.startswith("ctf_") and first.secret != second.secret
    stored = conn.execute(sa.select(db.api_tokens.c.token_hash)).scalars().all()
    assert first.secret not in stored and len(stored[0]) == 64
    assert svc.verify_token(conn, first.secret).user.email == "a@example.org"
    assert svc.verify_token(conn, first.secret + "x") is None
    svc.revoke_token(conn, first.id, actor="cli")
    assert svc.verify_token(conn, first.secret) is None
    assert svc.verify_token(conn, second.secret) is not None
    users.disable_user(conn, "a@example.org", actor="cli")
    assert svc.verify_token(conn, second.secret) is None
    with pytest.raises(users.UserError, match="disabled"):
        svc.issue_token(conn, "a@example.org", "again", actor="cli")


def test_a_token_gets_read_only_unless_asked_and_the_scopes_are_audited(conn):
    _user(conn, "manager")
    plain = svc.issue_token(conn, "a@example.org", "ci", actor="cli")
    assert plain.scopes == ("read",)
    assert svc.verify_token(conn, plain.secret).scopes == {"read"}
    wide = svc.issue_token(
        conn, "a@example.org", "dialer", actor="cli", scopes="contacts, read"
    )
    assert wide.scopes == ("read", "contacts")
    assert [t.scopes for t in svc.list_tokens(conn)] == [
        ("read",),
        ("read", "contacts"),
    ]
    details = conn.execute(
        sa.select(db.audit_log.c.details).where(db.audit_log.c.action == "token.issue")
    ).scalars()
    assert [d["scopes"] for d in details] == [["read"], ["read", "contacts"]]


@pytest.mark.parametrize(
    ("role", "scopes", "message"),
    [
        ("viewer", ["contacts"], "a viewer's token cannot have the contacts scope"),
        ("viewer", ["read", "crawl"], "cannot have the crawl scope"),
        ("viewer", ["skiptrace"], "cannot have the skiptrace scope"),
        ("manager", ["admin"], "a manager's token cannot have the admin scope"),
        ("admin", ["read", "everything"], "unknown scope 'everything'"),
        ("admin", [], "at least one scope"),
    ],
)
def test_issue_refuses_a_scope_beyond_the_role_naming_it(conn, role, scopes, message):
    _user(conn, role)
    with pytest.raises(users.UserError, match=message):
        svc.issue_token(conn, "a@example.org", "x", actor="cli", scopes=scopes)
    assert svc.list_tokens(conn) == []


def test_a_demoted_users_token_loses_what_the_new_role_may_not_do(conn):
    _user(conn, "manager")
    issued = svc.issue_token(
        conn, "a@example.org", "x", actor="cli", scopes=["read", "contacts", "crawl"]
    )
    assert svc.verify_token(conn, issued.secret).scopes == {"read", "contacts", "crawl"}
    users.set_role(conn, "a@example.org", "viewer", actor="cli")
    assert svc.verify_token(conn, issued.secret).scopes == {"read"}
    users.set_role(conn, "a@example.org", "manager", actor="cli")  # promoted back
    assert svc.verify_token(conn, issued.secret).scopes == {"read", "contacts", "crawl"}


def test_uses_are_counted_in_the_window_and_pruned_after_retention(conn):
    _user(conn, "viewer")
    token = svc.issue_token(conn, "a@example.org", "x", actor="cli")
    assert svc.verify_token(conn, token.secret).window == svc.WindowUse(0, None, False)
    now = datetime.now(UTC)
    for age, status in ((31 * 24 * 3600, 200), (40, 200), (20, 404), (10, 429)):
        at = now - timedelta(seconds=age)
        svc.record_use(conn, token.id, "GET", "/api/v1/towns", status, at=at)
    used = svc.verify_token(conn, token.secret, now - timedelta(seconds=60)).window
    assert (used.count, used.refused) == (2, True)  # a refusal is not counted
    assert abs((used.oldest - (now - timedelta(seconds=40))).total_seconds()) < 1
    assert svc.prune_uses(conn, now) == 1
    assert len(svc.recent_uses(conn, token.id)) == 3
    assert [u.status for u in svc.recent_uses(conn, token.id, limit=2)] == [429, 404]
    stamped = svc.get_token(conn, token.id).last_used_at
    assert abs((db.aware(stamped) - (now - timedelta(seconds=10))).total_seconds()) < 1
