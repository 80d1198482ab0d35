"""Lost crawls, found by ``ctforeclosure jobs --retry-failed`` against real scrapyd
nodes: a crawl whose heartbeat is stale and whose node is dead is recorded lost and
the towns it had not finished are posted on the node that answers (linked by
``retry_of``); a stale heartbeat whose node still has the job, and a fresh heartbeat,
are left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ctforeclosure import db
from ctforeclosure.cli.app import main
from ctforeclosure.jobs import scheduling
from ctforeclosure.jobs.scrapyd_api import ScrapydClient
from tests.scrapyd.cluster import PASSWORD, USERNAME

TOWNS = ["Bristol", "Hartford", "Avon"]


def _crawl(engine, job_id: str, node: str, *, quiet_for: timedelta, done=()):
    """Record a running crawl (its job and run) whose last heartbeat is that old."""
    beat = datetime.now(UTC) - quiet_for
    with engine.begin() as conn:
        conn.execute(
            db.crawl_jobs.insert().values(
                job_id=job_id,
                node=node,
                spider="cases",
                towns=TOWNS,
                args={},
                status="running",
                created_at=beat - timedelta(minutes=5),
            )
        )
        conn.execute(
            db.crawl_runs.insert().values(
                spider="cases",
                args={"towns": ",".join(TOWNS)},
                job_id=job_id,
                node="node-host",
                started_at=beat - timedelta(minutes=5),
                heartbeat_at=beat,
                completed_towns=list(done),
                status="running",
            )
        )


def _run(engine, job_id: str):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(db.crawl_runs).where(db.crawl_runs.c.job_id == job_id)
        ).one()


def _jobs(engine) -> dict[str, object]:
    with engine.connect() as conn:
        return {r.job_id: r for r in conn.execute(sa.select(db.crawl_jobs))}


def _routine(url: str):
    result = CliRunner().invoke(
        main, ["jobs", "--retry-failed"], env={"DATABASE_URL": url}
    )
    assert result.exit_code == 0, result.output
    return result.output


def _pending(node) -> dict[str, dict]:
    client = ScrapydClient(node.url, username=USERNAME, password=PASSWORD)
    return {j["id"]: j for j in client.list_jobs(scheduling.PROJECT)["pending"]}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_dead_nodes_crawl_is_lost_and_its_towns_left_run_on_the_other(
    migrated_engine, migrated_db_url, nodes_env, webhook, monkeypatch
):
    pending_node, dead_node = nodes_env
    monkeypatch.setenv("ALERT_WEBHOOK_URL", webhook.url)
    _crawl(
        migrated_engine,
        "cases-dead-1",
        dead_node.url,
        quiet_for=timedelta(minutes=11),
        done=["Bristol"],
    )
    output = _routine(migrated_db_url)
    assert "lost cases-dead-1 (crawl run #" in output
    assert "towns Hartford, Avon" in output
    run = _run(migrated_engine, "cases-dead-1")
    assert (run.status, run.outcome, run.incomplete_towns) == (
        "lost",
        "lost",
        ["Hartford", "Avon"],
    )
    jobs = _jobs(migrated_engine)
    lost = jobs["cases-dead-1"]
    assert (lost.status, lost.outcome, lost.incomplete_towns) == (
        "failed",
        "lost",
        ["Hartford", "Avon"],
    )
    (retry,) = [j for j in jobs.values() if j.retry_of == "cases-dead-1"]
    assert (retry.node, retry.towns, retry.attempt) == (
        pending_node.url,
        ["Hartford", "Avon"],
        2,
    )
    posted = _pending(pending_node)[retry.job_id]
    assert posted["args"]["towns"] == "Hartford,Avon"  # Bristol was done
    [alert] = webhook.received
    assert alert["kind"] == "crawl_failed" and "lost" in alert["text"]
    assert alert["details"]["towns"] == "Hartford, Avon"
    again = _routine(migrated_db_url)
    assert "lost" not in again and "retried" not in again  # once only
    assert len(webhook.received) == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_stale_heartbeat_whose_node_still_has_the_job_is_not_lost(
    migrated_engine, migrated_db_url, nodes_env
):
    pending_node, _ = nodes_env
    client = ScrapydClient(pending_node.url, username=USERNAME, password=PASSWORD)
    job_id = client.schedule(scheduling.PROJECT, "cases", args={"town": "Avon"})
    _crawl(migrated_engine, job_id, pending_node.url, quiet_for=timedelta(hours=1))
    output = _routine(migrated_db_url)
    assert "lost" not in output
    assert _run(migrated_engine, job_id).status == "running"
    assert [j for j in _jobs(migrated_engine).values() if j.retry_of == job_id] == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_fresh_heartbeat_is_not_lost_even_when_its_node_is_down(
    migrated_engine, migrated_db_url, nodes_env
):
    _, dead_node = nodes_env
    _crawl(migrated_engine, "cases-fresh-1", dead_node.url, quiet_for=timedelta(0))
    output = _routine(migrated_db_url)
    assert "lost" not in output
    run = _run(migrated_engine, "cases-fresh-1")
    assert (run.status, run.outcome) == ("running", None)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_stale_heartbeat_whose_node_answers_without_the_job_is_lost(
    migrated_engine, migrated_db_url, nodes_env, monkeypatch
):
    pending_node, _ = nodes_env
    monkeypatch.setenv("CTF_CRAWL_LOST_MINUTES", "0.5")  # fractions: tests shorten
    _crawl(
        migrated_engine,
        "cases-gone-1",
        pending_node.url,
        quiet_for=timedelta(seconds=40),
        done=TOWNS[:2],
    )
    output = _routine(migrated_db_url)
    assert "lost cases-gone-1" in output and "towns Avon" in output
    (retry,) = [
        j for j in _jobs(migrated_engine).values() if j.retry_of == "cases-gone-1"
    ]
    assert _pending(pending_node)[retry.job_id]["args"]["town"] == "Avon"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_job_the_cli_posts_is_recorded_with_its_node(
    migrated_engine, migrated_db_url, nodes_env
):
    pending_node, _ = nodes_env
    result = CliRunner().invoke(
        main,
        ["schedule", "--town", "Avon", "--nodes", pending_node.url],
        env={"DATABASE_URL": migrated_db_url},
    )
    assert result.exit_code == 0, result.output
    job_id = result.output.split("\t")[0]
    job = _jobs(migrated_engine)[job_id]
    assert (job.node, job.towns, job.status) == (pending_node.url, ["Avon"], "pending")
