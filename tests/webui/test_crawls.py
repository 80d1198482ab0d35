"""Starting a crawl from the web UI on a real scrapyd node (one that never runs its
jobs, so the job stays pending and nothing is crawled)."""

from __future__ import annotations

import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import EMAILS, api_token, csrf_token


def _audit(app, action: str) -> list:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        return conn.execute(
            sa.select(db.audit_log).where(db.audit_log.c.action == action)
        ).all()


def test_crawl_start_for_a_town_schedules_lists_and_audits(app, as_role, scrapyd_env):
    manager = as_role("manager")
    token = csrf_token(manager, "/crawls/")
    response = manager.post(
        "/crawls/start",
        data={"csrf_token": token, "scope": "town", "town": "hartfrod"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "Started 1 crawl job(s): cases-" in html
    (record,) = _audit(app, "crawl.start")
    assert record.actor == EMAILS["manager"] and record.target == "Hartford"
    job_id = record.details["jobs"][0]
    pending = scrapyd_env.get("listjobs.json", project="ctforeclosure")["pending"]
    assert [(j["id"], j["args"]["town"]) for j in pending if j["id"] == job_id] == [
        (job_id, "Hartford")
    ]
    listing = manager.get("/crawls/").get_data(as_text=True)
    assert job_id in listing and "pending" in listing


def test_api_scrape_a_county_schedules_one_job_per_town(app, scrapyd_env):
    headers = {"Authorization": f"Bearer {api_token(app, 'admin')}"}
    response = app.test_client().post(
        "/api/v1/scraper/scrape",
        headers=headers,
        json={"scope": "county", "county": "Tolland"},
    )
    assert response.status_code == 202, response.get_json()
    jobs = response.get_json()["jobs"]
    assert len(jobs) == 13  # Tolland County's towns
    assert {j["node"] for j in jobs} == {scrapyd_env.url}
    (record,) = _audit(app, "crawl.start")
    assert record.target == "Tolland County" and len(record.details["jobs"]) == 13


def test_crawl_start_shows_a_refused_secret_naming_it(as_role, monkeypatch):
    """The form passes no job arguments or settings; a refusal is still a message."""
    from ctforeclosure.jobs import scheduling

    def refuse(**kwargs):
        scheduling.check_no_secrets({"ALERT_WEBHOOK_URL": "hook-7f3a9c"}, "setting")

    monkeypatch.setattr(scheduling, "schedule", refuse)
    manager = as_role("manager")
    token = csrf_token(manager, "/crawls/")
    response = manager.post(
        "/crawls/start",
        data={"csrf_token": token, "scope": "town", "town": "Hartford"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Crawl not started: setting ALERT_WEBHOOK_URL" in html
    assert "hook-7f3a9c" not in html
