"""The automatic retry's split: crawls that really fail against the replica (a 403
from the court, the site unreachable, the database down) are classified permanent
or transient from what they recorded, and the retry schedule (5, 25, 125 minutes;
3 retries at most; none while paused) is kept."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from ctforeclosure import db, migrate
from ctforeclosure.db import aware
from ctforeclosure.jobs import auto_retry, crawl_jobs, scheduling
from ctforeclosure.jobs.scrapyd_api import ScrapydClient
from tests.scrapyd.cluster import PASSWORD, USERNAME, free_port
from tests.spiders.test_cases import FAST, PROJECT_ROOT, SCRAPY

#: The crawl records its run: the pipelines and the database stay on.
SETTINGS = [s for s in FAST if not s.startswith("ITEM_PIPELINES")] + [
    "RETRY_TIMES=1",
    "SITE_BUDGET_INTERVAL=0.02",
]
FAILED_AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def run_crawl(
    env: dict[str, str], database_url: str, arg: str, *settings: str, more=()
):
    """Run `scrapy crawl cases -a ARG` (and ``-a`` each of ``more``) with its
    record kept; return (status, log)."""
    command = [str(SCRAPY), "crawl", "cases"]
    for spider_arg in (arg, *more):
        command += ["-a", spider_arg]
    for setting in [*SETTINGS, *settings]:
        command += ["-s", setting]
    result = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, **env, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.returncode, result.stdout + result.stderr


def _crawl(env: dict[str, str], database_url: str, tmp_path: Path):
    """Run one cases crawl of Hartford; return what the job's record would say."""
    _, log = run_crawl(env, database_url, "town=Hartford")
    outcome = scheduling.parse_log(log)
    state = "failed" if outcome["failed"] else "finished"
    job = scheduling.Job("node", "job-1", "cases", state, reason=outcome["reason"])
    run = None
    if database_url.startswith("sqlite"):
        engine = db.make_engine(database_url)
        with engine.connect() as conn:
            run = conn.execute(sa.select(db.crawl_runs)).first()
        engine.dispose()
    reason = crawl_jobs.failure_of(job, run)
    assert reason, log[-3000:]  # the crawl did fail
    return auto_retry.classify(run, reason), log


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'crawl.sqlite3'}"
    migrate.upgrade(url)
    return url


def test_a_403_from_the_court_is_permanent(replica_factory, database, tmp_path):
    replica = replica_factory(cases=24, fast=True, faults=["http-403"])
    failure, log = _crawl(replica.env, database, tmp_path)
    assert (failure.kind, failure.why) == (
        "permanent",
        "the court answered 403: not retried",
    ), log[-3000:]


def test_an_unreachable_site_is_transient(replica_factory, database, tmp_path):
    replica = replica_factory(cases=24, fast=True)
    env = {
        k: v.replace(replica.root, f"http://127.0.0.1:{free_port()}")
        for k, v in replica.env.items()
    }
    failure, log = _crawl(env, database, tmp_path)
    assert failure.kind == "transient", (failure, log[-3000:])
    assert "network" in failure.why or "unavailable" in failure.why


def test_a_database_down_is_transient(replica_factory, tmp_path):
    replica = replica_factory(cases=24, fast=True)
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone"
    failure, log = _crawl(replica.env, down, tmp_path)
    assert failure == auto_retry.Failure(
        "transient", "the database or the site was unavailable"
    ), log[-3000:]


def _failed(attempt=1, kind="transient", ended=FAILED_AT):
    return SimpleNamespace(
        attempt=attempt,
        failure_class=kind,
        failure_reason="the court answered 403: not retried",
        ended_at=ended,
        created_at=ended,
        outcome="failed",
    )


@pytest.mark.parametrize("attempt,minutes", [(1, 5), (2, 25), (3, 125)])
def test_retries_wait_5_25_then_125_minutes(attempt, minutes):
    due = FAILED_AT + timedelta(minutes=minutes)
    early = auto_retry.decide(_failed(attempt), paused=False, now=due - timedelta(1e-3))
    assert not early.retry and early.due_at == due
    assert auto_retry.decide(_failed(attempt), paused=False, now=due).retry


def test_no_retry_after_three_or_while_paused_or_when_permanent():
    late = FAILED_AT + timedelta(days=1)
    fourth = auto_retry.decide(_failed(4), paused=False, now=late)
    assert not fourth.retry and "no more automatic retries" in fourth.why
    paused = auto_retry.decide(_failed(1), paused=True, now=late)
    assert not paused.retry and paused.why == "the kill switch is on"
    permanent = auto_retry.decide(_failed(1, "permanent"), paused=False, now=late)
    assert (permanent.retry, permanent.why) == (
        False,
        "the court answered 403: not retried",
    )


def _partial_run(errors: dict) -> SimpleNamespace:
    return SimpleNamespace(
        stats={},
        finish_reason="finished",
        outcome="partial",
        incomplete_towns=["Meriden", "Avon"],
        errors=errors,
    )


def test_a_partial_crawl_is_retried_unless_its_pages_did_not_parse():
    """A layout change also leaves towns incomplete: retrying it would only ask the
    court for the same unreadable pages again."""
    partial = auto_retry.classify(_partial_run({}), None)
    assert (partial.kind, partial.why) == (
        "transient",
        "2 town(s) not complete: those run again",
    )
    layout = auto_retry.classify(_partial_run({"parsing": 3}), None)
    assert layout.kind == "permanent" and "did not parse" in layout.why


DEPLOY = PROJECT_ROOT / "deploy"
COMMAND = "/opt/ctforeclosure/venv/bin/ctforeclosure jobs --retry-failed"


def test_deploy_runs_the_retry_every_five_minutes(database, monkeypatch):
    from click.testing import CliRunner

    from ctforeclosure.cli.app import main

    timer = (DEPLOY / "systemd" / "ctforeclosure-retry.timer").read_text()
    service = (DEPLOY / "systemd" / "ctforeclosure-retry.service").read_text()
    cron = (DEPLOY / "cron" / "ctforeclosure").read_text()
    assert "OnCalendar=*:0/5" in timer and "Unit=ctforeclosure-retry.service" in timer
    assert f"ExecStart={COMMAND}\n" in service
    (line,) = [x for x in cron.splitlines() if COMMAND in x]
    assert line.startswith("*/5 * * * * ctforeclosure ")
    calendar = subprocess.run(
        ["systemd-analyze", "calendar", "--iterations=2", "*:0/5"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Normalized form: *-*-* *:00/5:00" in calendar
    # The command itself: a node that does not answer is skipped, nothing is due.
    monkeypatch.setenv("SCRAPYD_NODES", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("DATABASE_URL", database)
    result = CliRunner().invoke(main, COMMAND.split()[1:])
    assert (result.exit_code, result.output) == (0, ""), result.output


def test_sync_records_a_found_job_once_when_another_sync_wins(
    postgres_url, monkeypatch
):
    """The crawls page and the retry timer both sync: the second insert is skipped."""
    migrate.upgrade(postgres_url)
    engine = db.make_engine(postgres_url)
    found = crawl_jobs._found

    def other_sync_first(job):
        with engine.begin() as other:
            other.execute(db.crawl_jobs.insert().values(**found(job), status="pending"))
        return found(job)

    monkeypatch.setattr(crawl_jobs, "_found", other_sync_first)
    job = scheduling.Job(
        "http://n", "cases-x", "cases", "pending", args={"town": "Bristol"}
    )
    try:
        with engine.begin() as conn:
            assert crawl_jobs.sync(conn, [job]) == 0
        with engine.connect() as conn:
            rows = conn.execute(sa.select(db.crawl_jobs.c.towns)).scalars().all()
        assert rows == [["Bristol"]]
    finally:
        engine.dispose()


def test_a_town_search_given_up_is_partial_and_retried_for_that_town_only(
    replica_factory, database, tmp_path, nodes_env
):
    pending_node, _ = nodes_env
    replica = replica_factory(
        cases=40, fast=True, faults=["nobot-reject-town"], towns=("Meriden", "Avon")
    )
    env = {**replica.env, "SCRAPY_JOB": "cases-partial-1"}
    status, log = run_crawl(
        env, database, "towns=Avon,Meriden", "SEARCH_MAX_ATTEMPTS=2"
    )
    assert status == 3, log[-3000:]  # partial: not 0, not failed's 1
    assert log.splitlines()[-1] == ("crawl cases partial: towns not complete: Meriden")
    # what `ctforeclosure jobs` reads from the job's log on its node
    read = scheduling.parse_log(log)
    assert (read["outcome"], read["incomplete_towns"]) == ("partial", ["Meriden"])
    engine = db.make_engine(database)
    with engine.begin() as conn:
        run = conn.execute(sa.select(db.crawl_runs)).one()
        assert (run.status, run.outcome, run.incomplete_towns) == (
            "finished",
            "partial",
            ["Meriden"],
        )
        assert run.completed_towns == ["Avon"]
        job = scheduling.Job(pending_node.url, "cases-partial-1", "cases", "finished")
        crawl_jobs.sync(conn, [job])
        row = crawl_jobs.get(conn, "cases-partial-1")
        assert (row.status, row.outcome, row.failure_class) == (
            "failed",
            "partial",
            "transient",
        )
        assert row.failure_reason == "partial: towns not complete: Meriden"
    later = aware(row.ended_at or row.created_at) + timedelta(minutes=5)
    (retried,) = auto_retry.retry_due(engine, paused=False, now=later)
    engine.dispose()
    (new_id,) = retried[2]
    posted = {
        j["id"]: j
        for j in ScrapydClient(
            pending_node.url, username=USERNAME, password=PASSWORD
        ).list_jobs(scheduling.PROJECT)["pending"]
    }[new_id]
    assert posted["args"]["town"] == "Meriden"  # not Avon: it was complete
