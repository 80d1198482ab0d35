"""The court's site budget row: the kill switch through the CLI and the store."""

from __future__ import annotations

import pytest

from ctforeclosure import db
from ctforeclosure.store import site_budget


def test_pause_and_resume_commands_flip_the_kill_switch(migrated_db_url, monkeypatch):
    from click.testing import CliRunner

    from ctforeclosure.cli.app import main

    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    assert site_budget.pause_state()["paused"] is False
    paused = CliRunner().invoke(main, ["pause", "--reason", "court asked"])
    assert paused.exit_code == 0, paused.output
    state = site_budget.pause_state()
    assert state["paused"] is True
    assert (state["paused_by"], state["pause_reason"]) == ("cli", "court asked")
    resumed = CliRunner().invoke(main, ["resume"])
    assert resumed.exit_code == 0, resumed.output
    assert site_budget.pause_state()["paused"] is False


def test_pause_without_the_site_row_says_so(migrated_db_url):
    engine = db.make_engine(migrated_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(db.site_budget.delete())
    finally:
        engine.dispose()
    with pytest.raises(LookupError, match="db upgrade"):
        site_budget.pause(by="test", database_url=migrated_db_url)
    assert site_budget.pause_state(database_url=migrated_db_url) is None
