"""Skip trace from the web UI: quote (spends nothing) → confirm → background job →
results on the case page, against the offline BatchData stand-in."""

from __future__ import annotations

import re
import time

import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import DOCKET_OLD, EMAILS, csrf_token

JOB_URL = re.compile(r"/skiptrace/jobs/(\w+)$")


def _wait_for_job(client, location: str) -> str:
    """Follow the progress page until the job ends; return the final page."""
    for _ in range(200):
        html = client.get(location).get_data(as_text=True)
        if 'id="job-state">running<' not in html:
            return html
        time.sleep(0.05)
    raise AssertionError("the background trace did not end")


def test_skiptrace_quote_confirm_run_shows_results(app, as_role, batchdata, configured):
    configured(batchdata)
    client = as_role("manager")
    token = csrf_token(client, "/")
    quote = client.post(
        "/skiptrace/quote", data={"csrf_token": token, "docket_no": DOCKET_OLD}
    )
    html = quote.get_data(as_text=True)
    assert quote.status_code == 200
    assert "To send: 1 records" in html
    assert batchdata.calls() == []  # a quote spends nothing
    max_cost = re.search(r'name="max_cost" value="([^"]+)"', html).group(1)
    run = client.post(
        "/skiptrace/run",
        data={"csrf_token": token, "docket_no": DOCKET_OLD, "max_cost": max_cost},
    )
    assert run.status_code == 302
    location = run.headers["Location"]
    assert JOB_URL.search(location)
    final = _wait_for_job(client, location)
    assert 'id="job-state">finished<' in final
    assert "Sent 1 records" in final
    assert len(batchdata.calls()) == 1
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        results = (
            conn.execute(
                sa.select(db.skiptrace_results.c.status).where(
                    db.skiptrace_results.c.party_id == 4
                )
            )
            .scalars()
            .all()
        )
        audit_rows = (
            conn.execute(
                sa.select(db.audit_log.c.actor).where(
                    db.audit_log.c.action == "skiptrace.start"
                )
            )
            .scalars()
            .all()
        )
    assert results and results[0] in {"matched", "no_match"}
    assert audit_rows == [EMAILS["manager"]]
    page = client.get(f"/cases/{DOCKET_OLD}").get_data(as_text=True)
    assert results[0] in page and "not traced" not in page


def test_skiptrace_run_refuses_a_quote_that_went_up(as_role, batchdata, configured):
    configured(batchdata)
    client = as_role("manager")
    token = csrf_token(client, "/")
    response = client.post(
        "/skiptrace/run",
        data={"csrf_token": token, "docket_no": DOCKET_OLD, "max_cost": "0"},
    )
    assert "The quote went up" in response.get_data(as_text=True)
    assert batchdata.calls() == []


def test_skiptrace_run_refused_when_not_configured(as_role):
    client = as_role("manager")
    token = csrf_token(client, "/")
    quote = client.post(
        "/skiptrace/quote", data={"csrf_token": token, "docket_no": DOCKET_OLD}
    )
    assert "Skip tracing is off" in quote.get_data(as_text=True)
    run = client.post(
        "/skiptrace/run",
        data={"csrf_token": token, "docket_no": DOCKET_OLD, "max_cost": "100"},
        follow_redirects=True,
    )
    assert "Skip tracing is off" in run.get_data(as_text=True)


def test_skiptrace_quote_from_filtered_list_and_bad_town(as_role):
    client = as_role("manager")
    token = csrf_token(client, "/")
    quote = client.post(
        "/skiptrace/quote",
        data={"csrf_token": token, "filter_query": "town=Hartford&q=oak"},
    )
    assert "To send: 1 records" in quote.get_data(as_text=True)
    bad = client.post(
        "/skiptrace/quote",
        data={"csrf_token": token, "town": "Atlantis"},
        follow_redirects=True,
    )
    assert "not a Connecticut town" in bad.get_data(as_text=True)


def test_skiptrace_job_page_unknown_is_404(as_role):
    assert as_role("viewer").get("/skiptrace/jobs/nope").status_code == 404


def test_api_skiptrace_lookup_confirm_runs_in_background(app, batchdata, configured):
    from tests.webui.conftest import api_token

    configured(batchdata)
    headers = {"Authorization": f"Bearer {api_token(app, 'manager')}"}
    client = app.test_client()
    quote = client.post(
        "/api/v1/skiptraces/lookup", headers=headers, json={"docket_nos": [DOCKET_OLD]}
    ).get_json()
    assert quote["configured"] is True and quote["quote"]["records"] == 1
    started = client.post(
        "/api/v1/skiptraces/lookup",
        headers=headers,
        json={
            "docket_nos": [DOCKET_OLD],
            "confirm": True,
            "max_cost": quote["quote"]["max_cost"],
        },
    )
    assert started.status_code == 202
    job_id = started.get_json()["job"]["id"]
    for _ in range(200):
        job = client.get(
            f"/api/v1/skiptraces/jobs/{job_id}", headers=headers
        ).get_json()
        if job["state"] != "running":
            break
        time.sleep(0.05)
    assert job["state"] == "finished", job
    assert job["done"] == job["total"] == 1
