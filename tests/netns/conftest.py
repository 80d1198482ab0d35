"""Hosts for the network tests: PostgreSQL, two scrapyd nodes and the replica, each on
a namespace of its own (:mod:`tests.netns.hosts`), all gone at teardown.

Function-scoped: every scenario kills or cuts something, so each gets a new network.
Skipped, loudly, only where namespaces cannot be made (not root, no iproute2).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import ENV_VARS
from tests.pipelines.pgcluster import PrivateCluster
from tests.replica.server import env_for
from tests.scrapyd.cluster import PASSWORD, REPO, USERNAME, ScrapydNode, deploy

from . import hosts

#: The hosts and the last octet of each one's address.
HOSTS = {"pg": 10, "a": 21, "b": 22, "replica": 30}
REPLICA_PORT = 8800
#: Seconds between two requests to the court, deployment-wide (the site budget).
#: Slots 0.3 s apart put at most 4 requests in any second (0, .3, .6, .9), and a
#: fifth would need the network to shift one by 0.2 s: the replica, counting per
#: wall-clock second, must never see more than BUDGET_PER_SECOND. (At 0.25 s a
#: millisecond of jitter could put 5 in one second within the budget.)
BUDGET_INTERVAL = 0.3
BUDGET_PER_SECOND = math.ceil(1 / BUDGET_INTERVAL)
#: Settings for the jobs (never secrets: scrapyd shows them). A crashed crawl's
#: search session frees itself after SITE_BUDGET_SESSION_TTL seconds (120 in
#: production): shortened, or the survivor waits two minutes for the dead.
JOB_SETTINGS = (
    "DOWNLOAD_DELAY=0",
    "AUTOTHROTTLE_ENABLED=False",
    f"SITE_BUDGET_INTERVAL={BUDGET_INTERVAL}",
    "SITE_BUDGET_SESSION_TTL=10",
    "SITE_BUDGET_SESSION_GRACE=2",
    "TELNETCONSOLE_ENABLED=False",
)


@pytest.fixture
def network():
    """The switch and the four hosts' namespaces; deleted even when the test fails."""
    if reason := hosts.unusable():
        pytest.skip(f"SKIPPING NETWORK TEST (no namespaces here): {reason}")
    hosts.sweep()
    net = hosts.Network(HOSTS)
    try:
        net.up()
        yield net
    finally:
        net.close()


@pytest.fixture
def pg_host(network):
    """A private PostgreSQL cluster on the ``pg`` host, migrated."""
    from ctforeclosure import migrate

    cluster = PrivateCluster(host=network.address("pg"), netns=network.namespace("pg"))
    try:
        cluster.start()
        migrate.upgrade(cluster.url)
        yield cluster
    finally:
        cluster.close()


class ReplicaHost:
    """``python -m tests.replica`` on the ``replica`` host; truth and request rates."""

    def __init__(self, network: hosts.Network, towns: tuple[str, ...], cases: int):
        self.root = f"http://{network.address('replica')}:{REPLICA_PORT}"
        self.env = env_for(self.root)
        command = [
            *network.run_in("replica"),
            sys.executable,
            "-m",
            "tests.replica",
            "--host",
            network.address("replica"),
            "--port",
            str(REPLICA_PORT),
            "--cases",
            str(cases),
            "--seed",
            "5",
            "--towns",
            ",".join(towns),
            "--fast",
        ]
        self.proc = subprocess.Popen(command, cwd=REPO, stderr=subprocess.DEVNULL)
        wait_until(lambda: self._answers(), 60, "the replica did not start")

    def _answers(self) -> bool:
        try:
            return requests.get(f"{self.root}/_replica/info", timeout=2).ok
        except requests.ConnectionError:
            return False

    def truth(self, town: str | None = None) -> list[dict]:
        params = {"town": town} if town else {}
        response = requests.get(f"{self.root}/_replica/truth.json", params, timeout=30)
        response.raise_for_status()
        return response.json()

    def request_rate(self) -> dict:
        response = requests.get(f"{self.root}/_replica/request_rate.json", timeout=30)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


def wait_until(check, timeout: float, message: str, every: float = 0.5):
    """Poll ``check()`` until it returns something true; return it."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{message} (waited {timeout:.0f} s)")
        time.sleep(every)
    return result


def node_env(
    tmp_path: Path, name: str, database_url: str, replica: ReplicaHost, **extra: str
) -> dict[str, str]:
    """What a node's jobs see: the replica, the database, a data folder (spool).

    The replica is not on loopback here, so the crawl treats it as the real site:
    it must name its operator (CONTACT) and take the shared site budget.
    """
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(
        replica.env,
        DATABASE_URL=database_url,
        CTF_DATA_DIR=str(tmp_path / name),
        CONTACT="ctforeclosure network test <netns-test@example.org>",
        **extra,
    )
    return env


def start_nodes(
    network, tmp_path, database_url, replica, **extra: str
) -> dict[str, ScrapydNode]:
    """Scrapyd on hosts ``a`` and ``b``, the egg deployed by scrapyd-deploy;
    ``extra`` is more environment for their jobs."""
    nodes = {}
    for name in ("a", "b"):
        node = ScrapydNode(
            tmp_path / f"scrapyd-{name}",
            node_env(tmp_path, f"data-{name}", database_url, replica, **extra),
            host=network.address(name),
            netns=network.namespace(name),
        )
        nodes[name] = node.start()
        result = deploy(node, "netns1")
        assert result.returncode == 0, result.stderr[-2000:]
    return nodes


def schedule(urls: list[str], towns, batch_size: int) -> list[tuple[str, str, list]]:
    """``ctforeclosure schedule`` the towns over the nodes with the test's settings;
    return (job id, node URL, towns) for each job posted."""
    from click.testing import CliRunner

    from ctforeclosure.cli.app import main

    args = ["schedule", "--nodes", ",".join(urls), "--batch-size", str(batch_size)]
    for town in towns:
        args += ["--town", town]
    for setting in JOB_SETTINGS:
        args += ["--set", setting]
    args += ["--arg", "status=all", "--arg", "property=all"]  # as the truth has them
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    posted = [line.split("\t") for line in result.stdout.splitlines()]
    return [(job_id, url, names.split(", ")) for job_id, url, names in posted]


def operator_env() -> dict[str, str]:
    """The scheduling machine's credentials for the scrapyd nodes."""
    return {"SCRAPYD_USERNAME": USERNAME, "SCRAPYD_PASSWORD": PASSWORD}


def stored_dockets(database_url: str) -> list[str]:
    """Every docket number in ``cases`` (a list: a duplicate would show twice)."""
    from ctforeclosure.db import cases

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(cases.c.docket_no)).scalars())
    finally:
        engine.dispose()


def rows(database_url: str, table: sa.Table, **where) -> list:
    """The rows of ``table`` whose columns equal ``where``'s values."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            query = sa.select(table).where(
                *(table.c[name] == value for name, value in where.items())
            )
            return list(conn.execute(query.order_by(table.c.id)))
    finally:
        engine.dispose()


def finished(node: ScrapydNode, job_id: str) -> bool:
    """Whether scrapyd lists the job finished (done, crashed or cancelled)."""
    listing = node.get("listjobs.json", project="ctforeclosure")
    return any(job["id"] == job_id for job in listing["finished"])
