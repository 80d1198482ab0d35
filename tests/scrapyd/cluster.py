"""Real scrapyd nodes on 127.0.0.1 for tests: own config dir, basic auth, own ports.

Each node runs the venv's ``scrapyd`` (so jobs get the project's dependencies) from a
folder holding its own ``scrapyd.conf``; credentials and the jobs' secrets are in its
environment, as in production (deploy/scrapyd.conf). The network tests (tests/netns/)
run a node on a host of their own: ``host`` is its bind address and ``netns`` the
network namespace it runs in.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
USERNAME = "operator"
PASSWORD = "scrapyd-test-pw-5b1e"

CONF = """\
[scrapyd]
bind_address = {host}
http_port = {port}
eggs_dir = {root}/eggs
logs_dir = {root}/logs
dbs_dir = {root}/dbs
items_dir =
jobs_to_keep = 20
max_proc = {max_proc}
poll_interval = {poll_interval}
jobstorage = scrapyd.jobstorage.SqliteJobStorage
finished_to_keep = 100
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ScrapydNode:
    """One scrapyd process; ``env`` is what its jobs will see."""

    def __init__(
        self,
        root: Path,
        env: dict[str, str],
        *,
        max_proc: int = 2,
        poll_interval: float = 0.5,
        host: str = "127.0.0.1",
        netns: str | None = None,
    ):
        self.root = root
        self.host = host
        self.netns = netns
        self.port = 6800 if netns else free_port()  # a namespace has its own ports
        self.env = env
        self.max_proc = max_proc
        self.poll_interval = poll_interval
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ScrapydNode:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "scrapyd.conf").write_text(
            CONF.format(
                host=self.host,
                port=self.port,
                root=self.root,
                max_proc=self.max_proc,
                poll_interval=self.poll_interval,
            )
        )
        env = dict(self.env)
        env.update(
            SCRAPYD_USERNAME=USERNAME,
            SCRAPYD_PASSWORD=PASSWORD,
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        command = [
            str(BIN / "scrapyd"),
            "--pidfile=",
            "-l",
            str(self.root / "scrapyd.log"),
        ]
        if self.netns:  # `ip netns exec` execs the command: the same process
            command = ["ip", "netns", "exec", self.netns, *command]
        self.proc = subprocess.Popen(
            command,
            cwd=self.root,
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/daemonstatus.json", timeout=1)
                return self
            except requests.ConnectionError:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"scrapyd exited: {self.root / 'scrapyd.log'}"
                    ) from None
                time.sleep(0.1)
        raise RuntimeError("scrapyd did not start in 30 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def get(self, endpoint: str, **params) -> dict:
        response = requests.get(
            f"{self.url}/{endpoint}",
            params=params,
            auth=(USERNAME, PASSWORD),
            timeout=30,
        )
        response.raise_for_status()
        return response.json()


@contextlib.contextmanager
def pending_only_node(root: Path, version: str):
    """Yield a node, the project deployed, that polls its queue once an hour: the
    jobs posted stay pending, for a test to read. Stopped on leaving."""
    from tests.conftest import ENV_VARS

    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    node = ScrapydNode(root, env, poll_interval=3600)
    node.start()
    try:
        result = deploy(node, version)
        assert result.returncode == 0, result.stderr[-2000:]
        yield node
    finally:
        node.stop()


def deploy(node: ScrapydNode, version: str) -> subprocess.CompletedProcess:
    """Run ``scrapyd-deploy`` from the repository, as an operator would."""
    env = dict(os.environ)
    env.update(
        SCRAPYD_URL=node.url, SCRAPYD_USERNAME=USERNAME, SCRAPYD_PASSWORD=PASSWORD
    )
    return subprocess.run(
        [str(BIN / "scrapyd-deploy"), "-v", version],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
