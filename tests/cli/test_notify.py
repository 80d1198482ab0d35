"""``ctforeclosure notify`` as the timer and the crawls run it: a real process,
killed mid-batch, leaves nothing undelivered and nothing sent twice but the one
delivery in flight, resent with the same delivery id; its summary is counts only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ctforeclosure.db import notification_outbox
from tests.services.notify_parts import (
    SECRET_KEY,
    Mailbox,
    Receiver,
    free_port,
    new_cases,
    outbox,
    search,
    serve,
    staff,
    subscribe,
)

COMMAND = [str(Path(sys.executable).with_name("ctforeclosure")), "notify"]


def _env(url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CTF_", "SMTP"))}
    return env | {
        "DATABASE_URL": url,
        "CTF_SECRET_KEY": SECRET_KEY,
        "CTF_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
    }


def _wait_for(
    receiver: Receiver, posts: int, process: subprocess.Popen, seconds: float = 60
) -> None:
    """Wait for the posts; a notify run that ended first is told with its output."""
    deadline = time.monotonic() + seconds
    while len(receiver.posts) < posts:
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"notify ended ({process.returncode}): {out}{err}")
        assert time.monotonic() < deadline, "the receiver got too few posts"
        time.sleep(0.02)


def test_a_run_killed_mid_batch_is_finished_by_the_next(
    migrated_engine, migrated_db_url
):
    receiver = Receiver(delay=0.15)
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        made = subscribe(conn, ann, bethel, ["new_case"], webhook_url=receiver.url)
        receiver.secret = made.webhook_secret
    with migrated_engine.begin() as conn:  # seen after the subscription was made
        dockets = new_cases(conn, "Bethel", 12)
        new_cases(conn, "Hartford", 5, start=50)
    serve(receiver)
    try:
        first = subprocess.Popen(
            COMMAND,
            env=_env(migrated_db_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for(receiver, 4, first)
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
        killed_at = len(receiver.posts)
        rerun = subprocess.run(
            COMMAND, env=_env(migrated_db_url), capture_output=True, text=True
        )
    finally:
        receiver.shutdown()
    assert rerun.returncode == 0, rerun.stderr
    assert 4 <= killed_at < 12
    got = Counter(p["body"]["docket_no"] for p in receiver.posts)
    assert sorted(got) == sorted(dockets)  # all of them, and only Bethel's
    again = [docket for docket, times in got.items() if times > 1]
    assert len(again) <= 1 and all(got[d] == 2 for d in again)  # the one in flight
    ids = {}
    for post in receiver.posts:  # a resend carries the first send's delivery id
        assert (
            ids.setdefault(post["body"]["docket_no"], post["delivery"])
            == post["delivery"]
        )
        assert post["signed"]
    summary = rerun.stdout.strip().splitlines()[-1]
    assert summary.startswith("notify: ")
    assert "@" not in summary and "HHD" not in summary  # counts, no personal data


def test_a_run_killed_sending_a_big_digest_resends_it_once_whole(
    migrated_engine, migrated_db_url
):
    """A digest of 1,200 changes (more than one batch of due rows) is one email;
    killed after the SMTP server has it and before it is recorded, the next run
    sends the same email again, with the same delivery id, and records it."""
    mailbox = Mailbox(free_port(), reply_after=30)
    with migrated_engine.begin() as conn:
        ann = staff(conn)
        bethel = search(conn, ann, {"town": "Bethel"})
        subscribe(conn, ann, bethel, ["new_case"], email_mode="digest", digest_hour=7)
        new_cases(conn, "Bethel", 1200)
    queued = subprocess.run(COMMAND, env=_env(migrated_db_url), capture_output=True)
    assert queued.returncode == 0, queued.stderr
    with migrated_engine.begin() as conn:  # as if seven o'clock had come
        conn.execute(
            notification_outbox.update().values(
                next_attempt_at=datetime.now(UTC) - timedelta(minutes=1)
            )
        )
    smtp = _env(migrated_db_url) | {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "SMTP_SECURITY": "none",
    }
    mailbox.start()
    try:
        first = subprocess.Popen(COMMAND, env=smtp, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not mailbox.messages:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "no digest reached the SMTP server"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
        mailbox.reply_after = 0
        rerun = subprocess.run(COMMAND, env=smtp, capture_output=True, text=True)
    finally:
        mailbox.stop()
    assert rerun.returncode == 0, rerun.stderr
    sent, resent = mailbox.messages
    assert sent["X-CTF-Delivery"] == resent["X-CTF-Delivery"]
    assert resent["Subject"] == "[ctforeclosure] 1,200 updates: Bethel"
    with migrated_engine.connect() as conn:
        rows = outbox(conn)
    assert len(rows) == 1200 and {(r.status, r.attempts) for r in rows} == {("sent", 1)}


def test_notify_exits_1_with_one_line_when_the_database_is_down(tmp_path):
    from click.testing import CliRunner

    from ctforeclosure.cli.app import main
    from tests.services.notify_parts import free_port

    down = f"postgresql+psycopg://ctf@127.0.0.1:{free_port()}/ctf"
    result = CliRunner().invoke(main, ["notify"], env={"DATABASE_URL": down})
    assert result.exit_code == 1
    assert result.output.startswith("routine notify failed: ")
    assert "Traceback" not in result.output


def test_notify_with_nothing_to_do_prints_its_counts(migrated_db_url):
    rerun = subprocess.run(
        COMMAND, env=_env(migrated_db_url), capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.startswith("notify: 0 changes read, 0 deliveries queued")
