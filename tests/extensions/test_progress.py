"""The crawl's progress line: drawn when stdout is a terminal (a pty here), absent
when stdout is a pipe, where the output stays what it was; and its estimate. The
backup and restore commands' steps, by the same rule."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time

from ctforeclosure import migrate
from ctforeclosure.extensions.progress import Counts, describe, politeness_bound
from tests.cli.test_scrapy_commands import FAST, PROJECT_ROOT, SCRAPY

LINE = "case pages"
CTFORECLOSURE = SCRAPY.with_name("ctforeclosure")


def _command() -> list[str]:
    command = [str(SCRAPY), "crawl", "cases", "-a", "towns=Middletown,Bethel"]
    for setting in FAST:
        command += ["-s", setting]
    return command


def _env(replica, database_url: str) -> dict:
    return {**os.environ, **replica.env, "DATABASE_URL": database_url}


def _run_in_a_terminal(command: list[str], env: dict) -> str:
    """Run ``command`` with stdout on a 120x40 pty; return what it showed there."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=slave,
        stderr=subprocess.DEVNULL,
    )
    os.close(slave)
    shown = bytearray()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        elif process.poll() is not None:
            break
    os.close(master)
    assert process.wait(timeout=30) == 0
    return shown.decode()


def test_progress_line_updates_in_a_terminal(replica_factory, sqlite_url):
    migrate.upgrade(sqlite_url)
    shown = _run_in_a_terminal(_command(), _env(replica_factory(cases=60), sqlite_url))
    updates = [part for part in shown.split("\r") if LINE in part]
    assert len(updates) >= 2, shown  # redrawn in place, not one line per update
    last = updates[-1]
    assert last.startswith("cases: towns 2/2 | case pages "), last
    read, expected = last.split("case pages ")[1].split(" ")[0].split("/")
    assert read == expected != "0"
    assert "stored " in last and "errors 0" in last and "ETA" in last
    assert shown.count("\n") <= 2, shown  # one line (and its end)


def test_no_progress_line_when_piped(replica_factory, sqlite_url):
    migrate.upgrade(sqlite_url)
    result = subprocess.run(
        _command(),
        cwd=PROJECT_ROOT,
        env=_env(replica_factory(cases=60), sqlite_url),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert LINE not in result.stdout + result.stderr
    assert "\r" not in result.stdout
    assert "'finish_reason': 'finished'" in result.stderr  # the logs as ever


def test_progress_estimate_is_the_slower_of_searches_and_case_pages():
    counts = Counts(towns=10, towns_searched=4, pages_expected=100, pages_read=40)
    counts.reads_case_pages = True
    # 6 towns at one postback per 12 s (5 a minute) against 60 pages at 1 s each
    assert politeness_bound(counts, town_seconds=12.0, page_seconds=1.0) == 72.0
    counts.pages_expected = 500
    assert politeness_bound(counts, town_seconds=12.0, page_seconds=1.0) == 460.0
    assert describe(counts, 460.0) == (
        "towns 4/10 | case pages 40/500 | stored 0 | errors 0 | ETA ≥ 7:40"
    )
    towns_list = Counts(stored=169)  # the towns spider: no towns, pages or bound
    assert describe(towns_list, 0.0) == "stored 169 | errors 0"


def test_backup_and_restore_show_their_steps_only_in_a_terminal(tmp_path):
    """The long CLI commands follow the same rule (ctforeclosure.cli.progress)."""
    database = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    migrate.upgrade(database)
    env = {**os.environ, "DATABASE_URL": database, "CTF_DATA_DIR": str(tmp_path)}
    env["CTF_BACKUP_DIR"] = str(tmp_path / "backups")
    shown = _run_in_a_terminal([str(CTFORECLOSURE), "backup"], env)
    assert "backup: copy" in shown and "backup: checksum" in shown, shown
    assert "written" in shown  # the command's own line, as before
    (made,) = (tmp_path / "backups").glob("*.sqlite3")
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    shown = _run_in_a_terminal([str(CTFORECLOSURE), "restore", str(made)], env)
    assert "restore: checksum" in shown and "restore: copy" in shown, shown
    piped = subprocess.run(
        [str(CTFORECLOSURE), "backup"],
        env={**env, "DATABASE_URL": database},
        capture_output=True,
        text=True,
        check=True,
    )
    assert piped.stdout.startswith("backup ") and "\r" not in piped.stdout
