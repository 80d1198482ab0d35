"""A private, throw-away PostgreSQL cluster (initdb/pg_ctl on a free port).

For tests that stop the database mid-crawl: never the shared server. As root the
server binaries run as the ``postgres`` user (initdb refuses root). The network tests
(tests/netns/) start it on a host of their own: ``host`` is the address it listens on
and ``netns`` the network namespace it runs in, with trust for the test hosts' range.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("CTF_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateCluster:
    """initdb a cluster in a temporary folder; start/stop it; remove it at close."""

    def __init__(self, host: str = "127.0.0.1", netns: str | None = None):
        if not (PG_BIN / "initdb").exists():
            raise FileNotFoundError(f"no PostgreSQL server binaries in {PG_BIN}")
        self.host = host
        self.netns = netns
        self.folder = Path(tempfile.mkdtemp(prefix="ctf-pg-"))
        self.data = self.folder / "data"
        self.port = 5432 if netns else _free_port()  # a namespace has its own ports
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        if netns:
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.write("host all all 198.18.0.0/15 trust\n")

    def _run(self, *cmd: str) -> None:
        if self.as_postgres:
            cmd = ("runuser", "-u", "postgres", "--", *cmd)
        if self.netns:
            cmd = ("ip", "netns", "exec", self.netns, *cmd)
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/postgres"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses={self.host} "
            f"-c unix_socket_directories={self.folder} -c fsync=off"
        )
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"
        )

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)
