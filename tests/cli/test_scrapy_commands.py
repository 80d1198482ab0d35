"""``scrapy crawl`` exits 1 when the crawl failed, 0 when it did its job.

End to end: the venv's ``scrapy crawl cases`` in a subprocess against the offline
replica, once with the database down (a PostgreSQL URL with a password on a port
nobody listens on) and once with a migrated SQLite database. The reasons in between
are read from a crawler's stats as the command reads them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from ctforeclosure import migrate
from ctforeclosure.cli.scrapy_commands.crawl import failure
from ctforeclosure.spiders.cases import CasesSpider

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRAPY = Path(sys.executable).with_name("scrapy")
PASSWORD = "exit-code-not-a-real-pw-9e2"
FAST = [
    "NOBOT_MIN_DELAY=0",
    "NOBOT_MAX_POSTBACKS=0",
    "DOWNLOAD_DELAY=0",
    "AUTOTHROTTLE_ENABLED=False",
    "RETRY_BACKOFF_BASE=0",
    "REMOTE_CONTROL_ENABLED=False",
    "TELNETCONSOLE_ENABLED=False",
    "JUDICIARY_SEARCH_MODE=http",
]


def _crawl(replica, database_url: str, **more_env) -> subprocess.CompletedProcess:
    command = [str(SCRAPY), "crawl", "cases", "-a", "town=Middletown"]
    for setting in FAST:
        command += ["-s", setting]
    env = {**os.environ, **replica.env, "DATABASE_URL": database_url, **more_env}
    return subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _down_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql+psycopg://ctf:{PASSWORD}@127.0.0.1:{port}/nope"


def test_crawl_with_the_database_down_exits_1_saying_why(replica_factory):
    result = _crawl(replica_factory(cases=30), _down_url())
    assert result.returncode == 1, result.stderr[-3000:]
    last = result.stderr.splitlines()[-1]
    assert last.startswith("crawl cases failed: database_unavailable ("), last
    assert "postgresql+psycopg://ctf:***@127.0.0.1:" in last
    assert "Connection refused" in last or "connection failed" in last
    assert PASSWORD not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_crawl_that_finishes_exits_0(replica_factory, sqlite_url):
    migrate.upgrade(sqlite_url)
    result = _crawl(replica_factory(cases=30), sqlite_url)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "'finish_reason': 'finished'" in result.stderr
    assert "crawl cases failed" not in result.stderr


@pytest.mark.parametrize(
    ("reason", "line"),
    [
        ("finished", None),
        ("shutdown", None),  # Ctrl-C, a scrapyd cancel: resumable, not a failure
        ("closespider_itemcount", None),
        ("closespider_timeout", None),
        ("expected_by_the_operator", None),  # in CTF_EXPECTED_FINISH_REASONS
        ("site_budget_unavailable", "site_budget_unavailable (the shared court-site"),
        ("robots_forbidden", "robots_forbidden (robots.txt forbids the court site)"),
        ("closespider_errorcount", "closespider_errorcount (more errors than"),
        ("layout_changed", "layout_changed (not a reason a good crawl closes with)"),
    ],
)
def test_failure_names_every_reason_but_a_normal_end(reason, line):
    crawler = get_crawler(
        CasesSpider, {"CTF_EXPECTED_FINISH_REASONS": ["expected_by_the_operator"]}
    )
    crawler.stats.set_value("finish_reason", reason)
    said = failure(crawler)
    if line is None:
        assert said is None
    else:
        assert said.startswith(f"crawl cases failed: {line}"), said
