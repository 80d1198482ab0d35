"""The court-site budget with real crawl processes, a real HTTP server and databases.

Each test starts ``scrapy runspider`` processes (the project's settings, so the
middleware is the one registered in settings.py) against a recording HTTP server on
127.0.0.1 that stands in for the judiciary host, all sharing one migrated database.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ctforeclosure.middlewares.site_budget import parse_window, seconds_until_window
from ctforeclosure.store import site_budget

SCRAPY = str(Path(sys.executable).with_name("scrapy"))

PROBE_SPIDER = textwrap.dedent(
    '''
    import scrapy

    class BudgetProbe(scrapy.Spider):
        """Fetch LABEL/0..PAGES-1 one after another; with SESSION, as SESSIONS search
        sessions LABEL1, LABEL2... in turn, the last page marked as the end if END."""

        name = "budget_probe"

        def __init__(self, base, label, pages="5", session="", parallel="",
                     sessions="1", end="1", **kw):
            super().__init__(**kw)
            self.base, self.label, self.pages = base, label, int(pages)
            self.session, self.parallel = session, parallel
            self.sessions, self.end = int(sessions), end

        def _request(self, i, n=1):
            meta = {}
            name = f"{self.label}{n}" if self.session else self.label
            if self.session:
                last = i == self.pages - 1 and bool(self.end)
                meta = {"site_session": name, "site_session_end": last}
            return scrapy.Request(
                f"{self.base}/{name}/{i}", meta=meta, cb_kwargs={"i": i, "n": n}
            )

        async def start(self):
            if self.parallel:
                for i in range(self.pages):
                    yield self._request(i)
            else:
                yield self._request(0)

        def parse(self, response, i, n):
            if self.parallel:
                return
            if i + 1 < self.pages:
                yield self._request(i + 1, n)
            elif n < self.sessions:
                yield self._request(0, n + 1)
    '''
)


class _Recorder(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append((time.monotonic(), self.path))
        time.sleep(self.server.delay)  # a slow page keeps a session open longer
        body = b"<html><body>ok</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def court():
    """A recording HTTP server on 127.0.0.1 posing as the judiciary host."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.hits = []
    server.delay = 0.0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _crawl(tmp_path, db_url, court, label, *, interval, extra=(), **args):
    """Start one crawl process; return the Popen."""
    spider = tmp_path / "probe.py"
    spider.write_text(PROBE_SPIDER)
    base = f"http://127.0.0.1:{court.server_port}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        CTJUD_BASE_URL=base,
        CTJUD_SALES_BASE_URL=base,
        SCRAPY_SETTINGS_MODULE="ctforeclosure.settings",
    )
    cmd = [
        SCRAPY,
        "runspider",
        str(spider),
        "-a",
        f"base={base}",
        "-a",
        f"label={label}",
    ]
    for key, value in args.items():
        cmd += ["-a", f"{key}={value}"]
    settings = {
        "ROBOTSTXT_OBEY": "False",
        "DOWNLOAD_DELAY": "0",
        "AUTOTHROTTLE_ENABLED": "False",
        "SITE_BUDGET_INTERVAL": str(interval),
        "SITE_BUDGET_POLL_SECONDS": "0.3",
        "LOG_FILE": str(tmp_path / f"{label}.log"),
        **dict(extra),
    }
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    return subprocess.Popen(cmd, env=env, cwd=tmp_path)


def _wait(proc, timeout=60):
    assert proc.wait(timeout=timeout) == 0


def test_site_budget_spaces_requests_across_processes(tmp_path, migrated_db_url, court):
    interval = 0.4
    procs = [
        _crawl(
            tmp_path,
            migrated_db_url,
            court,
            label,
            interval=interval,
            pages=6,
            parallel="1",
        )
        for label in ("a", "b")
    ]
    for proc in procs:
        _wait(proc)
    times = sorted(t for t, _ in court.hits)
    assert len(times) == 12
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # Two processes that each fire six requests at once would arrive within
    # milliseconds; sharing the budget they arrive one interval apart. Slots are
    # exact; a busy machine may send one up to a few tenths of a second late.
    assert min(gaps) >= interval / 2, gaps
    assert times[-1] - times[0] >= 11 * interval - 0.2
    log = (tmp_path / "a.log").read_text()
    assert "'site_budget/requests': 6" in log


def test_site_budget_one_search_session_at_a_time(tmp_path, postgres_url, court):
    from ctforeclosure import migrate

    migrate.upgrade(postgres_url)
    court.delay = 0.25
    procs = [
        _crawl(
            tmp_path, postgres_url, court, label, interval=0.05, pages=8, session="1"
        )
        for label in ("a", "b")
    ]
    for proc in procs:
        _wait(proc)
    labels = "".join(path.split("/")[1][0] for _, path in court.hits)
    # Two slow sequential chains interleave without the lease ("aabab...").
    assert labels in {"a" * 8 + "b" * 8, "b" * 8 + "a" * 8}, labels


def test_site_budget_idle_sessions_end_without_an_end_marker(
    tmp_path, postgres_url, court
):
    from ctforeclosure import migrate

    migrate.upgrade(postgres_url)
    court.delay = 0.1
    grace = {"SITE_BUDGET_SESSION_GRACE": "0.5"}  # the lease TTL stays 120 s
    started = time.monotonic()
    procs = [
        _crawl(
            tmp_path,
            postgres_url,
            court,
            label,
            interval=0.02,
            pages=3,
            session="1",
            sessions="2",
            end="",
            extra=grace,
        )
        for label in ("a", "b")
    ]
    for proc in procs:
        _wait(proc)
    elapsed = time.monotonic() - started
    sessions = [path.split("/")[1] for _, path in court.hits]
    assert len(sessions) == 12
    # Each session's three pages are contiguous: one session at a time.
    runs = [sessions[i : i + 3] for i in range(0, 12, 3)]
    assert all(len(set(run)) == 1 for run in runs), sessions
    # A process's second session waited for the first to go idle, not for its TTL.
    assert elapsed < 60


def test_site_budget_pause_holds_a_running_crawl_and_resume_continues(
    tmp_path, postgres_url, court
):
    from ctforeclosure import migrate

    migrate.upgrade(postgres_url)
    proc = _crawl(
        tmp_path, postgres_url, court, "p", interval=0.1, pages=40, parallel="1"
    )
    try:
        deadline = time.monotonic() + 30
        while len(court.hits) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        site_budget.pause(by="test", reason="maintenance", database_url=postgres_url)
        time.sleep(1.5)  # slots reserved before the pause, then the poll interval
        held = len(court.hits)
        time.sleep(2.0)
        assert len(court.hits) == held < 40
        assert proc.poll() is None  # held, not stopped
        site_budget.resume(database_url=postgres_url)
        _wait(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(court.hits) == 40
    assert "paused by the kill switch" in (tmp_path / "p.log").read_text()


def test_site_budget_other_hosts_are_not_budgeted(tmp_path, postgres_url, court):
    from ctforeclosure import migrate

    migrate.upgrade(postgres_url)
    site_budget.pause(by="test", database_url=postgres_url)
    proc = _crawl(
        tmp_path,
        postgres_url,
        court,
        "x",
        interval=0.1,
        pages=3,
        parallel="1",
        extra={"CTJUD_BASE_URL": "http://127.0.0.2:9", "CTJUD_SALES_BASE_URL": ""},
    )
    _wait(proc)
    assert len(court.hits) == 3  # the kill switch is for the court only


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        ("23:30", 0.0),
        ("05:59", 0.0),
        ("06:00", 16 * 3600.0),
        ("12:00", 10 * 3600.0),
    ],
)
def test_seconds_until_window_night_window(clock, expected):
    now = datetime.fromisoformat(f"2026-11-24T{clock}").replace(
        tzinfo=ZoneInfo("America/New_York")
    )
    assert seconds_until_window(parse_window("22:00-06:00"), now) == expected


def test_parse_window_refuses_nonsense():
    assert parse_window("") is None
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        parse_window("nights")
