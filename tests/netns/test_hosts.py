"""The test hosts' own bookkeeping: what a killed run left behind is swept away."""

from __future__ import annotations

import subprocess

import pytest

from . import hosts

pytestmark = pytest.mark.netns


def test_sweep_removes_the_namespaces_and_links_of_a_run_that_is_gone():
    if reason := hosts.unusable():
        pytest.skip(f"SKIPPING NETWORK TEST (no namespaces here): {reason}")
    gone = subprocess.Popen(["true"])
    gone.wait()  # a finished process: its pid names a run that was killed
    namespace, link = f"{hosts.PREFIX}{gone.pid}-a", f"{hosts.PREFIX}{gone.pid}up"
    hosts.ip("netns", "add", namespace)
    hosts.ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns",
             namespace)  # fmt: skip
    sleeper = subprocess.Popen(["ip", "netns", "exec", namespace, "sleep", "600"])
    try:
        removed = hosts.sweep()
        assert namespace in removed
        assert namespace not in hosts.ip("netns", "list")
        assert link not in hosts.ip("-o", "link", "show")  # went with its peer
        assert sleeper.wait(timeout=10) == -9  # its processes killed
    finally:
        sleeper.kill()
        hosts.ip("netns", "del", namespace, check=False)
        hosts.ip("link", "del", link, check=False)
