"""A small network of this machine's own test hosts, made of network namespaces.

Proof that a crawl survives a dead node or a partition needs hosts whose links can
be cut one at a time, which loopback cannot give. Each host here is a network
namespace with one veth link (``eth0``) to a switch: a bridge in a namespace of its
own (the root namespace's bridges may be filtered, e.g. by Docker's FORWARD DROP),
which the test process reaches over one more veth. Addresses come from 198.18.0.0/15
(RFC 2544, set aside for network tests) and exist only on these links.

Every name starts with ``ctfn<pid>`` (the pid of the test process), so parallel runs
never collide and :func:`sweep` can remove what a killed run left (its pid is gone).
:meth:`Network.close` kills every process in the hosts and deletes the namespaces and
links; it is safe to call after a half-made :meth:`Network.up`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

PREFIX = "ctfn"
TEST_RANGE = ipaddress.ip_network("198.18.0.0/15")
_OWNED = re.compile(rf"^{PREFIX}(\d+)")


def ip(*args: str, check: bool = True) -> str:
    """Run ``ip ARGS``; return its output (raise with its stderr when it fails)."""
    done = subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=30, check=False
    )
    if check and done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def unusable() -> str | None:
    """Say why namespaces cannot be made here (not root, no iproute2), or None."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            return f"no `{tool}` (apt-get install iproute2 iptables)"
    probe = f"{PREFIX}{os.getpid()}-probe"
    try:
        ip("netns", "add", probe)
    except RuntimeError as exc:
        return f"cannot make a network namespace: {exc}"
    ip("netns", "del", probe, check=False)
    return None


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def kill_namespace_processes(namespace: str) -> list[int]:
    """SIGKILL every process in ``namespace`` (no clean shutdown); return the pids."""
    pids = [int(p) for p in ip("netns", "pids", namespace, check=False).split()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


def sweep() -> list[str]:
    """Remove the namespaces and links of earlier runs whose process is gone."""
    removed = []
    for line in ip("netns", "list", check=False).splitlines():
        name = line.split()[0] if line.split() else ""
        if (m := _OWNED.match(name)) and not _alive(int(m[1])):
            kill_namespace_processes(name)
            ip("netns", "del", name, check=False)
            removed.append(name)
    for line in ip("-o", "link", "show", check=False).splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if (m := _OWNED.match(name)) and not _alive(int(m[1])):
            ip("link", "del", name, check=False)
            removed.append(name)
    return removed


def _free_subnet(pid: int) -> ipaddress.IPv4Network:
    """Pick a /24 of the test range that no interface here uses."""
    used = ip("-o", "-4", "addr", "show", check=False)
    subnets = list(TEST_RANGE.subnets(new_prefix=24))
    for offset in range(len(subnets)):
        subnet = subnets[(pid + offset) % len(subnets)]
        if f" {subnet.network_address + 1}/" not in used:
            return subnet
    raise RuntimeError("every /24 of 198.18.0.0/15 is in use")


class Network:
    """Hosts (name -> last octet of its address) on one switch; ``up``, ``close``."""

    def __init__(self, hosts: dict[str, int]):
        self.tag = f"{PREFIX}{os.getpid()}"
        self.subnet = _free_subnet(os.getpid())
        self.octets = dict(hosts)
        self.switch = f"{self.tag}-sw"
        self.uplink = f"{self.tag}up"  # the test process's link, in the root namespace
        self.made: list[str] = []  # namespaces made, for close()

    def address(self, host: str) -> str:
        return str(self.subnet.network_address + self.octets[host])

    def namespace(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def run_in(self, host: str) -> list[str]:
        """The command prefix that runs a program on ``host``."""
        return ["ip", "netns", "exec", self.namespace(host)]

    def _port(self, host: str) -> str:
        return f"p{host}"[:15]  # the host's port on the switch

    def up(self) -> Network:
        """Make the switch, the test process's link to it, and every host."""
        prefix = self.subnet.prefixlen
        ip("netns", "add", self.switch)
        self.made.append(self.switch)
        sw = ("-n", self.switch)
        ip(*sw, "link", "add", "br0", "type", "bridge")
        ip(*sw, "link", "set", "br0", "up")
        ip("link", "add", self.uplink, "type", "veth", "peer", "name", "up0", "netns",
           self.switch)  # fmt: skip
        ip(*sw, "link", "set", "up0", "master", "br0", "up")
        ip("addr", "add", f"{self.subnet.network_address + 1}/{prefix}", "dev",
           self.uplink)  # fmt: skip
        ip("link", "set", self.uplink, "up")
        for host in self.octets:
            ns = self.namespace(host)
            ip("netns", "add", ns)
            self.made.append(ns)
            port = self._port(host)
            ip(*sw, "link", "add", port, "type", "veth", "peer", "name", "eth0",
               "netns", ns)  # fmt: skip
            ip(*sw, "link", "set", port, "master", "br0", "up")
            ip("-n", ns, "addr", "add", f"{self.address(host)}/{prefix}", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
        return self

    def unplug(self, host: str) -> None:
        """Pull ``host``'s cable: its port on the switch goes down, frames are lost."""
        ip("-n", self.switch, "link", "set", self._port(host), "down")

    def plug(self, host: str) -> None:
        ip("-n", self.switch, "link", "set", self._port(host), "up")

    def _drop(self, action: str, host: str, peer: str) -> None:
        for chain, side in (("INPUT", "-s"), ("OUTPUT", "-d")):
            subprocess.run(
                [*self.run_in(host), "iptables", action, chain, side,
                 self.address(peer), "-j", "DROP"],
                check=True, capture_output=True, timeout=30,
            )  # fmt: skip

    def partition(self, host: str, peer: str) -> None:
        """Cut ``host`` from ``peer`` only (both ways: packets silently dropped)."""
        self._drop("-I", host, peer)

    def heal(self, host: str, peer: str) -> None:
        self._drop("-D", host, peer)

    def kill(self, host: str) -> list[int]:
        """SIGKILL every process running on ``host``; return their pids."""
        return kill_namespace_processes(self.namespace(host))

    def close(self) -> None:
        """Kill every process on the hosts; delete namespaces and links."""
        for ns in reversed(self.made):
            kill_namespace_processes(ns)
            ip("netns", "del", ns, check=False)
        self.made.clear()
        ip("link", "del", self.uplink, check=False)
