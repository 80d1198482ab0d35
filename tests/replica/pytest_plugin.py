"""Pytest fixtures that start the replica on a free loopback port and stop it.

``replica``: a small, fast (NoBot timing off) replica for one test.
``replica_factory``: ``replica_factory(cases=..., faults=[...], fast=False, ...)``
makes replicas with other options; all are stopped at teardown.
"""

from __future__ import annotations

import pytest

from .server import ReplicaServer


@pytest.fixture
def replica_factory():
    """Return a function that starts a replica with the given options."""
    started: list[ReplicaServer] = []

    def make(**options) -> ReplicaServer:
        options.setdefault("cases", 300)
        server = ReplicaServer(**options).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def replica(replica_factory) -> ReplicaServer:
    """A started replica: 300 cases, seed 0, NoBot timing rules off."""
    return replica_factory()
