"""Every command that needs the database answers one line when it is down.

Runs the installed ``ctforeclosure`` entry point, as an operator would, against a
PostgreSQL URL with a password on a port where nothing listens.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "h7-not-a-real-pw-4c1d"
CTFORECLOSURE = Path(sys.executable).with_name("ctforeclosure")

COMMANDS = [
    ["db", "status"],
    ["db", "upgrade"],
    ["summary"],
    ["users", "list"],
    ["skiptrace", "--pending"],
    ["reconcile"],
    ["purge", "--party-id", "1"],
    ["spool", "replay"],
    ["pause", "--reason", "test"],
    ["resume"],
]


@pytest.fixture(scope="module")
def down_url() -> str:
    """A PostgreSQL URL with a password, on a local port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql+psycopg://ctf:{PASSWORD}@127.0.0.1:{port}/nope"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_cli_database_down_prints_one_line_without_the_password(command, down_url):
    env = {**os.environ, "DATABASE_URL": down_url}
    result = subprocess.run(
        [str(CTFORECLOSURE), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "database unavailable: postgresql+psycopg://ctf:***@127.0.0.1:"
    ), lines[0]
    assert "Connection refused" in lines[0] or "connection failed" in lines[0]
    assert PASSWORD not in result.stdout + result.stderr


def test_unavailable_error_is_a_failed_connection_not_a_failed_statement(tmp_path):
    """SQLite's "no such table" is an OperationalError too, but the database is up."""
    import sqlalchemy as sa

    from ctforeclosure.cli.group import unavailable_error

    unreachable = sa.create_engine(f"sqlite:///{tmp_path}/missing-folder/x.db")
    with pytest.raises(sa.exc.OperationalError) as refused:
        unreachable.connect()
    assert unavailable_error(RuntimeError("wrapped")) is None
    try:
        raise RuntimeError("wrapped") from refused.value
    except RuntimeError as wrapped:
        assert unavailable_error(wrapped) is refused.value
    empty = sa.create_engine(f"sqlite:///{tmp_path}/empty.db")
    with pytest.raises(sa.exc.OperationalError) as schema, empty.connect() as conn:
        conn.execute(sa.text("SELECT * FROM towns"))
    assert unavailable_error(schema.value) is None
