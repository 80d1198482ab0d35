"""In headless Chromium: filter the cases list, save the search from it, and open it
again from the Saved searches page, back on the same filtered list."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.webui.test_browser import (  # noqa: F401 -- live_server: a fixture
    ARTIFACTS,
    _in_browser,
    live_server,
)
from tests.webui.test_browser_outreach import _sign_in

pytestmark = pytest.mark.browser


# PostgreSQL only (production's database): one browser run is most of the budget.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_browser_saves_a_search_and_opens_it_again(live_server):  # noqa: F811
    shots = ARTIFACTS / "saved-searches"
    shots.mkdir(parents=True, exist_ok=True)
    _in_browser(_save_and_open, live_server, shots)


def _save_and_open(page, root: str, shots: Path) -> None:
    _sign_in(page, root, "viewer")
    page.goto(f"{root}/cases/")
    page.fill("input[name=town]", "Hartford")
    page.select_option("select[name=status]", "active")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**/cases/?*town=Hartford*")
    assert page.locator("#cases tbody tr").count() == 2

    page.click("#save-search summary")
    page.fill("#save-search-name", "Hartford, active")
    page.check("#save-search-shared")
    page.click("#save-search-button")
    page.wait_for_url(f"{root}/saved-searches/")
    assert "Saved the search 'Hartford, active'" in page.inner_text("main")
    row = page.locator("#saved-searches tbody tr", has_text="Hartford, active")
    assert "shared" in row.inner_text() and "town=Hartford" in row.inner_text()
    page.screenshot(path=str(shots / "01-saved-searches.png"), full_page=True)

    page.goto(f"{root}/cases/")  # elsewhere, then back through the saved search
    page.click("#nav-saved-searches")
    page.click("a.open-search:has-text('Hartford, active')")
    page.wait_for_url("**/cases/?*town=Hartford*")
    assert "status=active" in page.url
    assert page.input_value("input[name=town]") == "Hartford"
    assert page.locator("#cases tbody tr").count() == 2
    page.screenshot(path=str(shots / "02-opened-again.png"), full_page=True)
