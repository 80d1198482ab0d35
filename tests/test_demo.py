"""``scripts/demo web``: the web UI on 127.0.0.1 over the demo's own database, with
a demo account whose random password it prints once; a person signs in with it.

The demo's crawl itself is ``scripts/demo`` (about a minute of the court's timing
rules); here its database is only migrated, in ``$CTF_DATA_DIR/demo``, and the real
default database beside it is never created.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from ctforeclosure import migrate

ROOT = Path(__file__).resolve().parent.parent
SIGN_IN = re.compile(r"sign in as (\S+) with the password: (\S+)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_demo_web(data_dir: Path, port: int) -> subprocess.Popen:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CTF_SECRET_KEY")
    }
    env.update(
        CTF_DATA_DIR=str(data_dir),
        CTF_VENV=str(Path(sys.executable).parent.parent),
        DEMO_PORT=str(port),
    )
    return subprocess.Popen(
        [str(ROOT / "scripts" / "demo"), "web"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the script execs the server: stop its group
    )


def _sign_in_line(process: subprocess.Popen) -> tuple[str, str, list[str]]:
    printed = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        assert line, "scripts/demo web ended:\n" + "".join(printed)
        printed.append(line)
        if match := SIGN_IN.search(line):
            return match.group(1), match.group(2), printed
    raise AssertionError("no sign-in printed:\n" + "".join(printed))


class _Browser:
    """Keeps the session cookie as a browser on 127.0.0.1 does (it is ``Secure``,
    which requests will not send over plain HTTP)."""

    def __init__(self, root: str):
        self.root = root
        self.cookie = None

    def request(self, method: str, path: str, **options) -> requests.Response:
        headers = {"Cookie": f"session={self.cookie}"} if self.cookie else {}
        response = requests.request(
            method,
            self.root + path,
            headers=headers,
            allow_redirects=False,
            timeout=10,
            **options,
        )
        self.cookie = response.cookies.get("session", self.cookie)
        return response


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            assert time.monotonic() < deadline, f"nothing answers at {url}"
            time.sleep(0.2)


def _sign_in(root: str, email: str, password: str) -> requests.Response:
    browser = _Browser(root)
    form = browser.request("GET", "/auth/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    data = {"email": email, "password": password, "csrf_token": token}
    browser.request("POST", "/auth/login", data=data)
    return browser.request("GET", "/cases/")


def test_demo_web_serves_the_demo_data_and_prints_a_working_sign_in(tmp_path):
    data_dir = tmp_path / "data"
    migrate.upgrade(f"sqlite:///{data_dir / 'demo' / 'ctforeclosure.sqlite3'}")
    port = _free_port()
    process = _start_demo_web(data_dir, port)
    try:
        email, password, printed = _sign_in_line(process)
        root = f"http://127.0.0.1:{port}"
        assert any(root in line for line in printed), printed
        _wait_for(f"{root}/healthz")
        cases = _sign_in(root, email, password)
        assert cases.status_code == 200, cases.status_code
        assert email in cases.text
        assert _sign_in(root, email, "not-the-password").status_code == 302
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        process.stdout.close()
    assert not (data_dir / "ctforeclosure.sqlite3").exists()  # the real default
