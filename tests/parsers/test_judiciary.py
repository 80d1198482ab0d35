"""The judiciary parsers on the scrubbed real captures and the replica's search form."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest

from ctforeclosure import dockets
from ctforeclosure.parsers import judiciary as j
from ctforeclosure.parsers.address import FLAG_UNPARSED, split_address
from tests.conftest import fixture_path

RESULTS = {
    "results__middletown_2025-07-12.html": (84, 84, []),
    "results__middletown_2025-07-16.html": (83, 83, []),
    "results__hartford_page1of2_2025-09-16.html": (200, 343, [2]),
}
CASE = "judiciary/case_detail__hhdcv226160660s.html"


def _page(name: str) -> str:
    return fixture_path(name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def case() -> dict:
    return j.parse_case(_page(CASE))


@pytest.mark.parametrize(("name", "expected"), RESULTS.items())
def test_parse_results_reads_every_row_records_and_pager(name, expected):
    rows, total, pages = expected
    page = j.parse_results(_page(f"judiciary/{name}"))
    assert len(page.rows) == rows
    assert (page.first, page.last, page.total) == (1, rows, total)
    assert page.page_numbers == pages
    assert page.current_page == 1
    assert page.next_page == (2 if pages else None)
    assert not page.empty


@pytest.mark.parametrize("name", RESULTS)
def test_parse_results_rows_hold_valid_compact_dockets_and_listing_fields(name):
    page = j.parse_results(_page(f"judiciary/{name}"))
    for row in page.rows:
        assert dockets.is_valid(row["docket_no"])
        assert row["docket_no"] == dockets.compact(row["docket_display"])
        assert re.fullmatch(r"[A-Z0-9]{3}-CV-\d\d-\d{7}-[A-Z]", row["docket_display"])
        assert " v. " in row["case_name"]
        assert row["property_type"] == "Residential"
        assert row["listing_disposition"] is None  # active cases: empty disposition
        assert row["paperless"] is True
        assert row["listing_street"]
    assert len({r["docket_no"] for r in page.rows}) == len(page.rows)


def test_parse_results_hartford_search_lists_east_hartford_too():
    page = j.parse_results(
        _page("judiciary/results__hartford_page1of2_2025-09-16.html")
    )
    assert Counter(r["listing_town"] for r in page.rows) == {
        "HARTFORD": 105,
        "EAST HARTFORD": 95,
    }


def test_parse_results_keeps_dirty_zips_and_clerk_notes_as_printed():
    rows = [
        r for name in RESULTS for r in j.parse_results(_page(f"judiciary/{name}")).rows
    ]
    zips = {r["listing_zip"] for r in rows}
    assert "00000" in zips
    assert any(len(z) < 5 for z in zips)  # truncated "06" / "060"
    assert "See Clerk's Note" in {r["listing_street"] for r in rows}
    assert any("\n" in r["listing_street"] for r in rows)  # second street line kept


def test_parse_results_case_names_keep_ampersands_and_50_char_cut():
    rows = [
        r for name in RESULTS for r in j.parse_results(_page(f"judiciary/{name}")).rows
    ]
    sides = [s for r in rows for s in r["case_name"].split(" v. ")]
    assert max(len(s) for s in sides) == 50
    assert not any("&amp;" in r["case_name"] for r in rows)


def test_parse_grid_rows_fragment_matches_the_full_page_of_the_same_day():
    fragment = j.parse_grid_rows(
        _page("judiciary/results_fragment__middletown_2025-07-16.html")
    )
    page = j.parse_results(_page("judiciary/results__middletown_2025-07-16.html"))
    assert len(fragment) == 83
    assert fragment == page.rows


def test_parse_results_without_grid_or_message_is_a_layout_change():
    text = _page("judiciary/results__middletown_2025-07-16.html")
    renamed = text.replace("gvPropertyResults", "gvPropertyResultsNew")
    with pytest.raises(j.LayoutChanged, match="no results grid"):
        j.parse_results(renamed, url="http://example/results")


def test_parse_results_grid_without_rows_but_records_is_a_layout_change():
    text = _page("judiciary/results__middletown_2025-07-16.html")
    no_rows = re.sub(r'class="grdRow(Alt)?"', 'class="dataRow"', text)
    with pytest.raises(j.LayoutChanged, match="no rows but Records says 83"):
        j.parse_results(no_rows)


def test_parse_results_message_without_grid_is_an_empty_result():
    text = _page("judiciary/results__middletown_2025-07-16.html")
    start = text.index('<table class="grdBorder"')
    end = text.index("</table>", text.index("ctl85_lblDisposition")) + len("</table>")
    empty = (text[:start] + text[end:]).replace(
        '<span id="ctl00_ContentPlaceHolder1_lblMessage"></span>',
        '<span id="ctl00_ContentPlaceHolder1_lblMessage">No records found.</span>',
    )
    empty = empty.replace(">1-83 of 83<", "><")
    page = j.parse_results(empty)
    assert page.empty
    assert page.rows == []
    assert page.message == "No records found."


def test_parse_results_records_tolerates_thousands_separators():
    text = _page("judiciary/results__hartford_page1of2_2025-09-16.html")
    page = j.parse_results(text.replace(">1-200 of 343<", ">1 - 200 of 2,196<"))
    assert page.total == 2196


def _replica_form() -> str:
    from tests.replica.app import PREFIXES, create_app
    from tests.replica.options import ReplicaOptions

    client = create_app(ReplicaOptions(cases=5, fast=True)).test_client()
    return client.get(PREFIXES["judiciary"] + "/PropertyAddressSearch.aspx").text


def test_read_search_page_results_carry_the_form_only_when_a_page_follows():
    hartford = j.read_search_page(
        _page("judiciary/results__hartford_page1of2_2025-09-16.html")
    )
    assert isinstance(hartford, j.ResultsPage)
    assert (len(hartford.rows), hartford.total, hartford.next_page) == (200, 343, 2)
    assert hartford.form.nobot_field.endswith(j.NOBOT_FIELD_SUFFIX)
    assert hartford.form.nobot_answer == j.nobot_answer(hartford.form.challenge)
    assert hartford.form.element.get("id") == "aspnetForm"
    last = j.read_search_page(_page("judiciary/results__middletown_2025-07-12.html"))
    assert isinstance(last, j.ResultsPage)
    assert (len(last.rows), last.next_page, last.form) == (84, None, None)


def test_read_search_page_tells_a_form_a_cut_page_an_error_and_a_redesign():
    form = j.read_search_page(_replica_form(), url="http://example/search")
    assert isinstance(form, j.SearchForm) and form.complete
    assert form.challenge and form.town_field
    cut_form = j.read_search_page(_replica_form()[:-2000])
    assert isinstance(cut_form, j.SearchForm) and not cut_form.complete
    text = _page("judiciary/results__middletown_2025-07-16.html")
    assert j.read_search_page(text[:-2000], url="u") == j.CutPage("u")
    error = "<html><head><title>Error</title></head><body>x</body></html>"
    assert j.read_search_page(error, url="u") == j.SiteError("", "u")
    renamed = text.replace("gvPropertyResults", "gvPropertyResultsNew")
    assert j.read_search_page(renamed, url="u") == j.LayoutChange(
        "no results grid and no message", "u", "results"
    )
    case = j.read_search_page(_page(CASE))
    assert isinstance(case, j.LayoutChange) and case.kind == "case"
    assert case.reason == "a 'case' page where results were expected"


def test_page_kind_from_titles():
    assert j.page_kind(_page("judiciary/results__middletown_2025-07-12.html")) == (
        "results"
    )
    assert j.page_kind(_page(CASE)) == "case"
    assert j.page_kind("<html><head><title>Oops</title></head></html>") == "unknown"


@pytest.mark.parametrize(
    ("challenge", "answer"),
    [
        ("~197", "-198"),
        ("~986", "-987"),
        ("~535", "-536"),
        ("~678", "-679"),
        ("~0", "-1"),
    ],
)
def test_nobot_answer_matches_the_captured_pairs(challenge, answer):
    assert j.nobot_answer(challenge) == answer


def test_nobot_answer_refuses_an_unknown_challenge_form():
    assert j.nobot_answer("(function(){return 3*4-5;})()") is None
    assert j.nobot_answer(None) is None


@pytest.mark.parametrize("name", [*RESULTS, "case_detail__hhdcv226160660s.html"])
def test_parse_challenge_reads_each_captures_script(name):
    text = _page(f"judiciary/{name}")
    challenge = j.parse_challenge(text)
    assert re.fullmatch(r"~\d{1,3}", challenge)
    # The browser that saved the page filled the field with the same answer.
    filled = re.search(r'NoBotExtender_ClientState" value="(-?\d+)"', text)
    assert filled and filled.group(1) == j.nobot_answer(challenge)


def test_parse_search_form_reads_the_replica_form():
    from tests.replica.app import PREFIXES, create_app
    from tests.replica.options import ReplicaOptions

    client = create_app(ReplicaOptions(cases=5, fast=True)).test_client()
    text = client.get(PREFIXES["judiciary"] + "/PropertyAddressSearch.aspx").text
    form = j.parse_search_form(text)
    assert j.page_kind(text) == "search"
    assert {"__VIEWSTATE", "__EVENTVALIDATION", "__VIEWSTATEGENERATOR"} <= set(
        form.hidden
    )
    assert form.town_field == "ctl00$ContentPlaceHolder1$txtCityTown"
    assert form.nobot_field.endswith("NoBot_NoBotExtender_ClientState")
    assert form.nobot_answer == str(~int(form.challenge[1:]))
    assert form.option_value("ddlCaseStatus", "All Cases")
    assert form.option_value("ddlPropertyType", "residential properties")
    with pytest.raises(j.LayoutChanged, match="offers no option"):
        form.option_value("ddlCaseStatus", "Closed Cases")
    assert form.message == ""


def test_parse_case_header_and_basic_information(case):
    assert case["docket_no"] == "HHDCV226160660S"
    assert case["caption"].endswith(" Et Al") and " v. " in case["caption"]
    assert case["prefix"] == "HD2"
    assert (case["case_type_code"], case["case_type"]) == (
        "T28",
        "Torts - Malpractice - Medical",
    )
    assert case["file_date"] == date(2022, 9, 19)
    assert case["return_date"] == date(2022, 10, 4)
    assert case["court_location"] == "HARTFORD JD"
    assert case["list_type"] == "JURY (JY)"
    assert case["last_action_date"] == date(2025, 12, 22)
    assert case["disposition_date"] == date(2025, 12, 1)
    assert case["disposition"] == "SUMMARY JUDGMENT-DEFENDANT"
    assert case["disposition_judge"].startswith("HON ")
    assert case["information_updated"] == date(2026, 6, 27)
    # Not a foreclosure: the page has no property address row.
    assert case["property_address_raw"] is None
    assert case["flags"] == []


def test_parse_case_reads_all_five_parties(case):
    parties = case["parties"]
    assert [p.party_no for p in parties] == ["P-01", "P-02", "D-01", "D-02", "L-01"]
    assert [p.role for p in parties] == ["P", "P", "D", "D", "L"]
    assert [p.category for p in parties] == [
        "Plaintiff",
        "Plaintiff",
        "Defendant",
        "Defendant",
        "For Notice Only or Proposed Intervenor",
    ]
    assert [p.non_appearing for p in parties] == [False] * 4 + [True]
    assert parties[3].name == "TRINITY HEALTH OF NEW ENGLAND CORPORATION, INC."
    assert parties[4].appearances == []
    first = parties[0].appearances
    assert len(first) == 1
    assert re.fullmatch(r"\d{6}", first[0].juris_no)
    assert first[0].attorney.endswith("LAW LLC")
    assert first[0].address.endswith(", GLASTONBURY, CT 06033")
    assert first[0].file_date == date(2022, 9, 19)
    assert first[0].efiled is True
    assert "SUITE 310" in parties[2].appearances[0].address


def test_parse_case_reads_all_101_docket_entries(case):
    entries = case["docket_entries"]
    assert len(entries) == 101
    assert entries[0].description == "SUMMONS" and entries[0].entry_no is None
    assert entries[0].document_no and entries[0].file_date == date(2022, 9, 19)
    assert {e.filed_by for e in entries} == {"P", "D", "C"}
    assert {e.arguable for e in entries} <= {"Yes", "No", None}
    assert any(e.entry_no == "100.30" for e in entries)
    order = next(e for e in entries if e.entry_no == "104.10")
    assert order.description == "ORDER"
    assert order.result.startswith("Order 2/3/2023 HON ")
    assert not any((e.result or "").startswith("RESULT") for e in entries)
    last = entries[-1]
    assert (last.entry_no, last.description) == ("167.00", "APPEAL TO APPELLATE COURT")
    assert last.add_desc == "APPELLATE COURT DOCKET #49453"
    # An entry with no viewable document still has its description.
    text_only = [e for e in entries if e.document_no is None]
    assert text_only and all(e.description for e in text_only)
    assert any(e.notes and "Last Updated" in e.notes for e in entries)


def test_parse_case_empty_schedule_has_no_court_dates(case):
    assert case["court_dates"] == []


def test_parse_case_reads_a_populated_schedule():
    text = _page(CASE)
    start = text.index("No Events Scheduled")
    row_start = text.rfind("<tr", 0, start)
    row_end = text.index("</tr>", start) + len("</tr>")
    populated = (
        text[:row_start]
        + "<tr><td>1</td><td>07/31/2026</td><td>9:00AM</td>"
        + "<td>Remote Mediation</td><td>Proceeding</td></tr>"
        + text[row_end:]
    )
    dates = j.parse_case(populated)["court_dates"]
    assert len(dates) == 1
    assert dates[0].court_date == date(2026, 7, 31)
    assert (dates[0].court_time, dates[0].description, dates[0].status) == (
        "9:00AM",
        "Remote Mediation",
        "Proceeding",
    )


@pytest.mark.parametrize(
    "section", ["CaseDetailParties1_gvParties", "CaseDetailDocuments1_gvDocuments"]
)
def test_parse_case_missing_section_is_a_layout_change(section):
    text = _page(CASE).replace(section, section + "X")
    with pytest.raises(j.LayoutChanged, match="has no"):
        j.parse_case(text, url="http://example/case")


def test_parse_case_property_address_split_and_unparsed_flag():
    text = _page(CASE)
    row = (
        '<tr id="ctl00_ContentPlaceHolder1_CaseDetailBasicInfo1_PropAddressRow"><td>'
        '<span id="ctl00_ContentPlaceHolder1_CaseDetailBasicInfo1_lblPropertyAddress">'
        "&nbsp;&nbsp;{}</span></td></tr>"
    )
    anchor = text.index(j.BASIC + "lblBasicListTypeTitle")
    anchor = text.rfind("<tr", 0, anchor)

    def with_address(address: str) -> dict:
        return j.parse_case(text[:anchor] + row.format(address) + text[anchor:])

    parsed = with_address("1 Main St., Unit 5, MIDDLETOWN, CT 06457")
    assert parsed["property_street"] == "1 Main St."
    assert parsed["property_unit"] == "Unit 5"
    assert parsed["property_town"] == "Middletown"
    assert (parsed["property_state"], parsed["property_zip"]) == ("CT", "06457")
    assert parsed["flags"] == []
    clerk = with_address("See Clerk's Note, Middletown, CT 00000")
    assert clerk["property_address_raw"] == "See Clerk's Note, Middletown, CT 00000"
    assert clerk["property_street"] == "See Clerk's Note"  # as printed, not guessed
    assert clerk["property_town"] == "Middletown"
    assert clerk["flags"] == [FLAG_UNPARSED]
    free = with_address("somewhere behind the mill")
    assert free["property_address_raw"] == "somewhere behind the mill"
    assert free.get("property_street") is None
    assert free["flags"] == [FLAG_UNPARSED]


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        (
            "647 MINOR ST., MIDDLETOWN, CT 00000",
            ("647 MINOR ST.", None, "MIDDLETOWN", "00000"),
        ),
        ("12 Oak Rd, East Hartford, CT 06", ("12 Oak Rd", None, "East Hartford", "06")),
        (
            "#830 Bow Lane, Middletown, CT 06457",
            ("#830 Bow Lane", None, "Middletown", "06457"),
        ),
        (
            "50 Scotland Road, Unit 51, Parking Space P-51, Madison, CT 06443",
            ("50 Scotland Road", "Unit 51, Parking Space P-51", "Madison", "06443"),
        ),
    ],
)
def test_split_address_parts(raw, parts):
    address = split_address(raw)
    assert address.parsed and address.complete
    assert (address.street, address.unit, address.town, address.zip) == parts


@pytest.mark.parametrize(
    ("raw", "street", "parsed"),
    [
        ("See Clerk's Note, Middletown, CT 00000", "See Clerk's Note", True),
        ("Lakeside Ave., Parcel ID R08451, Danbury, CT 06810", "Lakeside Ave.", True),
        ("Lakeside Ave., Parcel ID R08451", None, False),
        ("Lot 4", None, False),
    ],
)
def test_split_address_flags_what_is_not_a_numbered_street(raw, street, parsed):
    address = split_address(raw)
    assert not address.complete
    assert address.parsed is parsed
    assert address.raw == raw
    assert address.street == street


# --- hostile pages: the minimal cases tests/parsers/test_hostile_pages.py found ------

HARTFORD = "judiciary/results__hartford_page1of2_2025-09-16.html"
FIRST_LINK = ">HHD-CV-24-6194967-S</a>"


@pytest.mark.parametrize(
    ("old", "new", "what"),
    [
        (FIRST_LINK, "></a>", "results row docket link ''"),  # was InvalidDocket
        (FIRST_LINK, ">HHD-CV-24-61</a>", "results row docket link 'HHD-CV-24-61'"),
        (">1-200 of 343<", ">,-, of ,<", "a count that is not a number: ','"),
        ("<span>1</span>", "<span>\u00b2</span>", "not a number: '\u00b2'"),  # "²"
    ],
    ids=["blank-docket", "short-docket", "commas-count", "superscript-page"],
)
def test_read_search_page_unreadable_row_or_count_is_a_layout_change(old, new, what):
    text = _page(HARTFORD).replace(old, new, 1)
    reply = j.read_search_page(text, url="u")
    assert isinstance(reply, j.LayoutChange) and reply.kind == "results"
    assert what in reply.reason
    with pytest.raises(j.LayoutChanged, match=re.escape(what)):
        j.parse_results(text)


XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


def test_read_search_page_reads_a_page_that_opens_with_an_xml_declaration():
    # Was AttributeError: parsel took the page for XML (no text_content()).
    page = j.read_search_page(XML_DECLARATION + _page(HARTFORD))
    assert isinstance(page, j.ResultsPage) and len(page.rows) == 200


def test_parse_case_reads_pages_with_a_declaration_a_nul_or_a_lone_surrogate():
    # Were ValueError (declaration) and UnicodeEncodeError (surrogate from a DOM).
    text = _page(CASE)
    for hostile in (
        XML_DECLARATION + text,
        text.replace("<body", "\x00<body", 1),
        text.replace("<body", "\ud800<body", 1),
    ):
        assert j.parse_case(hostile)["docket_no"] == "HHDCV226160660S"
    surrogate = _page(HARTFORD).replace("<body", "\ud800<body", 1)
    assert len(j.parse_results(surrogate).rows) == 200


@pytest.mark.parametrize("text", ["", "   ", "<!-- nothing -->"])
def test_parse_case_and_grid_rows_of_an_empty_page_are_layout_changes(text):
    # Were lxml's ParserError("Document is empty").
    with pytest.raises(j.LayoutChanged, match="no docket number"):
        j.parse_case(text)
    with pytest.raises(j.LayoutChanged, match="no results grid"):
        j.parse_grid_rows(text)


def test_read_search_page_of_a_binary_reply_is_a_layout_change():
    from scrapy.http import Response

    reply = j.read_search_page(Response("http://x/a.png", body=b"\x89PNG"), url="u")
    assert reply == j.LayoutChange("a reply that is not text", "u")
