"""A heartbeat calls a town complete only once its cases are in the database.

A crawl killed between its last page of a town and the flush of that town's cases
must not have called the town done: the lost-crawl routine reruns only the towns
not done, so such cases would be lost for good (the network test,
tests/netns/test_dead_node.py, found it). Here the upsert pipeline holds every item
until the crawl closes, and the heartbeats written meanwhile are read while the
crawl runs: none may name a town whose cases are not all stored.
"""

from __future__ import annotations

import os
import subprocess
import time

import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.jobs.test_auto_retry import SETTINGS
from tests.spiders.test_cases import PROJECT_ROOT, SCRAPY

TOWNS = ("Avon", "Bethel")


def _beats(engine) -> tuple[list[str], dict[str, int]]:
    """The heartbeat's completed towns and the cases stored per town, now."""
    with engine.connect() as conn:
        run = conn.execute(sa.select(db.crawl_runs.c.completed_towns)).first()
        counts = dict(
            conn.execute(
                sa.select(db.cases.c.search_town, sa.func.count()).group_by(
                    db.cases.c.search_town
                )
            ).all()
        )
    return list((run.completed_towns if run else None) or []), counts


def test_no_heartbeat_calls_a_town_done_before_its_cases_are_stored(
    replica_factory, tmp_path
):
    url = f"sqlite:///{tmp_path / 'crawl.sqlite3'}"
    migrate.upgrade(url)
    # every response 0.3 s late: the first town is done long before the crawl ends
    replica = replica_factory(cases=24, fast=True, faults=["latency"], towns=TOWNS)
    expected = {town: len(replica.truth(town=town)) for town in TOWNS}
    command = [str(SCRAPY), "crawl", "cases", "-a", f"towns={','.join(TOWNS)}"]
    command += ["-a", "status=all", "-a", "property=all"]  # as the truth has them
    for setting in [*SETTINGS, "UPSERT_BATCH_SIZE=100000", "UPSERT_FLUSH_SECONDS=0"]:
        command += ["-s", setting]
    env = {**os.environ, **replica.env, "DATABASE_URL": url}
    crawl = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**env, "CTF_CRAWL_HEARTBEAT_SECONDS": "0.2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    engine = db.make_engine(url)
    seen = []
    try:
        while crawl.poll() is None:
            done, counts = _beats(engine)
            seen.append(done)
            for town in done:
                assert counts.get(town, 0) == expected[town], (town, counts)
            time.sleep(0.1)
        _, stderr = crawl.communicate(timeout=60)
        assert crawl.returncode == 0, stderr[-3000:]
        done, counts = _beats(engine)
    finally:
        if crawl.poll() is None:
            crawl.kill()
        engine.dispose()
    assert sorted(done) == sorted(TOWNS) and counts == expected
    assert len(seen) > 10  # the heartbeats were read while the crawl ran
