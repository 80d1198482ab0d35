"""Capture mode: the scrubbed real captures are served for their towns."""

from __future__ import annotations

import re

import pytest

from tests.replica.capture import CASE_CAPTURE, FIXTURES, RESULTS_CAPTURES

from .client import Client, grid_rows, records

HARTFORD_TOWNS = {"HARTFORD", "EAST HARTFORD", "WEST HARTFORD", "NEW HARTFORD"}
LIVE = re.compile(
    r'(id="__VIEWSTATE" value=|id="__EVENTVALIDATION" value=|'
    r'ClientState" value=|"ChallengeScript":)"[^"]*"'
)


def _mask(html: str) -> str:
    return LIVE.sub(r"\1-", html)


@pytest.fixture
def captured(replica_factory):
    return replica_factory(capture_mode=True)


@pytest.mark.parametrize("town", ["Middletown", "Hartford"])
def test_capture_town_serves_scrubbed_capture(captured, town):
    page = Client(captured.env["CTJUD_BASE_URL"]).search(town)
    fixture = (FIXTURES / RESULTS_CAPTURES[town.upper()]).read_text(encoding="utf-8")
    assert _mask(page.text) == _mask(fixture)
    assert re.search(r'"ChallengeScript":"~\d+"', page.text)


def test_capture_rows_are_the_truth(captured):
    rows = grid_rows(Client(captured.env["CTJUD_BASE_URL"]).search("Middletown").text)
    truth = captured.truth(town="Middletown", listing_only=True)
    assert [r["docket"] for r in rows] == [t["docket_display"] for t in truth]
    assert [r["case_name"] for r in rows] == [t["case_name"] for t in truth]
    assert [r["street"] for r in rows] == [t["listing_street"] for t in truth]


def test_capture_hartford_second_page_completes_the_total(captured):
    client = Client(captured.env["CTJUD_BASE_URL"])
    first = client.search("Hartford")
    second = client.goto_page(2)
    assert records(second.text) == "201-343 of 343"
    dockets = [r["docket"] for r in grid_rows(first.text) + grid_rows(second.text)]
    assert len(dockets) == len(set(dockets)) == 343
    truth = {
        t["docket_display"]
        for t in captured.truth(listing_only=True)
        if t["listing_town"] in HARTFORD_TOWNS
    }
    assert set(dockets) == truth


def test_capture_mode_other_criteria_render_normally(captured):
    page = Client(captured.env["CTJUD_BASE_URL"]).search(
        "Middletown", case_status="All Cases"
    )
    fixture = (FIXTURES / RESULTS_CAPTURES["MIDDLETOWN"]).read_text(encoding="utf-8")
    assert _mask(page.text) != _mask(fixture)
    assert len(grid_rows(page.text)) == 83


def test_capture_case_page_served_by_load_docket(captured):
    client = Client(captured.env["CTJUD_BASE_URL"])
    page = client.get("LoadDocket.aspx?DocketNo=HHD-CV-22-6160660-S")
    assert page.url.endswith(
        "CaseDetail/PublicCaseDetail.aspx?DocketNo=HHDCV226160660S"
    )
    fixture = (FIXTURES / CASE_CAPTURE).read_text(encoding="utf-8")
    assert _mask(page.text) == _mask(fixture)


def test_capture_case_page_is_unknown_without_capture_mode(replica):
    client = Client(replica.env["CTJUD_BASE_URL"])
    page = client.get(
        "LoadDocket.aspx?DocketNo=HHD-CV-22-6160660-S", allow_redirects=False
    )
    assert "ErrorPage.aspx" in page.headers["Location"]
