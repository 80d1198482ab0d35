"""``ctforeclosure users`` and ``ctforeclosure web`` from the shell."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ctforeclosure import db
from ctforeclosure.cli.app import main

PASSWORD = "correct horse battery staple"


def _run(args, input_text=None):
    return CliRunner().invoke(main, args, input=input_text)


def test_users_add_list_disable_reset_token_lifecycle(migrated_db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    added = _run(
        ["users", "add", "Ann@Example.org", "--role", "manager", "--password-stdin"],
        PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert "created ann@example.org (manager)" in added.output
    prompted = _run(
        ["users", "add", "bob@example.org", "--role", "viewer"],
        f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output
    listing = _run(["users", "list"])
    assert "ann@example.org\tmanager\tactive" in listing.output
    assert "bob@example.org\tviewer\tactive" in listing.output
    issued = _run(["users", "token", "issue", "ann@example.org", "--name", "ci"])
    assert issued.exit_code == 0, issued.output
    secret = issued.output.strip().splitlines()[-1]
    assert secret.startswith("ctf_")
    listed = _run(["users", "token", "list"]).output
    assert "1\tann@example.org\tci\tread\tactive" in listed
    assert _run(["users", "token", "revoke", "1"]).exit_code == 0
    assert "revoked" in _run(["users", "token", "list"]).output
    reset = _run(
        ["users", "reset-password", "bob@example.org", "--password-stdin"],
        "another long passphrase\n",
    )
    assert reset.exit_code == 0, reset.output
    assert _run(["users", "disable", "bob@example.org"]).exit_code == 0
    assert "bob@example.org\tviewer\tdisabled" in _run(["users", "list"]).output
    engine = db.make_engine(migrated_db_url)
    with engine.connect() as conn:
        actions = (
            conn.execute(sa.select(db.audit_log.c.action).order_by(db.audit_log.c.id))
            .scalars()
            .all()
        )
    engine.dispose()
    assert actions == [
        "user.create",
        "user.create",
        "token.issue",
        "token.revoke",
        "user.reset_password",
        "user.disable",
    ]


def test_users_add_refuses_a_short_password_and_an_unknown_role(
    migrated_db_url, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    short = _run(
        ["users", "add", "a@example.org", "--role", "viewer", "--password-stdin"],
        "short\n",
    )
    assert short.exit_code != 0 and "too short" in short.output
    role = _run(
        ["users", "add", "a@example.org", "--role", "owner", "--password-stdin"],
        PASSWORD + "\n",
    )
    assert role.exit_code != 0 and "owner" in role.output


def test_users_add_refuses_a_guessable_password_and_says_why(
    migrated_db_url, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    weak = _run(
        ["users", "add", "a@example.org", "--role", "viewer", "--password-stdin"],
        "password1234\n",
    )
    assert weak.exit_code != 0
    assert "password too weak: This is a very common password." in weak.output


def test_web_refuses_to_start_without_secret_key(migrated_db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    result = _run(["web", "--port", "0"])
    assert result.exit_code != 0
    assert "CTF_SECRET_KEY" in str(result.exception)


def test_token_issue_takes_scopes_within_the_role(migrated_db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    for email, role in (("ann@example.org", "manager"), ("bob@example.org", "viewer")):
        added = _run(
            ["users", "add", email, "--role", role, "--password-stdin"],
            PASSWORD + "\n",
        )
        assert added.exit_code == 0, added.output
    scopes = ["--scope", "read", "--scope", "contacts"]
    issued = _run(["users", "token", "issue", "ann@example.org", *scopes])
    assert issued.exit_code == 0, issued.output
    assert "token 1 (api, read,contacts) for ann@example.org:" in issued.output
    refused = _run(["users", "token", "issue", "bob@example.org", "--scope", "crawl"])
    assert refused.exit_code != 0
    assert "a viewer's token cannot have the crawl scope" in refused.output
    unknown = _run(["users", "token", "issue", "ann@example.org", "--scope", "all"])
    assert unknown.exit_code != 0 and "'all' is not one of" in unknown.output
    listed = _run(["users", "token", "list"]).output
    assert "1\tann@example.org\tapi\tread,contacts\tactive" in listed
    assert "bob@example.org" not in listed


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # its SQL: tests/webui
def test_users_reset_2fa_removes_the_second_factor(migrated_db_url, monkeypatch):
    from ctforeclosure.services import second_factor

    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    _run(
        ["users", "add", "a@example.org", "--role", "admin", "--password-stdin"],
        PASSWORD + "\n",
    )
    engine = db.make_engine(migrated_db_url)
    try:
        with engine.begin() as conn:
            user_id = conn.execute(sa.select(db.users.c.id)).scalar_one()
            second_factor.start_enrolment(conn, user_id, "key", "JBSWY3DPEHPK3PXP")
            conn.execute(
                db.users.update().values(totp_enabled_at=sa.func.current_timestamp())
            )
        assert _run(["users", "reset-2fa", "nobody@example.org"]).exit_code == 1
        reset = _run(["users", "reset-2fa", "A@example.org"])
        assert reset.exit_code == 0, reset.output
        with engine.connect() as conn:
            assert not second_factor.status(conn, user_id).enrolled
    finally:
        engine.dispose()
