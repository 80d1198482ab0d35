"""A node cut from PostgreSQL mid-crawl: when the link heals, nothing is lost.

On hosts of their own (tests/netns/hosts.py): PostgreSQL, scrapyd node ``a`` and the
replica. Node ``a`` crawls a few towns; mid-crawl every packet between it and the
database host is dropped for PARTITION_SECONDS (the replica stays reachable), then
the link heals, ``ctforeclosure spool replay`` runs on the node as an operator would,
and the database must hold exactly the replica's cases: none lost, none twice.

What the node does meanwhile: a silent partition (packets dropped, no reset) gives
the crawl's database connections no error, only silence, so the crawl holds (each
request to the court waits for its site-budget slot, which is a database row) and
goes on when TCP's retransmissions get through again; nothing spools. A refused
connection (the database stopped) spools instead:
tests/pipelines/test_replica_crawl.py's outage test covers that.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from ctforeclosure.db import crawl_runs
from tests.scrapyd.cluster import BIN

from . import conftest as lab

pytestmark = pytest.mark.netns

TOWNS = ("Bethel", "Bethany", "Berlin")
CASES = 60
PARTITION_SECONDS = 45


def test_a_node_cut_from_the_database_mid_crawl_loses_and_doubles_no_case(
    network, pg_host, tmp_path, monkeypatch
):
    began = time.monotonic()
    replica = lab.ReplicaHost(network, TOWNS, CASES)
    nodes = {}
    try:
        nodes = lab.start_nodes(network, tmp_path, pg_host.url, replica)
        for name, value in lab.operator_env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("DATABASE_URL", pg_host.url)  # schedule records its job
        truth = sorted(case["docket_no"] for case in replica.truth())
        assert len(truth) == CASES
        ((job_id, _, _),) = lab.schedule([nodes["a"].url], TOWNS, len(TOWNS))
        lab.wait_until(
            lambda: (
                len(lab.stored_dockets(pg_host.url)) >= 5
                or lab.finished(nodes["a"], job_id)
            ),
            120,
            "nothing stored",
        )
        network.partition("a", "pg")
        time.sleep(2)  # a commit already on the wire may land
        cut_at = len(lab.stored_dockets(pg_host.url))
        time.sleep(PARTITION_SECONDS)
        assert len(lab.stored_dockets(pg_host.url)) == cut_at, "the cut let writes pass"
        assert not lab.finished(nodes["a"], job_id), "the crawl ended during the cut"
        network.heal("a", "pg")
        lab.wait_until(
            lambda: lab.finished(nodes["a"], job_id), 180, "job never finished"
        )
        assert cut_at < CASES, "the crawl was over before the partition"

        replay = subprocess.run(
            [*network.run_in("a"), str(BIN / "ctforeclosure"), "spool", "replay"],
            env=lab.node_env(tmp_path, "data-a", pg_host.url, replica),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert replay.returncode == 0, replay.stderr[-2000:]
        stored = lab.stored_dockets(pg_host.url)
        assert len(stored) == len(set(stored)), "a case stored twice"
        assert sorted(stored) == truth
        (run,) = lab.rows(pg_host.url, crawl_runs, job_id=job_id)
        assert (run.status, run.outcome, run.incomplete_towns) == (
            "finished",
            "complete",
            [],
        )
    finally:
        for node in nodes.values():
            node.stop()
        replica.stop()
        print(f"partition scenario: {time.monotonic() - began:.0f} s")
