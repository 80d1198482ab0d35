"""Real scrapyd nodes for the jobs tests: one that keeps its jobs pending (polls its
queue once an hour, so a test reads what was posted), one that died (SIGKILL)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import ENV_VARS
from tests.scrapyd import cluster


@pytest.fixture(scope="module")
def pending_node(tmp_path_factory):
    """A scrapyd node with the project deployed that never starts its jobs."""
    root = tmp_path_factory.mktemp("jobs-scrapyd")
    with cluster.pending_only_node(root / "pending", "jobs1") as node:
        yield node


@pytest.fixture(scope="module")
def dead_node(tmp_path_factory):
    """A scrapyd node killed without a clean shutdown: its port answers nothing."""
    root = tmp_path_factory.mktemp("jobs-scrapyd-dead")
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    node = cluster.ScrapydNode(root / "dead", env).start()
    node.proc.kill()
    node.proc.wait()
    return node


@pytest.fixture
def nodes_env(pending_node, dead_node, monkeypatch):
    """SCRAPYD_NODES: the dead node first, then the one that answers."""
    monkeypatch.setenv("SCRAPYD_NODES", f"{dead_node.url},{pending_node.url}")
    monkeypatch.setenv("SCRAPYD_USERNAME", cluster.USERNAME)
    monkeypatch.setenv("SCRAPYD_PASSWORD", cluster.PASSWORD)
    return pending_node, dead_node
