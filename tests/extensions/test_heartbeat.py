"""The crawl's heartbeat, from a real crawl of the replica: a running crawl writes
``heartbeat_at`` on its run on its timer (shortened here), and the closed run keeps
the towns it finished."""

from __future__ import annotations

import sqlalchemy as sa

from ctforeclosure import config, db, migrate
from tests.jobs.test_auto_retry import run_crawl


def test_a_running_crawl_beats_and_its_run_keeps_the_towns_done(
    replica_factory, tmp_path
):
    url = f"sqlite:///{tmp_path / 'crawl.sqlite3'}"
    migrate.upgrade(url)
    # every response 0.3 s late: the crawl outlives a few 0.2 s heartbeats
    replica = replica_factory(cases=24, fast=True, faults=["latency"], towns=("Avon",))
    env = {**replica.env, "CTF_CRAWL_HEARTBEAT_SECONDS": "0.2"}
    status, log = run_crawl(env, url, "town=Avon")
    assert status == 0, log[-3000:]
    engine = db.make_engine(url)
    with engine.connect() as conn:
        run = conn.execute(sa.select(db.crawl_runs)).one()
    engine.dispose()
    assert db.aware(run.started_at) < db.aware(run.heartbeat_at)
    assert db.aware(run.heartbeat_at) <= db.aware(run.finished_at)
    assert (run.outcome, run.incomplete_towns, run.completed_towns) == (
        "complete",
        [],
        ["Avon"],
    )


def test_the_heartbeat_is_once_a_minute_and_lost_after_ten_unless_set(monkeypatch):
    cfg = config.load()
    assert (cfg.crawl_heartbeat_seconds, cfg.crawl_lost_minutes) == (60.0, 10.0)
    monkeypatch.setenv("CTF_CRAWL_LOST_MINUTES", "0.25")
    assert config.load().crawl_lost_minutes == 0.25
    monkeypatch.setenv("CTF_CRAWL_LOST_MINUTES", "soon")
    try:
        config.load()
    except ValueError as exc:
        assert "CTF_CRAWL_LOST_MINUTES" in str(exc)
    else:
        raise AssertionError("a bad CTF_CRAWL_LOST_MINUTES was taken")
