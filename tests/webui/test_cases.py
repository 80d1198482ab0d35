"""The cases list (search, filters, sort, pages) and the case page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.webui.conftest import (
    DOCKET_HARTFORD,
    DOCKET_NEW_HAVEN,
    DOCKET_OLD,
    EMAIL,
    PHONE_OK,
    XSS_NAME,
)
from webui import queries


def _dockets(html: str) -> list[str]:
    return [
        d
        for d in (DOCKET_HARTFORD, DOCKET_NEW_HAVEN, DOCKET_OLD)
        if f"/cases/{d}" in html
    ]


@pytest.fixture
def viewer(as_role):
    return as_role("viewer")


@pytest.fixture
def manager(as_role):
    return as_role("manager")


def test_cases_list_shows_all_newest_first(viewer):
    html = viewer.get("/cases/").get_data(as_text=True)
    assert "3 cases" in html
    assert (
        html.index(DOCKET_HARTFORD)
        < html.index(DOCKET_NEW_HAVEN)
        < html.index(DOCKET_OLD)
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("town=Hartford", [DOCKET_HARTFORD, DOCKET_OLD]),
        ("town=hartfrod", [DOCKET_HARTFORD, DOCKET_OLD]),  # typo resolved
        ("county=New+Haven", [DOCKET_NEW_HAVEN]),
        ("status=disposed", [DOCKET_NEW_HAVEN]),
        ("status=active", [DOCKET_HARTFORD, DOCKET_OLD]),
        ("judgment_type=sale", [DOCKET_NEW_HAVEN]),
        ("filed_from=2020-01-01", [DOCKET_HARTFORD, DOCKET_NEW_HAVEN]),
        ("filed_to=2020-01-01", [DOCKET_OLD]),
        ("has_phones=1", [DOCKET_HARTFORD, DOCKET_NEW_HAVEN]),
        ("skip_traced=1", [DOCKET_HARTFORD, DOCKET_NEW_HAVEN]),
        ("q=HHD-CV-22-6160660-S", [DOCKET_HARTFORD]),
        ("q=poe", [DOCKET_OLD]),  # party name, any case
        ("q=chapel", [DOCKET_NEW_HAVEN]),  # address
        ("q=100%25", []),  # LIKE wildcard is literal
        ("q=doe", [DOCKET_HARTFORD]),  # case name and a party: the case once
        ("q=alert", [DOCKET_HARTFORD]),  # a party's name only
        ("q=alert&town=Hartford", [DOCKET_HARTFORD]),
        ("q=alert&town=New+Haven", []),
        ("q=alert&filed_from=2020-01-01", [DOCKET_HARTFORD]),
        ("q=alert&filed_to=2020-01-01", []),
        ("q=alert&county=Hartford", [DOCKET_HARTFORD]),
        ("q=hyperlink&status=disposed", [DOCKET_NEW_HAVEN]),
        ("q=hyperlink&status=active", []),
        ("q=chapel&status=active", []),
        ("q=chapel&skip_traced=1", [DOCKET_NEW_HAVEN]),  # a search within traced
        ("q=poe&skip_traced=1", []),
        ("q=chapel&has_phones=1", [DOCKET_NEW_HAVEN]),
    ],
)
def test_cases_list_filters(viewer, query, expected):
    html = viewer.get(f"/cases/?{query}").get_data(as_text=True)
    assert sorted(_dockets(html)) == sorted(expected)
    assert f"{len(expected)} cases" in html


def test_text_searches_in_one_process_each_use_their_own_words(viewer):
    """The search's compiled SQL is cached (reused): its words must not be."""
    for _ in range(2):
        for query, expected in (("poe", [DOCKET_OLD]), ("chapel", [DOCKET_NEW_HAVEN])):
            html = viewer.get(f"/cases/?q={query}").get_data(as_text=True)
            assert _dockets(html) == expected
        past_the_end = viewer.get("/cases/?q=poe&page=3").get_data(as_text=True)
        assert "1 cases" in past_the_end and _dockets(past_the_end) == []


def _in_page_order(html: str) -> list[str]:
    shown = _dockets(html)
    return sorted(shown, key=lambda d: html.index(f"/cases/{d}"))


def test_text_search_pages_follow_the_chosen_sort(viewer):
    """Every case name has "OE," (Doe, Roe, Poe): the matches, sorted by docket, paged
    two at a time."""
    first = viewer.get("/cases/?q=oe,&sort=docket&order=asc&per_page=2")
    html = first.get_data(as_text=True)
    assert _in_page_order(html) == [DOCKET_OLD, DOCKET_HARTFORD]
    assert "3 cases" in html and "Page 1 of 2" in html
    second = viewer.get("/cases/?q=oe,&sort=docket&order=asc&per_page=2&page=2")
    assert _dockets(second.get_data(as_text=True)) == [DOCKET_NEW_HAVEN]
    newest = viewer.get("/cases/?q=oe,").get_data(as_text=True)
    assert _in_page_order(newest) == [DOCKET_HARTFORD, DOCKET_NEW_HAVEN, DOCKET_OLD]


def test_a_search_too_short_to_look_up_says_so_instead_of_listing(viewer):
    """One or two letters match almost every name and no index can find them."""
    html = viewer.get("/cases/?q=oe").get_data(as_text=True)
    assert 'id="search-problem"' in html and "at least 3 characters" in html
    assert _dockets(html) == [] and "0 cases" in html
    # a short surname with its comma is long enough, and a docket is always
    assert _dockets(viewer.get("/cases/?q=poe,").get_data(as_text=True)) == [DOCKET_OLD]
    docket = viewer.get("/cases/?q=HHD-CV-22-6160660-S").get_data(as_text=True)
    assert 'id="search-problem"' not in docket and _dockets(docket) == [DOCKET_HARTFORD]


def test_cases_list_unknown_town_suggests_real_ones(viewer):
    html = viewer.get("/cases/?town=Hartfordshire").get_data(as_text=True)
    assert 'id="town-problem"' in html
    assert "Hartford" in html


def test_cases_list_sort_and_pagination_urls_are_shareable(viewer):
    response = viewer.get("/cases/?sort=docket&order=asc&per_page=2")
    html = response.get_data(as_text=True)
    assert _dockets(html) == [DOCKET_HARTFORD, DOCKET_OLD]
    assert "Page 1 of 2" in html
    assert "page=2" in html and "sort=docket" in html
    page2 = viewer.get("/cases/?sort=docket&order=asc&per_page=2&page=2")
    assert _dockets(page2.get_data(as_text=True)) == [DOCKET_NEW_HAVEN]


@pytest.mark.parametrize(
    "evil",
    [
        "'; DROP TABLE cases; --",
        "' OR '1'='1",
        '" OR 1=1 --',
        "%' UNION SELECT password_hash FROM users --",
    ],
)
def test_cases_search_sql_injection_strings_are_harmless(viewer, evil):
    response = viewer.get("/cases/", query_string={"q": evil})
    assert response.status_code == 200
    assert "0 cases" in response.get_data(as_text=True)
    assert "scrypt" not in response.get_data(as_text=True)
    # not a town, not a sort: refused by name, and nothing listed
    refused = viewer.get(
        "/cases/", query_string={"q": evil, "town": evil, "sort": evil}
    )
    assert refused.status_code == 400
    assert "0 cases" in refused.get_data(as_text=True)
    again = viewer.get("/cases/")
    assert "3 cases" in again.get_data(as_text=True)


def test_case_page_tells_the_whole_story(manager):
    html = manager.get(f"/cases/{DOCKET_HARTFORD}").get_data(as_text=True)
    assert "FIRST BANK v. DOE, JOHN Et Al" in html
    assert "12 Elm Street" in html
    assert "SUMMONS" in html and "COMPLAINT" in html
    assert "Foreclosure mediation" in html
    assert "law day" in html
    assert "(860) 555-0123" in html
    assert "555-0199" not in html  # flagged DNC: shown only when asked for
    assert "1 DNC/TCPA-flagged number not shown" in html
    assert EMAIL in html
    assert "http://127.0.0.1:9/jud/LoadDocket.aspx?DocketNo=HHD-CV-22-6160660-S" in html


def test_case_page_accepts_dashed_docket_and_redirects(viewer):
    response = viewer.get("/cases/HHD-CV-22-6160660-S")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{DOCKET_HARTFORD}")


def test_case_page_unknown_or_invalid_docket_is_404(viewer):
    assert viewer.get("/cases/HHDCV229999999S").status_code == 404
    assert viewer.get("/cases/not-a-docket").status_code == 404


def test_case_page_party_name_with_script_renders_escaped(viewer):
    html = viewer.get(f"/cases/{DOCKET_HARTFORD}").get_data(as_text=True)
    assert XSS_NAME not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Doe" in html


def test_case_page_viewer_sees_masked_phones_and_emails(viewer):
    html = viewer.get(f"/cases/{DOCKET_HARTFORD}").get_data(as_text=True)
    assert "555-0123" not in html and PHONE_OK not in html
    assert "(***) ***-**23" in html
    assert EMAIL not in html
    assert "j***@example.com" in html


def test_case_page_marks_sandbox_results(manager):
    html = manager.get(f"/cases/{DOCKET_NEW_HAVEN}").get_data(as_text=True)
    assert "sandbox" in html


def test_dashboard_shows_counts_upcoming_and_spend(viewer):
    html = viewer.get("/").get_data(as_text=True)
    assert "Hartford" in html and "New Haven" in html
    assert DOCKET_HARTFORD in html  # law day within 30 days
    assert DOCKET_NEW_HAVEN in html  # sale within 30 days
    assert "$0.25" in html  # live spend this month; sandbox not counted as spend
    assert "cases" in html


def test_towns_page_counts_cases_per_town_and_county(viewer):
    html = viewer.get("/towns/").get_data(as_text=True)
    assert "Tolland County" in html  # every county, even without cases
    assert 'href="/cases/?town=Hartford">2<' in html
    assert 'href="/cases/?county=New+Haven">1<' in html


def test_crawls_pages_list_and_show_runs(viewer):
    html = viewer.get("/crawls/").get_data(as_text=True)
    assert "finished" in html and 'href="/crawls/1"' in html
    detail = viewer.get("/crawls/1").get_data(as_text=True)
    assert "job-abc" in detail
    assert viewer.get("/crawls/99").status_code == 404


def test_skiptrace_page_shows_ledger(viewer):
    html = viewer.get("/skiptrace/").get_data(as_text=True)
    assert "$0.25" in html and "sandbox" in html


def test_cases_list_count_stops_at_the_cap_and_still_pages(viewer, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    html = viewer.get("/cases/?per_page=2").get_data(as_text=True)
    assert "2+ cases" in html
    assert "Page 1 of 1+" in html and "page=2" in html


@pytest.mark.parametrize("flag", ["has_phones", "skip_traced"])
def test_cases_list_traced_filters_page_newest_first(viewer, flag):
    first = viewer.get(f"/cases/?{flag}=1&per_page=1").get_data(as_text=True)
    second = viewer.get(f"/cases/?{flag}=1&per_page=1&page=2").get_data(as_text=True)
    third = viewer.get(f"/cases/?{flag}=1&per_page=1&page=3").get_data(as_text=True)
    assert _dockets(first) == [DOCKET_HARTFORD] and "2 cases" in first
    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert _dockets(second) == [DOCKET_NEW_HAVEN] and "Page 2 of 2" in second
    assert _dockets(third) == [] and "No cases match." in third


def test_cases_list_traced_filter_past_the_cap_still_pages(viewer, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 1)
    first = viewer.get("/cases/?has_phones=1&per_page=1").get_data(as_text=True)
    assert "1+ cases" in first and _dockets(first) == [DOCKET_HARTFORD]
    second = viewer.get("/cases/?has_phones=1&per_page=1&page=2")
    assert _dockets(second.get_data(as_text=True)) == [DOCKET_NEW_HAVEN]


def test_cases_table_unpacks_each_row_in_the_order_the_query_selects():
    """The list template unpacks rows by position (cheaper than attribute lookups):
    its names must be the list query's columns, in order, or cells would swap."""
    template = Path(queries.__file__).parent / "templates" / "cases" / "index.html"
    loop = re.search(r"{%\s*for ([\w\s,]+?) in rows %}", template.read_text())
    names = [n.strip() for n in loop[1].split(",")]
    assert names == [c.name for c in queries.LIST_COLUMNS]
