"""Crawl jobs under staff control, through the API and the crawls page: the jobs
history and its filters, a pending job's status, retry and cancel on a real scrapyd
node (one that never runs its jobs, so they stay pending), the kill switch with its
banner, the CSV export, and a crawl's report. Viewers are refused every action."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.jobs import scheduling
from ctforeclosure.jobs.scrapyd_api import ScrapydClient
from tests.scrapyd.cluster import PASSWORD, USERNAME
from tests.webui.conftest import EMAILS, api_token, csrf_token

NOW = datetime.now(UTC)
#: Production's database only, where SQLite adds nothing (the filters and the
#: export run on both): the app's seeded database is most of each test's time.
PG_ONLY = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _engine(app):
    return app.extensions["ctforeclosure_engine"]


def record_job(app, job_id, status, towns, *, by="manager", created=NOW, **values):
    """Record a crawl job as the web UI would have (started by ``by``'s user)."""
    with _engine(app).begin() as conn:
        user = conn.execute(
            sa.select(db.users.c.id).where(db.users.c.email == EMAILS.get(by, ""))
        ).scalar()
        conn.execute(
            db.crawl_jobs.insert().values(
                job_id=job_id,
                node=values.pop("node", None),
                spider=values.pop("spider", "cases"),
                towns=towns,
                args=values.pop("args", {}),
                started_by=user,
                status=status,
                created_at=created,
                **values,
            )
        )


def _audit(app, action: str) -> list:
    with _engine(app).connect() as conn:
        return conn.execute(
            sa.select(db.audit_log).where(db.audit_log.c.action == action)
        ).all()


def _client(app, role: str):
    headers = {"Authorization": f"Bearer {api_token(app, role)}"}
    client = app.test_client()
    return lambda method, path, **kw: client.open(
        "/api/v1" + path, method=method, headers=headers, **kw
    )


def _pending(node) -> dict[str, dict]:
    listing = node.get("listjobs.json", project=scheduling.PROJECT)
    return {j["id"]: j for j in listing["pending"]}


def test_history_filters_by_status_spider_town_user_and_date(app):
    record_job(app, "old-failed", "failed", ["Hartford"], created=NOW - timedelta(9))
    record_job(app, "new-bristol", "finished", ["Bristol"], by="admin")
    record_job(app, "sales-all", "pending", [], spider="sales", by="none")
    api = _client(app, "viewer")

    def ids(query: str) -> list[str]:
        response = api("GET", "/scraper/history" + query)
        assert response.status_code == 200, response.get_json()
        return [r["job_id"] for r in response.get_json()]

    assert ids("") == ["sales-all", "new-bristol", "old-failed"]
    assert ids("?status=failed") == ["old-failed"]
    assert ids("?spider=sales") == ["sales-all"]
    assert ids("?town=hartfrod") == ["sales-all", "old-failed"]  # every town, Hartford
    assert ids(f"?started_by={EMAILS['admin']}") == ["new-bristol"]
    since = (NOW - timedelta(days=1)).date().isoformat()
    assert ids(f"?created_from={since}") == ["sales-all", "new-bristol"]
    assert ids("?per_page=1&page=2") == ["new-bristol"]
    one = api("GET", "/scraper/history?status=failed").get_json()[0]
    assert one["started_by"] == EMAILS["manager"] and one["towns"] == ["Hartford"]
    for query, name in [("status=lost", "status"), ("town=Atlantis", "town")]:
        refused = api("GET", f"/scraper/history?{query}")
        assert refused.status_code == 400 and refused.get_json()["parameter"] == name


@PG_ONLY
def test_status_answers_for_a_pending_job_found_on_the_node(app, scrapyd_env):
    client = ScrapydClient(scrapyd_env.url, username=USERNAME, password=PASSWORD)
    job_id = client.schedule(scheduling.PROJECT, "cases", args={"town": "Bristol"})
    response = _client(app, "viewer")("GET", f"/scraper/status/{job_id}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["towns"], body["started_by"]) == (
        "pending",
        ["Bristol"],
        None,  # posted by hand on the node: nobody recorded
    )


@PG_ONLY
def test_api_cancel_and_retry_on_a_real_node_are_audited(app, scrapyd_env):
    manager = _client(app, "manager")
    started = manager("POST", "/scraper/scrape", json={"town": "Hartford"})
    assert started.status_code == 202, started.get_json()
    (job,) = started.get_json()["jobs"]
    assert (
        _client(app, "viewer")(
            "POST", f"/scraper/jobs/{job['job_id']}/cancel"
        ).status_code
        == 403
    )
    assert job["job_id"] in _pending(scrapyd_env)
    cancelled = manager("POST", f"/scraper/jobs/{job['job_id']}/cancel")
    assert cancelled.get_json() == {"job_id": job["job_id"], "was": ["pending"]}
    assert job["job_id"] not in _pending(scrapyd_env)
    again = manager("POST", f"/scraper/jobs/{job['job_id']}/cancel")
    assert again.status_code == 409  # cancelled already
    retried = manager("POST", f"/scraper/jobs/{job['job_id']}/retry")
    assert retried.status_code == 202, retried.get_json()
    (new,) = retried.get_json()["jobs"]
    queued = _pending(scrapyd_env)[new["job_id"]]
    assert queued["args"]["town"] == "Hartford"
    assert EMAILS["manager"] not in str(queued)  # who started it: ours, not scrapyd's
    status = manager("GET", f"/scraper/status/{new['job_id']}").get_json()
    assert (status["retry_of"], status["attempt"], status["started_by"]) == (
        job["job_id"],
        2,
        EMAILS["manager"],
    )
    assert [r.target for r in _audit(app, "crawl.cancel")] == [job["job_id"]]
    assert [r.target for r in _audit(app, "crawl.retry")] == [job["job_id"]]
    assert manager("POST", "/scraper/jobs/nope/retry").status_code == 404
    assert manager("POST", f"/scraper/jobs/{new['job_id']}/retry").status_code == 409


@PG_ONLY
def test_api_pause_needs_a_reason_shows_a_banner_and_resumes(app, as_role):
    manager, viewer = _client(app, "manager"), _client(app, "viewer")
    assert viewer("POST", "/scraper/pause", json={"reason": "x"}).status_code == 403
    refused = manager("POST", "/scraper/pause", json={})
    assert refused.status_code == 400 and refused.get_json()["parameter"] == "reason"
    paused = manager("POST", "/scraper/pause", json={"reason": "court asked us"})
    assert paused.get_json() == {"paused": True, "reason": "court asked us"}
    page = as_role("viewer").get("/cases/").get_data(as_text=True)
    assert "Crawls are paused: court asked us" in page
    assert manager("POST", "/scraper/resume").get_json()["paused"] is False
    assert "Crawls are paused" not in as_role("viewer").get("/").get_data(as_text=True)
    assert [r.details for r in _audit(app, "crawl.pause")] == [
        {"reason": "court asked us"}
    ]
    assert len(_audit(app, "crawl.resume")) == 1


@PG_ONLY
def test_page_actions_are_refused_to_a_viewer(app, as_role):
    record_job(app, "failed-1", "failed", ["Hartford"])
    viewer = as_role("viewer")
    token = csrf_token(viewer, "/crawls/")
    for path in (
        "/crawls/jobs/failed-1/retry",
        "/crawls/jobs/failed-1/cancel",
        "/crawls/pause",
        "/crawls/resume",
    ):
        assert viewer.post(path, data={"csrf_token": token}).status_code == 403
    assert viewer.get("/crawls/jobs/failed-1/clone").status_code == 403
    page = viewer.get("/crawls/").get_data(as_text=True)
    assert "failed-1" in page and "job-retry" not in page and "pause-form" not in page


def test_jobs_csv_export_is_filtered_and_audited(app, as_role):
    record_job(
        app,
        "failed-1",
        "failed",
        ["Hartford", "Avon"],
        failure_reason="=cmd",
        outcome="partial",
        incomplete_towns=["Avon"],
    )
    record_job(app, "done-1", "finished", ["Bristol"])
    response = as_role("viewer").get("/crawls/jobs.csv?status=failed")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["job_id"], r["failure_reason"]) for r in rows] == [("failed-1", "'=cmd")]
    assert (rows[0]["outcome"], rows[0]["incomplete_towns"]) == ("partial", "Avon")
    (record,) = _audit(app, "export")
    assert (
        record.details["filters"] == {"status": "failed"}
        and record.details["rows"] == 1
    )
    bad = as_role("viewer").get("/crawls/jobs.csv?created_from=yesterday")
    assert bad.status_code == 400 and "created_from" in bad.get_data(as_text=True)


@PG_ONLY
def test_crawl_page_shows_town_counts_errors_with_examples_and_checks(app, as_role):
    stats = {
        "downloader/exception_type_count/"
        "twisted.internet.error.ConnectionRefusedError": 2,
        "spider_exceptions/KeyError": 1,
    }
    with _engine(app).begin() as conn:
        conn.execute(
            db.crawl_runs.update()
            .where(db.crawl_runs.c.id == 1)
            .values(
                town_counts={
                    "Hartford": {"site": 12, "parsed": 10},
                    "Bristol": {"site": 4, "parsed": 4},
                },
                errors={"network": 2, "parsing": 1, "validation": 0, "system": 0},
                stats=stats,
                checks=[
                    {"name": "error_count", "passed": False, "message": "3 errors"}
                ],
            )
        )
    page = as_role("viewer").get("/crawls/1").get_data(as_text=True)
    towns = page[page.index('id="town-counts"') :]
    assert towns.index("Hartford") < towns.index("Bristol")  # the differing first
    assert '<tr class="differs"><td>Hartford' in towns
    assert "twisted.internet.error.ConnectionRefusedError" in page
    assert "<code>KeyError</code>" in page
    assert "3 errors" in page and ">failed<" in page


@PG_ONLY
def test_cli_retry_failed_posts_due_transient_failures_only(app, scrapyd_env):
    from click.testing import CliRunner

    from ctforeclosure.cli.app import main

    long_ago = NOW - timedelta(hours=3)
    transient = {"failure_class": "transient", "ended_at": long_ago}
    record_job(app, "net-1", "failed", ["Bristol"], **transient, node=scrapyd_env.url)
    record_job(
        app,
        "late-1",
        "failed",
        ["Hartford"],
        failure_class="transient",
        ended_at=datetime.now(UTC),  # not NOW: the module's import may be long past
        node=scrapyd_env.url,
    )  # not due for 5 minutes
    record_job(
        app,
        "403-1",
        "failed",
        ["Hartford"],
        failure_class="permanent",
        failure_reason="the court answered 403: not retried",
        ended_at=long_ago,
    )
    url = app.config["DATABASE_URL"]
    env = {"DATABASE_URL": url}
    result = CliRunner().invoke(main, ["jobs", "--retry-failed"], env=env)
    assert result.exit_code == 0, result.output
    retried = [
        line for line in result.output.splitlines() if line.startswith("retried")
    ]
    assert len(retried) == 1 and retried[0].startswith("retried net-1 as cases-")
    assert "waiting late-1: retry due at" in result.output
    new_id = retried[0].split()[3]
    assert _pending(scrapyd_env)[new_id]["args"]["town"] == "Bristol"
    again = CliRunner().invoke(main, ["jobs", "--retry-failed"], env=env)
    assert "retried" not in again.output  # net-1 has its retry already
    _client(app, "manager")("POST", "/scraper/pause", json={"reason": "court"})
    with _engine(app).begin() as conn:
        conn.execute(
            db.crawl_jobs.update()
            .where(db.crawl_jobs.c.job_id == "late-1")
            .values(ended_at=long_ago)
        )
    paused = CliRunner().invoke(main, ["jobs", "--retry-failed"], env=env)
    assert "waiting late-1: the kill switch is on" in paused.output


@PG_ONLY
def test_cli_cancel_records_the_job_cancelled_so_it_is_never_retried(app, scrapyd_env):
    from click.testing import CliRunner

    from ctforeclosure.cli.app import main

    started = _client(app, "manager")("POST", "/scraper/scrape", json={"town": "Avon"})
    (job,) = started.get_json()["jobs"]
    env = {"DATABASE_URL": app.config["DATABASE_URL"]}
    result = CliRunner().invoke(main, ["cancel", job["job_id"]], env=env)
    assert result.exit_code == 0, result.output
    assert job["job_id"] not in _pending(scrapyd_env)
    with _engine(app).connect() as conn:
        status = conn.execute(
            sa.select(db.crawl_jobs.c.status).where(
                db.crawl_jobs.c.job_id == job["job_id"]
            )
        ).scalar_one()
    assert status == "cancelled"  # as the web UI's cancel records it


def test_partial_and_lost_crawls_show_with_their_towns_everywhere(app, as_role):
    beat = datetime.now(UTC) - timedelta(minutes=20)
    with _engine(app).begin() as conn:
        conn.execute(
            db.crawl_runs.update()
            .where(db.crawl_runs.c.id == 1)
            .values(outcome="partial", incomplete_towns=["Meriden"])
        )
        conn.execute(
            db.crawl_runs.insert().values(
                id=77,
                spider="cases",
                args={"towns": "Avon,Bristol"},
                job_id="cases-lost-77",
                started_at=beat - timedelta(minutes=5),
                heartbeat_at=beat,
                status="lost",
                outcome="lost",
                incomplete_towns=["Bristol"],
                completed_towns=["Avon"],
            )
        )
    record_job(
        app,
        "cases-lost-77",
        "failed",
        ["Avon", "Bristol"],
        outcome="lost",
        incomplete_towns=["Bristol"],
        failure_class="transient",
        failure_reason="lost: no heartbeat since then",
    )
    viewer = as_role("viewer")
    crawls = viewer.get("/crawls/").get_data(as_text=True)
    job_row = crawls[crawls.index('data-job="cases-lost-77"') :].split("</tr>")[0]
    assert ">lost</span>" in job_row and "Bristol</div>" in job_row
    runs = crawls[crawls.index("<h2>Crawl runs</h2>") :]
    assert ">partial</span>" in runs and "Meriden</div>" in runs
    assert ">lost</span>" in runs and "Bristol</div>" in runs
    detail = viewer.get("/crawls/77").get_data(as_text=True)
    outcome = detail[detail.index('id="crawl-outcome"') :].split("</dd>")[0]
    assert ">lost</span>" in outcome and "Bristol" in outcome
    status_page = as_role("admin").get("/status/").get_data(as_text=True)
    unfinished = status_page[status_page.index('id="unfinished-crawls"') :]
    unfinished = unfinished.split("</section>")[0]
    assert 'data-crawl="77"' in unfinished and 'data-crawl="1"' in unfinished
    assert "Bristol" in unfinished and "Meriden" in unfinished
    api = _client(app, "viewer")
    run = api("GET", "/scraper/status/cases-lost-77").get_json()
    assert (run["outcome"], run["incomplete_towns"]) == ("lost", ["Bristol"])
    assert run["heartbeat_at"].startswith(f"{beat:%Y-%m-%dT%H:%M:%S}")
    [job] = [
        j
        for j in api("GET", "/scraper/history").get_json()
        if j["job_id"] == "cases-lost-77"
    ]
    assert (job["outcome"], job["incomplete_towns"]) == ("lost", ["Bristol"])
