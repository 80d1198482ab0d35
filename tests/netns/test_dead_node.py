"""A scrapyd node killed mid-crawl: its towns end complete on the other node.

On hosts of their own (tests/netns/hosts.py): PostgreSQL, scrapyd nodes ``a`` and
``b``, the replica. The towns are posted in two jobs, one a node. Once node ``a``'s
crawl has finished some of its towns but not all, every process on ``a`` (scrapyd
and its crawl) is killed with SIGKILL and its cable pulled. Then the 5-minute
routine, ``ctforeclosure jobs --retry-failed`` (with the lost threshold shortened),
runs until it finds the crawl lost and posts its unfinished towns on ``b``.

What a user would notice: the database holds exactly the replica's cases (none
lost, none twice); the dead job shows as lost with the towns it left; those towns
were crawled to completion on ``b``; and the court (the replica, counting requests
per second from both nodes) never saw more than the shared site budget allows.
"""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from ctforeclosure.cli.app import main
from ctforeclosure.db import crawl_jobs, crawl_runs

from .conftest import (
    BUDGET_PER_SECOND,
    ReplicaHost,
    finished,
    operator_env,
    rows,
    schedule,
    start_nodes,
    stored_dockets,
    wait_until,
)

pytestmark = pytest.mark.netns

TOWNS = ("Bethel", "Bethany", "Berlin", "Bolton", "Bozrah", "Branford")
CASES = 60
#: The routine's lost threshold (CTF_CRAWL_LOST_MINUTES, 10 in production) and the
#: crawls' heartbeat (CTF_CRAWL_HEARTBEAT_SECONDS, 60), shortened to fit a test.
LOST_MINUTES = "0.25"
HEARTBEAT_SECONDS = "2"


def _schedule(nodes) -> dict[str, tuple[str, list[str]]]:
    """Post the towns in two jobs over both nodes; return node name -> (job, towns)."""
    names = {node.url: name for name, node in nodes.items()}
    posted = {names[url]: (job, towns) for job, url, towns in schedule(names, TOWNS, 3)}
    assert set(posted) == {"a", "b"}, posted  # one job a node
    return posted


def _mid_crawl(database_url: str, job_id: str, towns: list[str]):
    """The job's crawl run once it has finished some of its towns, not all."""
    runs = rows(database_url, crawl_runs, job_id=job_id)
    if not runs:
        return None
    (run,) = runs
    done = run.completed_towns or []
    assert run.status == "running" and len(done) < len(towns), (
        f"node a finished its crawl ({run.status}) before it could be killed"
    )
    return run if done else None


def _routine_until_lost(job_id: str, timeout: float) -> str:
    """Run the 5-minute routine until it reports the job lost; return its output."""
    outputs = []

    def once():
        result = CliRunner().invoke(main, ["jobs", "--retry-failed"])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
        return f"lost {job_id}" in result.output

    wait_until(once, timeout, f"never lost: {outputs[-3:]}", every=3)
    return outputs[-1]


def _assert_lost_and_done_on_b(url, dead_job, left, survivors, posted) -> None:
    """The dead job is lost with the towns it left; node b's jobs did every town."""
    (lost_run,) = rows(url, crawl_runs, job_id=dead_job)
    assert (lost_run.status, lost_run.outcome) == ("lost", "lost")
    assert lost_run.incomplete_towns == left
    (lost_job,) = rows(url, crawl_jobs, job_id=dead_job)
    assert (lost_job.outcome, lost_job.incomplete_towns) == ("lost", left)
    on_b = set()
    for job in survivors:
        (survivor,) = rows(url, crawl_runs, job_id=job)
        assert (survivor.status, survivor.outcome) == ("finished", "complete")
        on_b |= set(survivor.completed_towns)
    assert on_b == set(posted["b"][1]) | set(left)


def test_a_node_killed_mid_crawl_leaves_no_town_lost(
    network, pg_host, tmp_path, monkeypatch
):
    began = time.monotonic()
    replica = ReplicaHost(network, TOWNS, CASES)
    nodes = {}
    try:
        for name, value in operator_env().items():
            monkeypatch.setenv(name, value)
        nodes = start_nodes(
            network,
            tmp_path,
            pg_host.url,
            replica,
            CTF_CRAWL_HEARTBEAT_SECONDS=HEARTBEAT_SECONDS,
        )
        monkeypatch.setenv("DATABASE_URL", pg_host.url)
        monkeypatch.setenv("SCRAPYD_NODES", f"{nodes['a'].url},{nodes['b'].url}")
        monkeypatch.setenv("CTF_CRAWL_LOST_MINUTES", LOST_MINUTES)
        truth = sorted(case["docket_no"] for case in replica.truth())
        assert len(truth) == CASES
        posted = _schedule(nodes)
        dead_job, dead_towns = posted["a"]
        run = wait_until(
            lambda: _mid_crawl(pg_host.url, dead_job, dead_towns),
            150,
            "node a never finished a town",
        )
        killed = network.kill("a")  # scrapyd and its crawl: SIGKILL, no shutdown
        network.unplug("a")
        assert len(killed) >= 2, killed  # scrapyd and at least one crawl process
        done_at_kill = list(run.completed_towns)

        output = _routine_until_lost(dead_job, 120)
        left = [t for t in dead_towns if t not in done_at_kill]
        assert f"towns {', '.join(left)}" in output, output

        (retry,) = rows(pg_host.url, crawl_jobs, retry_of=dead_job)
        assert (retry.node, retry.towns) == (nodes["b"].url, left)
        survivors = [posted["b"][0], retry.job_id]
        wait_until(
            lambda: all(finished(nodes["b"], job) for job in survivors),
            180,
            "node b's jobs never finished",
        )

        stored = stored_dockets(pg_host.url)
        assert len(stored) == len(set(stored)), "a case stored twice"
        assert sorted(stored) == truth

        _assert_lost_and_done_on_b(pg_host.url, dead_job, left, survivors, posted)
        rate = replica.request_rate()
        assert rate["requests"] > 0
        assert rate["max_per_second"] <= BUDGET_PER_SECOND, rate
        print(f"court: {rate['requests']} requests, at most {rate['max_per_second']}/s")
    finally:
        for node in nodes.values():
            node.stop()
        replica.stop()
        print(f"dead-node scenario: {time.monotonic() - began:.0f} s")
