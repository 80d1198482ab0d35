"""Scheduling checks that need no scrapyd: job outcomes read from logs (scrapyd calls
every ended job "finished"), and secrets refused as job settings or arguments."""

from __future__ import annotations

import pytest

from ctforeclosure.jobs.scheduling import parse_log

FINISHED = """\
2026-11-24 12:29:01 [scrapy.core.engine] INFO: Closing spider (finished)
2026-11-24 12:29:01 [scrapy.statscollectors] INFO: Dumping Scrapy stats:
{'ctf/crawl_id': 1,
 'downloader/request_count': 2,
 'finish_reason': 'finished',
 'finish_time': datetime.datetime(2026, 11, 24, 12, 29, 1, 157671),
 'item_scraped_count': 169,
 'log_count/INFO': 5,
 'start_time': datetime.datetime(2026, 11, 24, 12, 28, 58, 893456)}
2026-11-24 12:29:01 [scrapy.core.engine] INFO: Spider closed (finished)
"""

DATABASE_DOWN = (
    "2026-11-24 12:28:59 [ctforeclosure.pipelines.upsert] ERROR: Database "
    "postgresql+psycopg://postgres:***@127.0.0.1:1/nodb cannot be used\n"
    "2026-11-24 12:28:59 [scrapy.core.engine] INFO: Closing spider "
    "(database_unavailable)\n"
    "2026-11-24 12:28:59 [scrapy.statscollectors] INFO: Dumping Scrapy stats:\n"
    "{'elapsed_time_seconds': 0.004565682000247762,\n"
    " 'finish_reason': 'database_unavailable',\n"
    " 'log_count/INFO': 2}\n"
)

CRASHED = """\
2026-11-24 12:30:00 [scrapy.utils.log] INFO: Scrapy 2.19.0 started (bot: ctforeclosure)
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/scrapy/crawler.py", line 150, in crawl
    self.spider = self._create_spider(*args, **kwargs)
    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
ctforeclosure.towns.UnknownTown: 'Atlantis' is not a Connecticut town
"""


def test_parse_log_reads_a_finished_job():
    outcome = parse_log(FINISHED)
    assert outcome == {
        "finish_reason": "finished",
        "items_scraped": 169,
        "errors": 0,
        "failed": False,
        "reason": None,
    }


def test_parse_log_marks_another_finish_reason_failed_with_the_error():
    outcome = parse_log(DATABASE_DOWN)
    assert outcome["failed"]
    assert outcome["finish_reason"] == "database_unavailable"
    assert outcome["reason"].startswith("finish_reason database_unavailable (Database")


def test_parse_log_marks_a_crash_before_stats_failed_with_the_exception():
    outcome = parse_log(CRASHED)
    assert outcome["failed"]
    assert outcome["finish_reason"] is None
    assert outcome["reason"] == (
        "ctforeclosure.towns.UnknownTown: 'Atlantis' is not a Connecticut town"
    )


def test_parse_log_without_a_log_is_failed():
    assert parse_log(None)["failed"]


@pytest.mark.parametrize("option", ["--set", "--arg"])
def test_schedule_refuses_a_secret_as_setting_or_argument(option):
    from click.testing import CliRunner

    from ctforeclosure.cli import main

    result = CliRunner().invoke(
        main,
        [
            "schedule",
            "--town",
            "Hartford",
            "--nodes",
            "http://127.0.0.1:9",
            option,
            "DATABASE_URL=postgresql://u:pw@db/x",
        ],
    )
    assert result.exit_code == 2
    assert "secret" in result.output
    assert "pw@db" not in result.output
