"""Crawls on real scrapyd nodes: deploy, schedule over nodes, job states, secrets.

Everything runs on 127.0.0.1: five scrapyd processes (their own config folders, basic
auth), the offline replica, and a throw-away PostgreSQL database given to the jobs
through scrapyd's environment.
"""

from __future__ import annotations

import time

import pytest
import requests
import sqlalchemy as sa
from click.testing import CliRunner

from ctforeclosure.cli.app import main
from ctforeclosure.db import cases, crawl_runs
from ctforeclosure.jobs import scheduling
from ctforeclosure.jobs.scrapyd_api import ScrapydClient

from .cluster import PASSWORD, USERNAME
from .conftest import FOUR_TOWNS, PG_PASSWORD

pytestmark = pytest.mark.postgres

#: Fast crawls of the local replica; never secrets (scrapyd echoes these).
FAST = ("DOWNLOAD_DELAY=0", "AUTOTHROTTLE_ENABLED=False", "SITE_BUDGET_INTERVAL=0.02")


@pytest.fixture
def operator_env(monkeypatch):
    """The scheduling machine's credentials for the scrapyd nodes."""
    monkeypatch.setenv("SCRAPYD_USERNAME", USERNAME)
    monkeypatch.setenv("SCRAPYD_PASSWORD", PASSWORD)


def _cli(*args):
    return CliRunner().invoke(main, list(args))


def _job_ids(output: str) -> list[str]:
    return [line.split("\t")[0] for line in output.splitlines() if line.strip()]


def _wait_for(nodes, job_ids, timeout=300):
    """Wait until every job id is finished on one of the nodes."""
    deadline = time.monotonic() + timeout
    while True:
        finished = {
            job["id"]
            for node in nodes
            for job in node.get("listjobs.json", project="ctforeclosure")["finished"]
        }
        if set(job_ids) <= finished:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"jobs not finished: {set(job_ids) - finished}")
        time.sleep(0.5)


@pytest.mark.parametrize(
    "endpoint", ["daemonstatus.json", "listjobs.json", "listprojects.json", "jobs", ""]
)
def test_scrapyd_refuses_unauthenticated_requests(cluster, endpoint):
    url = f"{cluster['a'].url}/{endpoint}"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, auth=(USERNAME, "wrong"), timeout=10).status_code == 401
    assert requests.get(url, auth=(USERNAME, PASSWORD), timeout=10).status_code == 200


def test_scrapyd_refuses_an_unauthenticated_schedule(cluster):
    response = requests.post(
        f"{cluster['a'].url}/schedule.json",
        data={"project": "ctforeclosure", "spider": "cases", "town": "Hartford"},
        timeout=10,
    )
    assert response.status_code == 401
    assert cluster["a"].get("daemonstatus.json")["pending"] == 0


def test_deploy_puts_the_spiders_on_every_node(cluster):
    for node in cluster.values():
        spiders = node.get("listspiders.json", project="ctforeclosure")["spiders"]
        assert {"cases", "towns"} <= set(spiders)


def test_schedule_four_towns_over_two_nodes_stores_every_case(
    cluster, operator_env, cluster_database, cluster_replica
):
    a, b = cluster["a"], cluster["b"]
    args = ["schedule", "--nodes", f"{a.url},{b.url}"]
    for town in FOUR_TOWNS:
        args += ["--town", town]
    for setting in FAST:
        args += ["--set", setting]
    args += ["--arg", "status=all", "--arg", "property=all"]  # as the truth has them
    result = _cli(*args)
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.output.splitlines()]
    assert [line[2] for line in lines] == list(FOUR_TOWNS)
    assert {line[1] for line in lines} == {a.url, b.url}  # spread over both nodes
    job_ids = [line[0] for line in lines]
    _wait_for([a, b], job_ids)

    listing = _cli("jobs", "--nodes", f"{a.url},{b.url}")
    assert listing.exit_code == 0, listing.output
    rows = [line.split("\t") for line in listing.output.splitlines()[1:]]
    ours = [row for row in rows if row[1] in job_ids]
    assert len(ours) == 4
    assert {row[0] for row in ours} == {"finished"}, [row[8] for row in ours]
    assert {row[2] for row in ours} == {a.url, b.url}
    assert all(row[5] == "finished" and int(row[6]) > 0 for row in ours)

    engine = sa.create_engine(cluster_database)
    try:
        with engine.connect() as conn:
            for town in FOUR_TOWNS:
                expected = {c["docket_no"] for c in cluster_replica.truth(town=town)}
                stored = set(
                    conn.execute(
                        sa.select(cases.c.docket_no).where(cases.c.search_town == town)
                    ).scalars()
                )
                assert expected and stored == expected, town
            runs = conn.execute(
                sa.select(crawl_runs.c.job_id, crawl_runs.c.status).where(
                    crawl_runs.c.job_id.in_(job_ids)
                )
            ).all()
    finally:
        engine.dispose()
    assert sorted(runs) == sorted((job_id, "finished") for job_id in job_ids)


def test_schedule_refuses_an_unknown_town_before_posting(cluster, operator_env):
    result = _cli("schedule", "--town", "Atlantis", "--nodes", cluster["a"].url)
    assert result.exit_code == 2
    assert "Atlantis" in result.output


def test_jobs_reports_a_bad_town_argument_as_failed(cluster, operator_env):
    node = cluster["a"]
    client = ScrapydClient(node.url, username=USERNAME, password=PASSWORD)
    job_id = client.schedule("ctforeclosure", "cases", args={"town": "Atlantis"})
    _wait_for([node], [job_id])
    [job] = [j for j in scheduling.list_jobs([node.url]) if j.job_id == job_id]
    assert job.state == "failed"
    assert "Atlantis" in job.reason


def test_jobs_alert_crashed_alerts_once_per_crashed_job(
    cluster, operator_env, monkeypatch, webhook
):
    node = cluster["a"]
    client = ScrapydClient(node.url, username=USERNAME, password=PASSWORD)
    job_id = client.schedule("ctforeclosure", "cases", args={"county": "Atlantis"})
    _wait_for([node], [job_id])
    monkeypatch.setenv("ALERT_WEBHOOK_URL", webhook.url)
    first = _cli("jobs", "--nodes", node.url, "--alert-crashed")
    assert first.exit_code == 0, first.output
    again = _cli("jobs", "--nodes", node.url, "--alert-crashed")
    assert again.exit_code == 0, again.output
    receiver = webhook
    ours = [p for p in receiver.received if p["details"].get("job") == job_id]
    assert len(ours) == 1
    assert ours[0]["kind"] == "crawl_failed"
    assert "Atlantis" in ours[0]["text"]


def test_jobs_reports_an_unreachable_database_as_failed(cluster, operator_env):
    node = cluster["down"]
    result = _cli("schedule", "--town", "Bristol", "--nodes", node.url)
    assert result.exit_code == 0, result.output
    [job_id] = _job_ids(result.output)
    _wait_for([node], [job_id])
    listing = _cli("jobs", "--nodes", node.url)
    [row] = [line.split("\t") for line in listing.output.splitlines() if job_id in line]
    assert row[0] == "failed"
    assert "database_unavailable" in row[8]


def test_schedule_spreads_by_pending_and_running_load_and_cancel(
    cluster, operator_env, monkeypatch
):
    f1, f2 = cluster["frozen1"], cluster["frozen2"]
    first = _cli("schedule", "--town", "Hartford", "--nodes", f1.url)
    assert first.exit_code == 0, first.output
    started = time.monotonic()
    spread = _cli(
        "schedule",
        "--county",
        "Tolland",
        "--batch-size",
        "4",
        "--stagger",
        "0.3",
        "--nodes",
        f"{f1.url},{f2.url}",
    )
    elapsed = time.monotonic() - started
    assert spread.exit_code == 0, spread.output
    nodes = [line.split("\t")[1] for line in spread.output.splitlines()]
    # Tolland County has 13 towns: 4 jobs of up to 4 towns. f1 starts with one
    # pending job, so f2 gets the first; then they alternate by load.
    assert nodes == [f2.url, f1.url, f2.url, f1.url]
    assert elapsed >= 0.9  # three staggers between four posts
    pending = f2.get("listjobs.json", project="ctforeclosure")["pending"]
    assert len(pending) == 2
    assert len(pending[0]["args"]["towns"].split(",")) == 4

    job_id = _job_ids(spread.output)[0]
    monkeypatch.setenv("SCRAPYD_NODES", f"{f1.url},{f2.url}")  # cancel finds the node
    cancelled = _cli("cancel", job_id)
    assert cancelled.exit_code == 0, cancelled.output
    assert f"cancelled {job_id} on {f2.url} (was pending)" in cancelled.output
    pending = f2.get("listjobs.json", project="ctforeclosure")["pending"]
    assert [job["id"] for job in pending] == [_job_ids(spread.output)[2]]
    assert _cli("cancel", job_id).exit_code == 1  # nothing left to cancel


def test_no_secret_in_listjobs_or_job_logs(cluster, cluster_replica):
    secrets = {PG_PASSWORD, PASSWORD, cluster_replica.env["BATCHDATA_API_KEY"]}
    seen = 0
    for node in cluster.values():
        listing = requests.get(
            f"{node.url}/listjobs.json", auth=(USERNAME, PASSWORD), timeout=10
        )
        texts = [listing.text]
        for job in listing.json()["finished"]:
            log = requests.get(
                node.url + job["log_url"], auth=(USERNAME, PASSWORD), timeout=10
            )
            texts.append(log.text)
            seen += 1
        for text in texts:
            for secret in secrets:
                assert secret not in text
    assert seen >= 6  # the four towns, the bad town, the database that was down
