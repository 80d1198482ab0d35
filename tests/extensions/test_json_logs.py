"""``CTF_LOG_FORMAT=json``: a real crawl's log is one JSON object per line, from
Scrapy's first line on; those after the crawl run's start carry the crawl's id."""

from __future__ import annotations

import json

import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.cli.test_scrapy_commands import _crawl


def test_json_log_lines_carry_the_crawl_id(replica_factory, sqlite_url):
    migrate.upgrade(sqlite_url)
    result = _crawl(replica_factory(cases=10), sqlite_url, CTF_LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    engine = db.make_engine(sqlite_url)
    with engine.connect() as conn:
        crawl_id = conn.execute(sa.select(db.crawl_runs.c.id)).scalar_one()
    engine.dispose()
    assert len(lines) > 10
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    tagged = [line for line in lines if line.get("crawl_id") == crawl_id]
    assert any("Spider closed" in line["message"] for line in tagged)
    assert "started" in lines[0]["message"] and "Versions" in lines[1]["message"]
