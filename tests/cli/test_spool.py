"""``ctforeclosure spool replay`` after a database outage, with skip tracing on.

The cases spider crawls the replica with the skip-trace extension on; PostgreSQL
refuses connections part-way (the outage), so later batches go to the spool, and
the trace queued for the last stored batch meets the outage too. Once the database
is back, the replay stores the spooled batches and traces their new parties, and
the cut-off trace's, as the crawl would have: every eligible party is sent to the
replica's BatchData once, none twice, and a second replay sends nothing.
"""

from __future__ import annotations

import threading

import pytest_twisted
import requests
import sqlalchemy as sa
from click.testing import CliRunner
from scrapy import signals as scrapy_signals

from ctforeclosure import db, migrate
from ctforeclosure.cli.app import main
from ctforeclosure.extensions.skiptrace import SkipTrace
from ctforeclosure.skiptrace.service import SkipTraceService
from tests.pipelines.test_replica_crawl import crawl_cases


def _answered(site) -> list[str]:
    """The requestId of every record the replica's BatchData answered."""
    url = site.url("batchdata", "/_ledger")
    return requests.get(url, timeout=5).json()["answered"]


def _outage_after(crawler, items: int, database: str, admin) -> list[int]:
    """Refuse connections once ``items`` are stored; the trace of the batch stored
    last is held back on the skip-trace worker until the database is gone."""
    stopped: list[int] = []
    reached, release = threading.Event(), threading.Event()

    def hold() -> None:
        reached.set()
        release.wait(60)

    def on_item(item, response, spider):
        stored = crawler.stats.get_value("ctf/items_stored", 0)
        worker = crawler.get_extension(SkipTrace)._executor
        if stored and not reached.is_set() and not stopped:
            worker.submit(hold)  # after the first batch's trace, before the next
            reached.wait(60)
        if stopped or stored < items:
            return
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{database}'"
            )
        stopped.append(stored)
        release.set()

    crawler.signals.connect(on_item, signal=scrapy_signals.item_scraped, weak=False)
    return stopped


def _traced_parties(engine) -> dict[int, list[str]]:
    r = db.skiptrace_results.c
    out: dict[int, list[str]] = {}
    with engine.connect() as conn:
        for party_id, status in conn.execute(sa.select(r.party_id, r.status)):
            out.setdefault(party_id, []).append(status)
    return out


@pytest_twisted.ensureDeferred
async def test_spool_replay_traces_the_new_parties_a_crawl_would_have(
    replica_factory, postgres_url, postgres_admin_url, monkeypatch
):
    site = replica_factory(cases=60, towns=("Bethel", "Bethany"), seed=3)
    migrate.upgrade(postgres_url)
    for name, value in {**site.env, "DATABASE_URL": postgres_url}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SKIPTRACE_ENABLED", "1")
    database = sa.make_url(postgres_url).database
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    outages: list[list[int]] = []
    try:
        crawler, _ = await crawl_cases(
            site,
            _hook=lambda c: outages.append(_outage_after(c, 20, database, admin)),
            UPSERT_BATCH_SIZE=10,
            SKIPTRACE_ENABLED=True,
            allow_spool=True,
        )
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        admin.dispose()
    assert outages[0], "the database was never stopped"
    assert crawler.stats.get_value("ctf/items_spooled"), "nothing was spooled"
    before = len(_answered(site))
    assert before, "the crawl traced nobody before the outage"
    status = CliRunner().invoke(main, ["spool", "status"]).output
    assert "skiptrace-untraced-crawl-1.json: " in status, status

    replayed = CliRunner().invoke(main, ["spool", "replay"])
    assert replayed.exit_code == 0, replayed.output
    assert "Skip trace of the replayed parties:" in replayed.output

    sent = _answered(site)
    assert len(sent) > before, "the replay traced nobody"
    assert len(sent) == len(set(sent)), "a person was sent twice"
    engine = db.make_engine(postgres_url)
    try:
        service = SkipTraceService.from_config(engine)
        with engine.connect() as conn:
            defendants = (
                conn.execute(sa.select(db.parties.c.id).where(db.parties.c.role == "D"))
                .scalars()
                .all()
            )
        left = service.quote(party_ids=defendants)
        assert left.records == [] and left.reuse == [], "eligible parties untraced"
        traced = _traced_parties(engine)
        assert all(len(statuses) == 1 for statuses in traced.values())
        assert {s for (s,) in traced.values()} <= {"matched", "no_match", "review"}
    finally:
        engine.dispose()

    again = CliRunner().invoke(main, ["spool", "replay"])
    assert again.exit_code == 0, again.output
    assert "Replayed 0 records" in again.output
    assert "Skip trace" not in again.output
    assert _answered(site) == sent
    status = CliRunner().invoke(main, ["spool", "status"]).output
    assert "empty, nothing to replay" in status, status
