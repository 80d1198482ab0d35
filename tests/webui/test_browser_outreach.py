"""The outreach path end to end in headless Chromium: find a case, assign it, add a
note, suppress one of its phones, export (the phone is not in the file); trace a
party against the replica's BatchData, suppress a number it found, re-trace with
``SKIPTRACE_DEDUPE_DAYS=0`` (a new result with the same number, still suppressed),
suppress the person (the next quote skips them, unbilled); a viewer sees it all and
can change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.skiptrace.service import DO_NOT_CONTACT, SkipTraceService
from tests.webui.conftest import DOCKET_HARTFORD, DOCKET_OLD, EMAILS, PASSWORD
from tests.webui.test_browser import (  # noqa: F401 -- live_server: a fixture
    ARTIFACTS,
    _in_browser,
    live_server,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def traced(app, batchdata, configured, monkeypatch):
    """Skip tracing against the replica's BatchData, never deduplicated."""
    configured(batchdata)
    monkeypatch.setenv("SKIPTRACE_DEDUPE_DAYS", "0")
    monkeypatch.setenv("CTF_SUPPRESSION_KEY", "browser-test-suppression-key")
    engine = app.extensions["ctforeclosure_engine"]

    def trace() -> object:
        service = SkipTraceService.from_config(engine)
        quote = service.quote(docket_nos=[DOCKET_OLD])
        service.run(quote, triggered_by="test")
        return quote

    trace.engine, trace.batchdata = engine, batchdata
    return trace


# PostgreSQL only (production's database): one browser run is most of the budget.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_browser_outreach_path(live_server, traced, request):  # noqa: F811
    shots = ARTIFACTS / "outreach"
    shots.mkdir(parents=True, exist_ok=True)
    _in_browser(_outreach_path, live_server, traced, shots)


def _sign_in(page, root: str, role: str) -> None:
    page.goto(f"{root}/auth/login")
    page.fill("input[name=email]", EMAILS[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _outreach_path(page, root: str, traced, shots: Path) -> None:
    _sign_in(page, root, "manager")
    page.goto(f"{root}/cases/?q=elm")
    page.click(f"a[href='/cases/{DOCKET_HARTFORD}']")
    page.select_option("#lead-form select[name=assignee]", EMAILS["manager"])
    page.select_option("#lead-form select[name=status]", "Contacting")
    page.click("#lead-form button[type=submit]")
    assert page.inner_text("#lead-assignee") == EMAILS["manager"]
    page.fill("#add-note textarea", "Called, left a voicemail")
    page.click("#add-note button[type=submit]")
    assert "Called, left a voicemail" in page.inner_text("#timeline")
    phone = page.locator("li.phone", has_text="(860) 555-0123")
    phone.locator("select[name=reason]").select_option("wrong_number")
    phone.locator("button").click()
    page.wait_for_load_state()
    assert "(***) ***-0123" in page.inner_text("li.withheld")
    assert "(860) 555-0123" not in page.inner_text("#parties")
    page.screenshot(path=str(shots / "01-case-suppressed.png"), full_page=True)

    page.goto(f"{root}/cases/?q=elm")
    with page.expect_download() as download:
        page.click("#export-csv")
    saved = shots / download.value.suggested_filename
    download.value.save_as(saved)
    assert "HHD-CV-22-6160660-S" in saved.read_text()
    assert "555-0123" not in saved.read_text()
    _retrace_keeps_suppression(page, root, traced, shots)
    _viewer_changes_nothing(page, root, shots)


def _numbers(engine) -> list:
    with engine.connect() as conn:
        return (
            conn.execute(
                sa.select(db.skiptrace_phones.c.number)
                .join(db.skiptrace_results)
                .where(db.skiptrace_results.c.party_id == 4)
                .order_by(db.skiptrace_phones.c.id)
            )
            .scalars()
            .all()
        )


def _retrace_keeps_suppression(page, root: str, traced, shots: Path) -> None:
    traced()
    first = _numbers(traced.engine)
    page.goto(f"{root}/cases/{DOCKET_OLD}")
    target = page.locator("li.phone").first
    shown = target.inner_text().split("\n")[0][:14]  # "(860) 555-0123"
    target.locator("button").click()
    page.wait_for_load_state()
    billed = len(traced.batchdata.billed())
    traced()  # re-trace: dedupe 0 sends again, the vendor answers the same numbers
    assert len(traced.batchdata.billed()) == billed + 1
    assert _numbers(traced.engine) == first + first
    page.reload()
    last4 = shown[-4:]
    assert page.locator("li.withheld", has_text=last4).count() == 2
    assert shown not in page.inner_text("#parties")
    party = page.locator("#parties tr", has_text="POE, EDGAR")
    party.locator("form.dnc-add[data-kind=person] button").click()
    page.wait_for_load_state()
    assert "do not contact" in page.inner_text(".dnc-person")
    quote = traced()
    assert [s.reason for s in quote.skipped] == [DO_NOT_CONTACT]
    assert not quote.records and len(traced.batchdata.billed()) == billed + 1
    page.screenshot(path=str(shots / "02-person-suppressed.png"), full_page=True)


def _viewer_changes_nothing(page, root: str, shots: Path) -> None:
    page.click(".whoami button")
    _sign_in(page, root, "viewer")
    page.goto(f"{root}/cases/{DOCKET_HARTFORD}")
    assert page.inner_text("#lead-assignee") == EMAILS["manager"]
    assert "Called, left a voicemail" in page.inner_text("#timeline")
    for form in ("#lead-form", "#add-note", "form.dnc-add", "#bulk"):
        assert page.locator(form).count() == 0, form
    answer = page.request.post(
        f"{root}/leads/case/{DOCKET_HARTFORD}", form={"status": "Won"}
    )
    assert answer.status in (400, 403)  # no CSRF token, no role: refused either way
    page.screenshot(path=str(shots / "03-viewer.png"), full_page=True)
