"""End to end in headless Chromium: sign in, filter by town, open a case, export.

The app is served by werkzeug on 127.0.0.1 (port 0) in a thread; Debian's Chromium
is driven through Playwright's sync API. Screenshots go to ``artifacts/webui/`` (git
ignored) so a person can look at the pages.
"""

from __future__ import annotations

import csv
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.webui.conftest import DOCKET_HARTFORD, DOCKET_OLD, EMAILS, PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "webui"


@pytest.fixture
def live_server(app):
    """Serve the app on 127.0.0.1 in a thread; stop it after the test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _in_browser(drive, *args):
    """Run ``drive(page, *args)`` in Chromium, in a thread of its own.

    pytest-twisted keeps an asyncio loop running in the test thread, and
    Playwright's sync API refuses to start inside a running loop.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"SKIPPING BROWSER TEST: no Chromium at {CHROMIUM}")

    def run():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
            )
            try:
                context = browser.new_context(
                    viewport={"width": 1280, "height": 900}, accept_downloads=True
                )
                drive(context.new_page(), *args)
                context.close()
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result(timeout=120)


def test_browser_login_filter_open_case_export(live_server, request):
    shots = ARTIFACTS / request.node.callspec.id
    shots.mkdir(parents=True, exist_ok=True)
    _in_browser(_login_filter_open_export, live_server, shots)


def _login_filter_open_export(page, live_server: str, shots: Path) -> None:

    page.goto(f"{live_server}/cases/")
    assert "/auth/login" in page.url
    page.screenshot(path=str(shots / "01-login.png"), full_page=True)
    page.fill("input[name=email]", EMAILS["manager"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/cases/")

    page.fill("input[name=town]", "Hartford")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**/cases/?*town=Hartford*")
    rows = page.locator("#cases tbody tr")
    assert rows.count() == 2
    assert "2 cases" in page.inner_text("main")
    page.screenshot(path=str(shots / "02-cases-hartford.png"), full_page=True)

    with page.expect_download() as download_info:
        page.click("#export-csv")
    download = download_info.value
    saved = shots / download.suggested_filename
    download.save_as(saved)
    with saved.open(newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert {r["Docket"] for r in exported} == {
        "HHD-CV-22-6160660-S",
        "HHD-CV-19-6001234-S",
    }
    assert "[DNC]" not in saved.read_text()
    with page.expect_download() as download_info:  # the form: a POST with its token
        page.click("#export-csv-dnc")
    flagged = shots / ("dnc-" + download_info.value.suggested_filename)
    download_info.value.save_as(flagged)
    assert "(860) 555-0199 [DNC]" in flagged.read_text()

    page.click(f"a[href='/cases/{DOCKET_HARTFORD}']")
    page.wait_for_url(f"**/cases/{DOCKET_HARTFORD}")
    assert page.inner_text("h1") == "FIRST BANK v. DOE, JOHN Et Al"
    party_text = page.inner_text("#parties")
    assert "<script>alert('x')</script> Doe" in party_text  # shown as text
    assert "(860) 555-0123" in party_text
    assert "555-0199" not in party_text  # flagged DNC: only when asked for
    page.click("#show-dnc button")
    page.wait_for_load_state()
    assert "(860) 555-0199" in page.inner_text("#parties")
    # the one timeline: the two docket entries and the recorded law day change
    timeline = page.locator("#timeline li")
    assert timeline.count() == 3
    assert "law day set to 2026-12-04" in page.inner_text("#timeline")
    href = page.get_attribute("#judiciary-link", "href")
    assert href.endswith("LoadDocket.aspx?DocketNo=HHD-CV-22-6160660-S")
    page.screenshot(path=str(shots / "03-case.png"), full_page=True)

    page.click("#quote-case button")
    page.wait_for_url("**/skiptrace/quote")
    assert page.inner_text("#quote-lines").startswith("Skip-trace quote")
    page.screenshot(path=str(shots / "04-skiptrace-quote.png"), full_page=True)

    page.goto(f"{live_server}/")
    page.screenshot(path=str(shots / "05-dashboard.png"), full_page=True)
    assert DOCKET_OLD not in page.content()  # no law day or sale within 30 days

    page.goto(f"{live_server}/towns/")
    assert "Windham County" in page.inner_text("main")
    page.screenshot(path=str(shots / "06-towns.png"))
