"""Shared fixtures: an isolated environment, throw-away databases, saved pages.

Storage tests run on SQLite and on PostgreSQL (a database created for the test and
dropped after it). Locally a missing PostgreSQL skips them loudly; under CI (CI=true)
it is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

pytest_plugins = ["tests.replica.pytest_plugin"]

FIXTURES = Path(__file__).parent / "fixtures"
PG_ADMIN_URL = os.environ.get(
    "CTF_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


#: The property tests' profile (tests/parsers/test_hostile_pages.py and friends): the
#: same examples on every run, a fixed count, no example database, and a deadline per
#: example that turns a hang (or a quadratic blow-up) into a failure.
HOSTILE = settings(
    derandomize=True,
    database=None,
    max_examples=100,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _config_variables() -> tuple[str, ...]:
    """Return every variable config.py reads (it is the only reader), so that a new
    setting is kept out of the tests without anyone listing it here."""
    from ctforeclosure import config

    source = Path(config.__file__).read_text(encoding="utf-8")
    names = set(re.findall(r'_(?:env|flag|list|positive)\(\s*"([A-Z0-9_]+)"', source))
    names |= set(config.SKIPTRACE_LIMIT_VARS)
    # The data folder is set per test below (XDG_DATA_HOME only decides its
    # default); where Chromium lives is a fact of the machine, not a setting.
    return tuple(sorted(names - {"CTF_DATA_DIR", "XDG_DATA_HOME", "CHROMIUM_PATH"}))


#: The operator's settings, none of which a test may see.
ENV_VARS = _config_variables()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Give every test its own data folder and none of the operator's settings."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "ctf-data"
    monkeypatch.setenv("CTF_DATA_DIR", str(data_dir))
    return data_dir


def fixture_path(name: str) -> Path:
    """Return the path of a saved page under tests/fixtures."""
    return FIXTURES / name


def fixture_response(name: str, url: str = "http://127.0.0.1/fixture", **kwargs):
    """Return a Scrapy HtmlResponse holding a saved page."""
    from scrapy.http import HtmlResponse, Request

    body = fixture_path(name).read_bytes()
    return HtmlResponse(
        url=url, body=body, encoding="utf-8", request=Request(url, **kwargs)
    )


def _postgres_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure means "not reachable"
        return str(exc).splitlines()[0]
    return None


@pytest.fixture(scope="session")
def postgres_admin_url():
    """The admin URL of the shared PostgreSQL server (skip locally, fail in CI)."""
    problem = _postgres_reachable()
    if problem:
        message = f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the PostgreSQL tests)")
        pytest.skip("SKIPPING POSTGRESQL TESTS: " + message)
    return PG_ADMIN_URL


@contextlib.contextmanager
def throwaway_database(admin_url: str, prefix: str = "ctf_test", password=None):
    """Create a PostgreSQL database, yield its URL (with ``password`` in it, which
    trust auth ignores), and drop it afterwards, connections and all."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name)
    if password is not None:
        url = url.set(password=password)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_admin_url):
    """Create a throw-away PostgreSQL database for one test, drop it afterwards."""
    with throwaway_database(postgres_admin_url) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """An empty database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def migrated_db_url(db_url):
    """A database URL (SQLite, then PostgreSQL) migrated to the head revision."""
    from ctforeclosure import migrate

    migrate.upgrade(db_url)
    return db_url


@pytest.fixture
def migrated_engine(migrated_db_url):
    from ctforeclosure.db import make_engine

    engine = make_engine(migrated_db_url)
    yield engine
    engine.dispose()


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    """An alert webhook receiver on 127.0.0.1 that keeps what it is sent."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}/hook"
    yield server
    server.shutdown()
    server.server_close()
