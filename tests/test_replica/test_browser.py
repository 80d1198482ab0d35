"""A real browser (Chromium) answers the replica's NoBot challenge by itself.

This is what the crawler's browser fallback relies on: under the
"nobot-unknown-script" fault a plain-HTTP client cannot answer, a browser can.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from .client import grid_rows

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
        reason=f"Chromium not found at {CHROMIUM}",
    ),
]


def _in_thread(fn, *args):
    """Run ``fn`` in a fresh thread: Playwright's sync API refuses to run inside the
    asyncio loop pytest-twisted keeps running in the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result(timeout=120)


def _search_in_browser(base: str, town: str) -> str:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            page = browser.new_page()
            page.goto(f"{base}/PropertyAddressSearch.aspx")
            page.fill("#ctl00_ContentPlaceHolder1_txtCityTown", town)
            page.select_option(
                "#ctl00_ContentPlaceHolder1_ddlCaseStatus", label="All Cases"
            )
            with page.expect_navigation():
                page.click("#ctl00_ContentPlaceHolder1_btnSubmit")
            return page.content()
        finally:
            browser.close()


@pytest.mark.parametrize("faults", [[], ["nobot-unknown-script"]])
def test_browser_answers_nobot_challenge(replica_factory, faults):
    # Real timing rules on (not --fast), with no minimum delay so the test is quick.
    replica = replica_factory(fast=False, nobot_min_delay=0, faults=faults)
    html = _in_thread(_search_in_browser, replica.env["CTJUD_BASE_URL"], "Hartford")
    rows = grid_rows(html)
    assert rows and all("HARTFORD" in r["town"] for r in rows)
