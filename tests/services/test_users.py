"""The users service on both databases: hashing, roles, lifecycle, audit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.services import users as svc

PASSWORD = "correct horse battery staple"


@pytest.fixture
def conn(migrated_engine):
    with migrated_engine.begin() as connection:
        yield connection


def test_create_user_stores_a_scrypt_hash_never_the_password(conn):
    user = svc.create_user(conn, " Ann@Example.org ", PASSWORD, "viewer", actor="cli")
    assert user.email == "ann@example.org" and user.role == "viewer" and user.active
    stored = conn.execute(sa.select(db.users.c.password_hash)).scalar_one()
    assert stored.startswith("scrypt:") and PASSWORD not in stored
    record = conn.execute(sa.select(db.audit_log)).one()
    assert (record.actor, record.action, record.target) == (
        "cli",
        "user.create",
        "ann@example.org",
    )


@pytest.mark.parametrize(
    ("email", "password", "role", "message"),
    [
        ("not-an-email", PASSWORD, "viewer", "not an email"),
        ("a@example.org", "short", "viewer", "too short"),
        ("a@example.org", PASSWORD, "owner", "unknown role"),
    ],
)
def test_create_user_refuses_bad_input(conn, email, password, role, message):
    with pytest.raises(svc.UserError, match=message):
        svc.create_user(conn, email, password, role, actor="cli")


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("alice@example.org", "password1234", "very common password"),
        ("alice@example.org", "aaaaaaaaaaaa", "Repeats"),
        ("alice@example.org", "qwertyuiopas", "commonly used password"),
        ("alice@example.org", "alice@example.org2026!", "Add another word"),
        ("ann.doe@example.org", "example.org.ann", "Add another word"),
    ],
)
def test_create_user_refuses_a_guessable_password_and_says_why(
    conn, email, password, message
):
    with pytest.raises(svc.UserError, match="password too weak") as refused:
        svc.create_user(conn, email, password, "viewer", actor="cli")
    assert message in str(refused.value)
    assert password not in str(refused.value)
    assert conn.execute(sa.select(db.users)).first() is None


def test_reset_password_refuses_a_guessable_password_built_on_the_email(conn):
    svc.create_user(conn, "alice@example.org", PASSWORD, "viewer", actor="cli")
    with pytest.raises(svc.UserError, match="password too weak"):
        svc.reset_password(
            conn, "alice@example.org", "alice@example.org2026!", actor="cli"
        )
    assert svc.authenticate(conn, "alice@example.org", PASSWORD)


def test_password_length_is_capped_before_hashing(conn, monkeypatch):
    hashed = []
    monkeypatch.setattr(
        svc, "generate_password_hash", lambda *a, **kw: hashed.append(a) or "x"
    )
    longest = PASSWORD + " " + "q" * (svc.MAX_PASSWORD_LENGTH - len(PASSWORD) - 1)
    with pytest.raises(svc.UserError, match="too long: at most 1024 characters"):
        svc.create_user(conn, "a@example.org", longest + "q", "viewer", actor="cli")
    assert hashed == []
    svc.create_user(conn, "a@example.org", longest, "viewer", actor="cli")
    assert len(hashed) == 1


def test_create_user_refuses_a_duplicate(conn):
    svc.create_user(conn, "a@example.org", PASSWORD, "viewer", actor="cli")
    with pytest.raises(svc.UserError, match="already exists"):
        svc.create_user(conn, "A@example.org", PASSWORD, "admin", actor="cli")


def test_authenticate_checks_password_and_active_flag(conn):
    svc.create_user(conn, "a@example.org", PASSWORD, "manager", actor="cli")
    assert svc.authenticate(conn, "a@example.org", "wrong password!") is None
    assert svc.authenticate(conn, "nobody@example.org", PASSWORD) is None
    user = svc.authenticate(conn, "A@Example.org", PASSWORD)
    assert user is not None and user.last_login_at is not None
    svc.disable_user(conn, "a@example.org", actor="cli")
    assert svc.authenticate(conn, "a@example.org", PASSWORD) is None


def test_roles_are_ordered(conn):
    admin = svc.create_user(conn, "a@example.org", PASSWORD, "admin", actor="cli")
    viewer = svc.create_user(conn, "v@example.org", PASSWORD, "viewer", actor="cli")
    assert admin.can("manager") and admin.can("viewer")
    assert viewer.can("viewer") and not viewer.can("manager")


def test_reset_password_replaces_the_old_one(conn):
    svc.create_user(conn, "a@example.org", PASSWORD, "viewer", actor="cli")
    svc.reset_password(conn, "a@example.org", "another long passphrase", actor="cli")
    assert svc.authenticate(conn, "a@example.org", PASSWORD) is None
    assert svc.authenticate(conn, "a@example.org", "another long passphrase")


def test_set_role_is_audited_with_old_and_new(conn):
    svc.create_user(conn, "a@example.org", PASSWORD, "viewer", actor="cli")
    svc.set_role(conn, "a@example.org", "admin", actor="boss@example.org")
    record = conn.execute(
        sa.select(db.audit_log).where(db.audit_log.c.action == "user.role")
    ).one()
    assert record.details == {"old": "viewer", "new": "admin"}
    with pytest.raises(svc.UserError, match="no such user"):
        svc.set_role(conn, "ghost@example.org", "admin", actor="cli")
