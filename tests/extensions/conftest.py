"""Fixtures of the extensions' tests, and the BatchData stand-in of tests/skiptrace."""

import pytest

from ctforeclosure.db import make_engine
from tests.skiptrace.conftest import batchdata, batchdata_factory  # noqa: F401


@pytest.fixture
def crawl_runs_taken_away(sqlite_url):
    """A crawl step that renames ``crawl_runs`` (SQLite), so a run cannot complete."""

    def step(_crawler):
        engine = make_engine(sqlite_url)
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE crawl_runs RENAME TO crawl_runs_away")
        engine.dispose()

    return step
