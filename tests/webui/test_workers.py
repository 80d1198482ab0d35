"""Several worker processes serve one web UI: what one worker knows, every one sees.

``ctforeclosure web`` runs gunicorn worker processes. Two apps built on the same
database stand for two workers (separate memory, one database); the last test runs
the real command and talks to it over HTTP.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import CSRF_RE, EMAILS, PASSWORD, SECRET_KEY, csrf_token
from tests.webui.test_ratelimit import WRONG, _with_clock, attempt


def _second_worker(app):
    from webui import create_app

    return create_app(dict(app.config))


def test_failed_sign_ins_on_one_worker_block_the_next_on_another(app):
    other = _second_worker(app)
    clock = _with_clock(app)
    other.extensions["login_throttle"] = app.extensions["login_throttle"]
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
        refused = second.post("/auth/login", data=right)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        clock.advance(1)
        assert second.post("/auth/login", data=right).status_code == 302
    finally:
        other.extensions["ctforeclosure_engine"].dispose()


def _account_failures(app, email: str) -> int:
    """Return the failures stored against an account (by its keyed hash)."""
    throttle = app.extensions["login_throttle"]
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        user_id = conn.execute(
            sa.select(db.users.c.id).where(db.users.c.email == email)
        ).scalar_one()
        return conn.execute(
            sa.select(db.login_failures.c.failures).where(
                db.login_failures.c.key == throttle.key("account", str(user_id))
            )
        ).scalar_one()


def _guessing_records(app) -> list:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        return conn.execute(
            sa.select(db.audit_log.c.details).where(
                db.audit_log.c.action == "login.guessing"
            )
        ).all()


def test_sixteen_concurrent_wrong_sign_ins_are_all_counted(app):
    """Threads on the real app and database: no failure lost between them."""
    throttle = app.extensions["login_throttle"]
    app.extensions["login_throttle"] = dataclasses.replace(throttle, alert_at=16)
    start = threading.Barrier(16)
    codes = []

    def guess(n: int) -> None:
        client = app.test_client()
        client.get("/auth/login")
        start.wait(10)
        # from 16 addresses: none of them is refused, every one is counted
        answer = attempt(client, EMAILS["admin"], WRONG, f"198.51.100.{n}")
        codes.append(answer.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert codes == [401] * 16
    assert _account_failures(app, EMAILS["admin"]) == 16
    # the 16th failure, and only it, reported the account
    assert [r.details for r in _guessing_records(app)] == [{"failures": 16}]


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


@contextmanager
def _web_server(db_url: str, tmp_path, **env):
    """Run ``ctforeclosure web`` with two workers; yield its URL, process and log."""
    if not db_url.startswith("postgresql"):
        pytest.skip("production serves from PostgreSQL; one run of the real server")
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=db_url, CTF_SECRET_KEY=SECRET_KEY, **env)
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
        for _ in range(100):  # the second worker may still be booting
            if len(_children(server.pid)) == 2:
                break
            time.sleep(0.1)
        yield base, server, log
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def test_ctforeclosure_web_serves_with_worker_processes(seeded_db_url, tmp_path):
    with _web_server(seeded_db_url, tmp_path) as (base, server, log):
        log.seek(0)
        assert "2 workers x 2 threads" in log.read()
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
        # the viewer's account is now refused from this address on every worker,
        # for 1 s (the next request comes well within it)
        assert codes == [401] * 5 + [429]


def test_concurrent_wrong_sign_ins_at_the_real_server_are_counted_and_reported(
    app, seeded_db_url, tmp_path, webhook
):
    """Twenty wrong passwords for one account at once, through two worker processes,
    from twenty clients behind one trusted proxy: every one is counted, none is
    refused, and the twentieth alone alerts the admins."""
    env = {"CTF_TRUSTED_PROXY_HOPS": "1", "ALERT_WEBHOOK_URL": webhook.url}
    with _web_server(seeded_db_url, tmp_path, **env) as (base, _server, _log):
        form = requests.get(f"{base}/auth/login", timeout=5)
        token, cookie = CSRF_RE.search(form.text)[1], _cookie(form)
        start = threading.Barrier(20)
        codes = []

        def guess(n: int) -> None:
            start.wait(10)
            response = requests.post(
                f"{base}/auth/login",
                data={"email": EMAILS["admin"], "password": WRONG, "csrf_token": token},
                headers={"Cookie": cookie, "X-Forwarded-For": f"198.51.100.{n}"},
                timeout=60,
            )
            codes.append(response.status_code)

        threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        assert codes == [401] * 20
        assert _account_failures(app, EMAILS["admin"]) == 20
        assert [r.details for r in _guessing_records(app)] == [{"failures": 20}]
        for _ in range(100):  # the alert goes out on a thread of its own
            if webhook.received:
                break
            time.sleep(0.05)
        assert [alert["kind"] for alert in webhook.received] == ["login_failures"]
