"""The replica's judiciary pages: search, paging, NoBot, sessions, case pages."""

from __future__ import annotations

import re
import time

import pytest
from parsel import Selector

from ctforeclosure import dockets

from .client import Client, grid_rows, hidden_fields, records

SEARCH = "PropertyAddressSearch.aspx"
RESULTS = "PropertyAddressSearchResults.aspx"


@pytest.fixture
def client(replica):
    return Client(replica.env["CTJUD_BASE_URL"])


def test_search_form_sets_session_cookie_and_hidden_fields(client):
    page = client.search_form()
    assert page.status_code == 200
    assert re.fullmatch(r"[a-z0-5]{24}", client.http.cookies["ASP.NET_SessionId"])
    fields = hidden_fields(page.text)
    for name in (
        "__EVENTTARGET",
        "__EVENTARGUMENT",
        "__VIEWSTATE",
        "__VIEWSTATEGENERATOR",
        "__EVENTVALIDATION",
        "ctl00_MyScriptManager_HiddenField",
        "ctl00$NoBot$NoBot_NoBotExtender_ClientState",
    ):
        assert name in fields, name
    assert fields["__VIEWSTATE"].startswith("/wE")
    assert re.search(r'"ChallengeScript":"~\d{1,3}"', page.text)
    sel = Selector(page.text)
    for ident in (
        "txtCityTown",
        "ddlCaseType",
        "ddlPropertyType",
        "ddlCaseStatus",
        "btnSubmit",
    ):
        assert sel.css(f"#ctl00_ContentPlaceHolder1_{ident}"), ident
    defaults = [
        sel.css(f"#ctl00_ContentPlaceHolder1_{d} option[selected]::text").get()
        for d in ("ddlCaseType", "ddlPropertyType", "ddlCaseStatus")
    ]
    assert defaults == ["Foreclosure Cases", "Residential Properties", "Active Cases"]


def test_search_returns_substring_matches_sorted(replica, client):
    page = client.search("Hartford")
    assert page.status_code == 200
    rows = grid_rows(page.text)
    towns = {r["town"] for r in rows}
    assert "HARTFORD" in towns and "EAST HARTFORD" in towns
    assert all("HARTFORD" in t for t in towns)
    keys = [(r["town"], r["zip"], r["street"]) for r in rows]
    assert keys == sorted(keys)
    assert rows[0]["row_id"] == "ctl03" and rows[0]["class"] == "grdRow"
    assert rows[1]["class"] == "grdRowAlt"
    assert records(page.text) == f"1-{len(rows)} of {len(rows)}"
    sel = Selector(page.text)
    assert sel.css("form#aspnetForm::attr(action)").get() == RESULTS
    criteria = sel.css("#ctl00_ContentPlaceHolder1_lblCriteria td::text").getall()
    assert "Hartford" in criteria  # echoed as typed


def test_search_is_case_insensitive_on_town(client):
    upper = grid_rows(client.search("MIDDLETOWN").text)
    lower = grid_rows(client.search("middletown").text)
    assert upper and [r["docket"] for r in upper] == [r["docket"] for r in lower]


def test_search_filters_follow_dropdowns(replica):
    active = grid_rows(Client(replica.env["CTJUD_BASE_URL"]).search("ton").text)
    everything = grid_rows(
        Client(replica.env["CTJUD_BASE_URL"])
        .search("ton", property_type="All Properties", case_status="All Cases")
        .text
    )
    assert len(everything) > len(active)
    assert {r["property_type"] for r in active} == {"Residential"}
    assert any(r["disposition"] for r in everything)
    assert not any(r["disposition"] for r in active)


def test_paging_walks_every_row_once(replica_factory):
    three = ("Hartford", "East Hartford", "West Hartford")
    replica = replica_factory(cases=500, towns=three)
    client = Client(replica.env["CTJUD_BASE_URL"])
    page = client.search(
        "Hartford", property_type="All Properties", case_status="All Cases"
    )
    total = int(records(page.text).split(" of ")[1])
    assert total > 200, "the test needs a multi-page result"
    sel = Selector(page.text)
    pagers = sel.css(
        "#ctl00_ContentPlaceHolder1_gvPropertyResults > tbody > tr.grdBorder"
    )
    assert len(pagers) == 2  # top and bottom
    assert "Page$2" in pagers[0].get()
    seen = [r["docket"] for r in grid_rows(page.text)]
    assert len(seen) == 200 and records(page.text) == f"1-200 of {total}"
    n = 2
    while len(seen) < total:
        page = client.goto_page(n)
        rows = grid_rows(page.text)
        assert rows[0]["row_id"] == "ctl03"
        first = (n - 1) * 200 + 1
        assert records(page.text) == f"{first}-{first + len(rows) - 1} of {total}"
        seen += [r["docket"] for r in rows]
        n += 1
    assert len(seen) == len(set(seen)) == total


def test_paging_with_stale_hidden_fields_is_refused(replica_factory):
    replica = replica_factory(cases=500, towns=("Hartford", "West Hartford"))
    client = Client(replica.env["CTJUD_BASE_URL"])
    client.search("Hartford", property_type="All Properties", case_status="All Cases")
    first_page_fields = client.page_data(2)
    client.goto_page(2)
    resp = client.post(
        RESULTS,
        first_page_fields | {"__EVENTARGUMENT": "Page$3"},
        allow_redirects=False,
    )
    # The page-1 NoBot key was used up by the first postback.
    assert resp.status_code == 200
    assert not grid_rows(resp.text)


def test_tampered_viewstate_redirects_to_error_page(client):
    client.search_form()
    data = client.search_data("Hartford")
    data["__VIEWSTATE"] = data["__VIEWSTATE"][:-8] + "AAAAAAA="
    resp = client.post(SEARCH, data, allow_redirects=False)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("ErrorPage.aspx")


def test_missing_event_validation_redirects_to_error_page(client):
    client.search_form()
    data = client.search_data("Hartford")
    del data["__EVENTVALIDATION"]
    resp = client.post(SEARCH, data, allow_redirects=False)
    assert resp.status_code == 302 and "ErrorPage.aspx" in resp.headers["Location"]


def test_option_value_not_offered_is_refused(client):
    client.search_form()
    data = client.search_data("Hartford")
    data["ctl00$ContentPlaceHolder1$ddlCaseStatus"] = (
        "Active Cases"  # a label, not a value
    )
    resp = client.post(SEARCH, data, allow_redirects=False)
    assert resp.status_code == 302 and "ErrorPage.aspx" in resp.headers["Location"]


def test_wrong_nobot_answer_re_renders_the_form(client):
    client.search_form()
    data = client.search_data("Hartford")
    data["ctl00$NoBot$NoBot_NoBotExtender_ClientState"] = "12345"
    resp = client.post(SEARCH, data)
    sel = Selector(resp.text)
    assert not grid_rows(resp.text)
    assert sel.css("#ctl00_ContentPlaceHolder1_txtCityTown")
    assert sel.css("#ctl00_ContentPlaceHolder1_lblMessage::text").get()


def test_postback_without_session_cookie_is_refused(client):
    client.search_form()
    data = client.search_data("Hartford")
    client.http.cookies.clear()
    resp = client.post(SEARCH, data)
    assert not grid_rows(resp.text)


def test_town_shorter_than_three_characters_is_refused(client):
    resp = client.search("Ha")
    assert not grid_rows(resp.text)
    assert Selector(resp.text).css("#ctl00_ContentPlaceHolder1_lblMessage::text").get()


def test_no_results_page_has_message_and_no_grid(client):
    resp = client.search("Atlantis")
    sel = Selector(resp.text)
    assert sel.css("title::text").get().strip() == "Property Address Search Results"
    assert not sel.css("#ctl00_ContentPlaceHolder1_gvPropertyResults")
    assert sel.css("#ctl00_ContentPlaceHolder1_lblMessage::text").get()


def test_nobot_too_soon_is_refused_and_fast_mode_allows_it(replica_factory):
    slow = replica_factory(fast=False, nobot_min_delay=0.5)
    client = Client(slow.env["CTJUD_BASE_URL"])
    assert not grid_rows(client.search("ton").text)  # posted at once: too soon
    client.search_form()
    data = client.search_data("ton")
    time.sleep(0.6)
    assert grid_rows(client.post(SEARCH, data).text)
    fast = replica_factory(fast=True)
    assert grid_rows(Client(fast.env["CTJUD_BASE_URL"]).search("ton").text)


def test_nobot_too_many_postbacks_is_refused(replica_factory):
    strict = replica_factory(fast=False, nobot_min_delay=0, nobot_max_instances=2)
    results = [
        bool(grid_rows(Client(strict.env["CTJUD_BASE_URL"]).search("ton").text))
        for _ in range(3)
    ]
    assert results == [True, True, False]


def test_load_docket_redirects_to_compact_case_page(replica, client):
    case = replica.truth()[0]
    resp = client.get(
        f"LoadDocket.aspx?DocketNo={case['docket_display']}", allow_redirects=False
    )
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(
        f"CaseDetail/PublicCaseDetail.aspx?DocketNo={case['docket_no']}"
    )
    page = client.get(f"LoadDocket.aspx?DocketNo={case['docket_display']}")
    assert page.status_code == 200
    assert Selector(page.text).css("title::text").get().strip() == (
        f"Case Detail - {dockets.header_form(case['docket_no'])}"
    )


def test_case_page_without_session_redirects_to_error_page(replica, client):
    docket = replica.truth()[0]["docket_no"]
    resp = client.get(
        f"CaseDetail/PublicCaseDetail.aspx?DocketNo={docket}", allow_redirects=False
    )
    assert resp.status_code == 302
    assert "ErrorPage.aspx" in resp.headers["Location"]


def test_unknown_docket_goes_to_error_page(client):
    resp = client.get(
        "LoadDocket.aspx?DocketNo=HHD-CV-99-9999999-S", allow_redirects=False
    )
    assert resp.status_code == 302 and "ErrorPage.aspx" in resp.headers["Location"]
    assert client.get("LoadDocket.aspx?DocketNo=HHD-CV-99-9999999-S").status_code == 200


def test_fast_mode_allows_many_quick_postbacks(replica):
    base = replica.env["CTJUD_BASE_URL"]
    assert all(grid_rows(Client(base).search("ton").text) for _ in range(7))


def test_abbreviated_towns_option(replica_factory):
    replica = replica_factory(
        cases=400, towns=("East Hartford",), abbreviate_towns=True
    )
    truth = replica.truth(town="East Hartford", listing_only=True)
    abbreviated = {
        t["docket_display"] for t in truth if t["listing_town"] == "E. HARTFORD"
    }
    assert abbreviated and len(abbreviated) < len(truth)
    base = replica.env["CTJUD_BASE_URL"]
    by_base_name = {
        r["docket"] for r in grid_rows(Client(base).search("Hartford").text)
    }
    by_full_name = {
        r["docket"] for r in grid_rows(Client(base).search("East Hartford").text)
    }
    active = {
        t["docket_display"]
        for t in truth
        if t["is_active"] and t["property_type"] == "Residential"
    }
    assert abbreviated & active <= by_base_name
    assert not abbreviated & by_full_name  # the substring rule misses "E. HARTFORD"


@pytest.mark.parametrize(
    "page,links",
    [
        (1, ["2", "3", "4", "5", "6", "7", "8", "9", "10", "..."]),
        (11, ["...", "12", "13", "14", "15", "16", "17"]),
    ],
)
def test_pager_beyond_ten_pages_uses_ellipsis(page, links):
    from tests.replica.results_page import _pager, pager_arguments

    sel = Selector(_pager(page, 17))
    assert sel.css("a::text").getall() == links
    assert sel.css("span::text").getall() == [str(page)]
    args = pager_arguments(page, 17)
    if page == 1:
        assert "Page$11" in args and "Page$12" not in args
    else:
        assert "Page$10" in args and "Page$9" not in args


def test_post_without_submit_button_shows_the_form_again(client):
    client.search_form()
    data = client.search_data("Hartford")
    del data["ctl00$ContentPlaceHolder1$btnSubmit"]
    resp = client.post(SEARCH, data, allow_redirects=False)
    assert resp.status_code == 200
    assert not grid_rows(resp.text)
    assert (
        Selector(resp.text)
        .css("#ctl00_ContentPlaceHolder1_txtCityTown::attr(value)")
        .get()
        == "Hartford"
    )
