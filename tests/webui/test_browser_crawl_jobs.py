"""Crawl jobs under staff control in headless Chromium, on a real scrapyd node that
never runs its jobs: a manager starts a crawl, cancels it, retries it, clones it
into the start form, pauses all crawls (the banner on every page) and resumes; a
viewer sees the jobs and no action, and is refused when posting one."""

from __future__ import annotations

import pytest

from tests.webui.conftest import EMAILS
from tests.webui.test_browser import (  # noqa: F401 -- live_server: a fixture
    ARTIFACTS,
    _in_browser,
    live_server,
)
from tests.webui.test_browser_outreach import _sign_in

pytestmark = pytest.mark.browser


# PostgreSQL only (production's database): one browser run is most of the budget.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_browser_crawl_job_actions(live_server, scrapyd_env):  # noqa: F811
    shots = ARTIFACTS / "crawl-jobs"
    shots.mkdir(parents=True, exist_ok=True)
    _in_browser(_manager_then_viewer, live_server, shots)


def _row(page, state: str):
    return page.locator(
        "#jobs tbody tr", has=page.locator(f".job-state:text-is('{state}')")
    )


def _manager_then_viewer(page, root: str, shots) -> None:
    _sign_in(page, root, "manager")
    page.goto(f"{root}/crawls/")
    page.fill("#start-town", "Bristol")
    page.fill("#start-args", "status=all")
    page.click("#start-crawl button[type=submit]")
    assert "Started 1 crawl job(s)" in page.inner_text("main")
    assert page.locator("#auto-refresh").count() == 1  # a job is pending
    pending = _row(page, "pending")
    job_id = pending.get_attribute("data-job")
    assert EMAILS["manager"] in pending.inner_text()
    pending.locator(".job-cancel").click()
    assert f"Cancelled {job_id}" in page.inner_text("main")
    page.locator(f"tr[data-job='{job_id}'] .job-retry").click()
    assert f"Retried {job_id} as cases-" in page.inner_text("main")
    retry = _row(page, "pending")
    assert f"retry of {job_id}" in retry.inner_text()
    page.screenshot(path=str(shots / "01-cancelled-and-retried.png"), full_page=True)
    retry.locator(".job-clone").click()
    assert page.input_value("#start-town") == "Bristol"
    assert page.input_value("#start-args") == "status=all"
    page.fill("#pause-reason", "court maintenance tonight")
    page.click("#pause")
    page.goto(f"{root}/cases/")
    banner = page.inner_text("#kill-switch-banner")
    assert "Crawls are paused: court maintenance tonight" in banner
    page.screenshot(path=str(shots / "02-paused-banner.png"), full_page=True)
    page.goto(f"{root}/crawls/")
    page.click("#resume")
    assert page.locator("#kill-switch-banner").count() == 0
    page.click("form.whoami button")

    _sign_in(page, root, "viewer")
    page.goto(f"{root}/crawls/")
    assert page.locator("#jobs tbody tr").count() == 2
    for action in (".job-retry", ".job-cancel", ".job-clone", "#pause", "#start-crawl"):
        assert page.locator(action).count() == 0, action
    token = page.input_value("form.whoami input[name=csrf_token]")
    for action in (f"jobs/{job_id}/retry", f"jobs/{job_id}/cancel", "pause", "resume"):
        refused = page.request.post(
            f"{root}/crawls/{action}", form={"csrf_token": token, "reason": "x"}
        )
        assert refused.status == 403, action
    assert page.request.get(f"{root}/crawls/jobs/{job_id}/clone").status == 403
    page.screenshot(path=str(shots / "03-viewer.png"), full_page=True)
