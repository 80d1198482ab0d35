"""Scheduling checks that need no scrapyd: job outcomes read from logs (scrapyd calls
every ended job "finished"), and secrets refused as job settings or arguments."""

from __future__ import annotations

import pytest

from ctforeclosure.jobs.scheduling import parse_log
from tests.webui.conftest import frozen_node, scrapyd_env  # noqa: F401 -- fixtures

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
        "outcome": None,  # a log from before crawl outcomes
        "incomplete_towns": [],
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

    from ctforeclosure.cli.app import main

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


# Each pair is what a probe passed to scrapyd before the refusal grew: the names and
# values are made up, and each value is unique so the tests can look for it.
SECRET_PAIRS = [
    ("--arg", "api_token", "tok-7f3a9c"),
    ("--set", "ALERT_WEBHOOK_URL", "https://hooks.example.org/T000/hook-7f3a9c"),
    ("--set", "BATCHDATA_API_KEY", "key-7f3a9c"),
    ("--arg", "client_secret", "sec-7f3a9c"),
    ("--set", "SMTP_PASSWORD", "pw-7f3a9c"),
    ("--set", "FEED_URI", "s3://user:pw-7f3a9c@bucket.example.org/items.jsonl"),
    ("--arg", "mirror", "https://tok-7f3a9c@mirror.example.org/cases"),
    ("--arg", "backup", "postgres:pw-7f3a9c@db.example.org:5432/ctf"),
]

# A node on the discard port, where nothing answers: nothing is ever posted.
SCHEDULE_HARTFORD = ["schedule", "--town", "Hartford", "--nodes", "http://127.0.0.1:9"]

ORDINARY = {
    "DOWNLOAD_DELAY": "2",
    "LOG_LEVEL": "INFO",
    "CLOSESPIDER_ITEMCOUNT": "50",
    "status": "all",
    "details": "changed",
    "contact": "ops@example.org",
    "page": "https://example.org/search?who=ops@example.org",
}


@pytest.mark.parametrize(("option", "name", "value"), SECRET_PAIRS)
def test_check_no_secrets_refuses_secret_names_and_credential_urls(option, name, value):
    from ctforeclosure.jobs.scheduling import SecretParameter, check_no_secrets

    kind = "setting" if option == "--set" else "spider argument"
    with pytest.raises(SecretParameter) as refused:
        check_no_secrets({"DOWNLOAD_DELAY": "2", name: value}, kind)
    message = str(refused.value)
    assert name in message and kind in message
    assert "give it to scrapyd's environment" in message
    assert value not in message and "pw-7f3a9c" not in message


def test_check_no_secrets_lets_ordinary_settings_and_arguments_pass():
    from ctforeclosure.jobs.scheduling import check_no_secrets

    check_no_secrets(ORDINARY, "setting")
    check_no_secrets(ORDINARY, "spider argument")


@pytest.mark.parametrize(("option", "name", "value"), SECRET_PAIRS)
def test_schedule_cli_refuses_secret_names_and_credential_urls(option, name, value):
    from click.testing import CliRunner

    from ctforeclosure.cli.app import main

    result = CliRunner().invoke(
        main,
        [*SCHEDULE_HARTFORD, option, f"{name}={value}"],
    )
    assert result.exit_code == 2, result.output
    assert name in result.output
    assert "give it to scrapyd's environment" in result.output
    assert "7f3a9c" not in result.output


def test_schedule_cli_passes_an_ordinary_setting_and_argument_on():
    """DOWNLOAD_DELAY=2 and status=all get past the check, to the (absent) node."""
    from click.testing import CliRunner

    from ctforeclosure.cli.app import main

    result = CliRunner().invoke(
        main,
        [*SCHEDULE_HARTFORD, "--set", "DOWNLOAD_DELAY=2", "--arg", "status=all"],
    )
    assert result.exit_code == 1, result.output
    assert "no scrapyd node answered" in result.output


def test_schedule_sales_all_posts_one_job_without_a_town(scrapyd_env):  # noqa: F811
    """Most towns have no sale: --spider sales --all is one job over the index."""
    from click.testing import CliRunner

    from ctforeclosure.cli.app import main

    before = scrapyd_env.get("listjobs.json", project="ctforeclosure")["pending"]
    result = CliRunner().invoke(main, ["schedule", "--spider", "sales", "--all"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith("\tall towns")
    pending = scrapyd_env.get("listjobs.json", project="ctforeclosure")["pending"]
    new = [job for job in pending if job not in before]
    assert [job["spider"] for job in new] == ["sales"]
    assert not {"town", "towns", "county"} & set(new[0].get("args") or {})


def test_schedule_sales_for_a_county_names_its_towns(scrapyd_env):  # noqa: F811
    from click.testing import CliRunner

    from ctforeclosure.cli.app import main

    result = CliRunner().invoke(
        main,
        ["schedule", "--spider", "sales", "--county", "Tolland", "--batch-size", "20"],
    )
    assert result.exit_code == 0, result.output
    (line,) = result.output.strip().splitlines()
    assert "Tolland" in line and "Vernon" in line
