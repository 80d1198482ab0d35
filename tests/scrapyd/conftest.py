"""Fixtures for the scrapyd tests: real scrapyd nodes, a replica, a PostgreSQL database.

Module-scoped: starting five scrapyd nodes and deploying the egg to each takes a few
seconds, so the tests of one module share them (and read each other's jobs by id).
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import ENV_VARS, throwaway_database
from tests.replica.server import ReplicaServer

from .cluster import ScrapydNode, deploy

#: The four towns the integration test crawls (the replica makes cases only there).
FOUR_TOWNS = ("Hartford", "East Hartford", "New Haven", "Bristol")
#: A password in the database URL: PostgreSQL's trust auth ignores it, and the tests
#: prove it never shows in listjobs.json or a job log.
PG_PASSWORD = "pg-secret-8d2f7c"


@pytest.fixture(scope="module")
def cluster_database(postgres_admin_url):
    """A throw-away PostgreSQL database, migrated, with a password in its URL."""
    from ctforeclosure import migrate

    with throwaway_database(
        postgres_admin_url, "ctf_scrapyd", password=PG_PASSWORD
    ) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="module")
def cluster_replica():
    """A small fast replica with cases in the four towns only."""
    server = ReplicaServer(cases=24, fast=True, towns=FOUR_TOWNS).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, cluster_database, cluster_replica):
    """Scrapyd nodes with the egg deployed by scrapyd-deploy.

    ``a`` and ``b`` run jobs; ``down`` gives its jobs an unreachable database;
    ``frozen1``/``frozen2`` never start their jobs (poll once an hour), so their
    pending + running load is whatever the test queued.
    """
    root = tmp_path_factory.mktemp("scrapyd")
    base = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    base.update(cluster_replica.env, CTF_DATA_DIR=str(root / "data"))
    good = dict(base, DATABASE_URL=cluster_database)
    down = dict(base, DATABASE_URL="postgresql+psycopg://postgres:x@127.0.0.1:1/gone")
    nodes = {
        "a": ScrapydNode(root / "a", good),
        "b": ScrapydNode(root / "b", good),
        "down": ScrapydNode(root / "down", down),
        "frozen1": ScrapydNode(root / "f1", good, poll_interval=3600),
        "frozen2": ScrapydNode(root / "f2", good, poll_interval=3600),
    }
    try:
        for node in nodes.values():
            node.start()
            result = deploy(node, "test1")
            assert result.returncode == 0, result.stderr[-2000:]
        yield nodes
    finally:
        for node in nodes.values():
            node.stop()
