"""A node cut from PostgreSQL mid-crawl spools, replays, and loses nothing.

On hosts of their own (tests/netns/hosts.py): PostgreSQL, scrapyd node ``a`` and the
replica. Node ``a`` crawls a few towns; mid-crawl every packet between it and the
database host is dropped (the replica stays reachable). A silent partition gives no
error, only silence: the database timeouts (``CTF_DB_TIMEOUT_SECONDS``, shortened
here) turn it into one, so the crawl stops (its site budget, a database row, is
unavailable) with what it had stored in the spool, instead of holding for TCP's
~15 minutes. When the link heals, ``ctforeclosure spool replay`` runs on the node as
an operator would, and the automatic retry (``ctforeclosure jobs --retry-failed``,
five minutes later) crawls the towns again: the database then holds exactly the
replica's cases, none lost, none twice.
"""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ctforeclosure.cli.app import main
from ctforeclosure.db import crawl_jobs, crawl_runs
from tests.scrapyd.cluster import BIN

from . import conftest as lab

pytestmark = pytest.mark.netns

TOWNS = ("Bethel", "Bethany", "Berlin")
CASES = 60
#: The nodes' database timeout (default 30 s), and how long the crawl may take to
#: notice the cut and close (each database call then waits that long at most).
DB_TIMEOUT = 4
STOP_SECONDS = 120


def test_a_node_cut_from_the_database_mid_crawl_spools_and_loses_no_case(
    network, pg_host, tmp_path, monkeypatch
):
    began = time.monotonic()
    replica = lab.ReplicaHost(network, TOWNS, CASES)
    nodes = {}
    try:
        nodes = lab.start_nodes(
            network,
            tmp_path,
            pg_host.url,
            replica,
            CTF_DB_TIMEOUT_SECONDS=str(DB_TIMEOUT),
        )
        for name, value in lab.operator_env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("DATABASE_URL", pg_host.url)  # schedule records its job
        monkeypatch.setenv("SCRAPYD_NODES", nodes["a"].url)
        truth = sorted(case["docket_no"] for case in replica.truth())
        assert len(truth) == CASES
        ((job_id, _, _),) = lab.schedule([nodes["a"].url], TOWNS, len(TOWNS))
        cut_at = _cut_mid_crawl(network, nodes["a"], job_id, pg_host.url)
        assert len(lab.stored_dockets(pg_host.url)) == cut_at, "the cut let writes pass"
        network.heal("a", "pg")
        _replay(network, tmp_path, pg_host.url, replica)
        (run,) = lab.rows(pg_host.url, crawl_runs, job_id=job_id)
        assert (run.status, run.finish_reason) == ("spooled", "site_budget_unavailable")
        assert run.items_spooled > 0 and run.outcome == "failed"
        assert len(lab.stored_dockets(pg_host.url)) > cut_at  # the spool's cases
        retry_id = _retry_five_minutes_later(pg_host.url, job_id)
        lab.wait_until(
            lambda: lab.finished(nodes["a"], retry_id), 180, "retry never finished"
        )
        stored = lab.stored_dockets(pg_host.url)
        assert len(stored) == len(set(stored)), "a case stored twice"
        assert sorted(stored) == truth
        (again,) = lab.rows(pg_host.url, crawl_runs, job_id=retry_id)
        assert (again.status, again.outcome) == ("finished", "complete")
    finally:
        for node in nodes.values():
            node.stop()
        replica.stop()
        print(f"partition scenario: {time.monotonic() - began:.0f} s")


def _cut_mid_crawl(network, node, job_id: str, url: str) -> int:
    """Cut node ``a`` from the database once some cases are stored; return how many
    were stored at the cut, once the crawl has stopped."""
    lab.wait_until(
        lambda: len(lab.stored_dockets(url)) >= 5 or lab.finished(node, job_id),
        120,
        "nothing stored",
    )
    network.partition("a", "pg")
    time.sleep(2)  # a commit already on the wire may land
    cut_at = len(lab.stored_dockets(url))
    assert cut_at < CASES, "the crawl was over before the partition"
    lab.wait_until(
        lambda: lab.finished(node, job_id),
        STOP_SECONDS,
        "the crawl held on through the cut instead of stopping and spooling",
    )
    return cut_at


def _replay(network, tmp_path, url: str, replica) -> None:
    """``ctforeclosure spool replay`` on node ``a``, as its operator would."""
    replay = subprocess.run(
        [*network.run_in("a"), str(BIN / "ctforeclosure"), "spool", "replay"],
        env=lab.node_env(tmp_path, "data-a", url, replica),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert replay.returncode == 0, replay.stderr[-2000:]


def _retry_five_minutes_later(url: str, job_id: str) -> str:
    """Run the 5-minute routine now (it records the failure: the retry is not due
    yet), then once the first retry is due; return the retry's id."""
    first = CliRunner().invoke(main, ["jobs", "--retry-failed"])
    assert first.exit_code == 0 and "retried" not in first.output, first.output
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:  # the first retry waits 5 minutes: they passed
            conn.execute(
                crawl_jobs.update()
                .where(crawl_jobs.c.job_id == job_id)
                .values(
                    created_at=crawl_jobs.c.created_at - timedelta(minutes=6),
                    ended_at=crawl_jobs.c.ended_at - timedelta(minutes=6),
                )
            )
    finally:
        engine.dispose()
    result = CliRunner().invoke(main, ["jobs", "--retry-failed"])
    assert result.exit_code == 0, result.output
    assert f"retried {job_id} as " in result.output, result.output
    return result.output.split(f"retried {job_id} as ")[1].split()[0]
