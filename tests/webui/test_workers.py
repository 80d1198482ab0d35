"""Several worker processes serve one web UI: what one worker knows, every one sees.

``ctforeclosure web`` runs gunicorn worker processes. Two apps built on the same
database stand for two workers (separate memory, one database); the last test runs
the real command and talks to it over HTTP.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.webui.conftest import CSRF_RE, EMAILS, PASSWORD, SECRET_KEY, csrf_token


def _second_worker(app):
    from webui import create_app

    return create_app(dict(app.config))


def test_failed_sign_ins_on_one_worker_block_the_next_on_another(app):
    other = _second_worker(app)
    try:
        first, second = app.test_client(), other.test_client()
        token = csrf_token(first)
        bad = {"email": EMAILS["admin"], "password": "nope-nope-nope"}
        for _ in range(5):
            response = first.post("/auth/login", data={**bad, "csrf_token": token})
            assert response.status_code == 401
        right = {
            "email": EMAILS["admin"],
            "password": PASSWORD,
            "csrf_token": csrf_token(second),
        }
        assert second.post("/auth/login", data=right).status_code == 429
    finally:
        other.extensions["ctforeclosure_engine"].dispose()


def test_a_job_started_by_one_worker_shows_its_progress_on_another(app):
    from webui.skiptrace import registry

    other = _second_worker(app)
    release = threading.Event()

    def work(job):
        job.total = 10
        job.progress(4, 10)
        assert release.wait(10)
        job.progress(10, 10)
        return ["trace done: 7 matched"]

    try:
        with app.app_context():
            job = registry().start("skiptrace", EMAILS["manager"], work)
        viewer = other.test_client()
        token = csrf_token(viewer)
        viewer.post(
            "/auth/login",
            data={
                "email": EMAILS["manager"],
                "password": PASSWORD,
                "csrf_token": token,
            },
        )
        page = viewer.get(f"/skiptrace/jobs/{job.id}").get_data(as_text=True)
        assert ">running<" in page and "4 of 10 records sent" in page
        release.set()
        for _ in range(200):
            page = viewer.get(f"/skiptrace/jobs/{job.id}").get_data(as_text=True)
            if ">running<" not in page:
                break
            time.sleep(0.05)
        assert ">finished<" in page and "10 of 10 records sent" in page
        assert "trace done: 7 matched" in page  # the job's result lines
        assert viewer.get("/skiptrace/jobs/nope").status_code == 404
    finally:
        release.set()
        other.extensions["ctforeclosure_engine"].dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cookie(response) -> str:
    return "session=" + re.search(r"session=([^;]+)", response.headers["Set-Cookie"])[1]


def _children(pid: int) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue  # not a process, or gone meanwhile
        if stat.rsplit(")", 1)[1].split()[1] == str(pid):
            found.append(entry.name)
    return found


def test_ctforeclosure_web_serves_with_worker_processes(seeded_db_url, tmp_path):
    if not seeded_db_url.startswith("postgresql"):
        pytest.skip("production serves from PostgreSQL; one run of the real server")
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=seeded_db_url, CTF_SECRET_KEY=SECRET_KEY)
    command = Path(sys.executable).parent / "ctforeclosure"
    log = (tmp_path / "web.log").open("w+")
    server = subprocess.Popen(
        [str(command), "web", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                requests.get(f"{base}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
        log.seek(0)
        assert "2 workers x 2 threads" in log.read()
        for _ in range(100):  # the second worker may still be booting
            if len(_children(server.pid)) == 2:
                break
            time.sleep(0.1)
        assert len(_children(server.pid)) == 2

        # Sign in over HTTP (the Secure cookie is sent by hand over plain HTTP),
        # each request on a new connection, so any worker may answer it.
        form = requests.get(f"{base}/auth/login", timeout=5)
        token = CSRF_RE.search(form.text)[1]
        headers = {"Cookie": _cookie(form)}
        signed_in = requests.post(
            f"{base}/auth/login",
            data={
                "email": EMAILS["manager"],
                "password": PASSWORD,
                "csrf_token": token,
            },
            headers=headers,
            allow_redirects=False,
            timeout=5,
        )
        assert signed_in.status_code == 302
        session = {"Cookie": _cookie(signed_in)}
        pages = [
            requests.get(f"{base}/cases/", headers=session, timeout=5) for _ in range(8)
        ]
        assert all(p.status_code == 200 and "<table" in p.text for p in pages)
        bad = {"email": EMAILS["viewer"], "password": "wrong", "csrf_token": token}
        codes = [
            requests.post(
                f"{base}/auth/login", data=bad, headers=headers, timeout=5
            ).status_code
            for _ in range(6)
        ]
        # the address is now blocked on every worker
        assert codes == [401] * 5 + [429]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
