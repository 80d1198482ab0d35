"""Schemathesis over ``/api/v1/openapi.json``: every operation, fuzzed from its
description with a fixed seed, answers without a server error and as described
(status code, content type, JSON Schema of the body).

One throw-away PostgreSQL database, migrated and seeded as the other web UI tests
seed it, shared by the module; an admin token (every power); BatchData is the
replica's stand-in (a confirmed lookup spends only there); crawls are scheduled on a
real scrapyd node with the project deployed, one that never starts its jobs (it polls
its queue once an hour), so nothing is crawled. Any server error fails the test.
"""

from __future__ import annotations

import threading

import hypothesis
import pytest
import schemathesis
from flask import Flask
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server

from ctforeclosure import db, migrate
from tests.conftest import throwaway_database
from tests.replica.batchdata import TEST_API_KEY, make_blueprint
from tests.webui.conftest import SECRET_KEY, _seed, api_token
from webui.openapi import OPERATIONS

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]
#: Seeded with explicit ids: their sequences move past them, so the API's own
#: inserts get new ones.
SERIAL_TABLES = ("crawl_runs", "parties", "skiptrace_ledger", "skiptrace_results")
#: Cases per operation: derandomized, so every run sends the same ones.
MAX_EXAMPLES = 40


@pytest.fixture(scope="module")
def fuzz_database(postgres_admin_url):
    """A migrated PostgreSQL database holding the web UI tests' seed data."""
    with throwaway_database(postgres_admin_url, "ctf_fuzz") as url:
        migrate.upgrade(url)
        engine = db.make_engine(url)
        with engine.begin() as conn:
            _seed(conn)
            for table in SERIAL_TABLES:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        engine.dispose()
        yield url


@pytest.fixture(scope="module")
def batchdata_url():
    """The replica's BatchData stand-in on 127.0.0.1, for the module."""
    stand_in = Flask("batchdata-fuzz")
    stand_in.register_blueprint(make_blueprint(), url_prefix="/batchdata")
    server = make_server("127.0.0.1", 0, stand_in, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/batchdata/api/v1"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def fuzz_app(fuzz_database):
    from webui import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": fuzz_database,
            "CTJUD_BASE_URL": "http://127.0.0.1:9/jud",
            # one token sends every generated case: its rate limit would answer
            # most of them 429 (described, so no check fails, but none fuzzed)
            "API_RATE_LIMIT": 1_000_000,
        }
    )
    app.config["FUZZ_TOKEN"] = api_token(app, "admin")
    yield app
    app.extensions["ctforeclosure_engine"].dispose()


@pytest.fixture
def api_schema(fuzz_app, batchdata_url, scrapyd_env, monkeypatch):
    """The API's own description, loaded from the app; BatchData is the stand-in."""
    monkeypatch.setenv("BATCHDATA_BASE_URL", batchdata_url)
    monkeypatch.setenv("BATCHDATA_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("SKIPTRACE_BACKOFF", "0.05")
    headers = {"Authorization": f"Bearer {fuzz_app.config['FUZZ_TOKEN']}"}
    spec = fuzz_app.test_client().get("/api/v1/openapi.json", headers=headers)
    schema = schemathesis.openapi.from_dict(spec.get_json())
    schema.app = fuzz_app  # calls go to the app in-process (WSGI)
    schema.base_url = "/api/v1"
    return schema


def _fuzz(operation, headers: dict) -> None:
    """Run one operation's generated cases through every check."""

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_openapi_fuzz_every_operation_answers_as_described(
    api_schema, fuzz_app, scrapyd_env
):
    headers = {"Authorization": f"Bearer {fuzz_app.config['FUZZ_TOKEN']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == len(OPERATIONS)  # every one, none left out
    for operation in operations:
        _fuzz(operation, headers)
    # the crawl operations reached the real node: their jobs wait in its queue
    pending = scrapyd_env.get("listjobs.json", project="ctforeclosure")["pending"]
    assert pending, "no crawl was scheduled on the scrapyd node"
