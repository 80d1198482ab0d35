"""The replica's pages have the structure of the real captures.

Compared programmatically against the scrubbed captures in tests/fixtures/judiciary/
(same markup as the originals): element ids in document order (grid row numbers
normalised), classes, grid columns and cell attributes, pager markup, hidden fields,
and the case page's sections in order.
"""

from __future__ import annotations

import re

import lxml.html
import pytest

from tests.conftest import fixture_path

from .client import Client

ROW_NUMBER = re.compile(r"(gv[A-Za-z]+)_ctl\d+")


def _doc(html: str):
    return lxml.html.fromstring(html)


def _ids(html: str) -> list[str]:
    """Return element ids in document order (row numbers normalised), once each."""
    seen, out = set(), []
    for el in _doc(html).iter():
        ident = el.get("id")
        if ident:
            norm = ROW_NUMBER.sub(r"\1_ctlNN", ident)
            if norm not in seen:
                seen.add(norm)
                out.append(norm)
    return out


def _classes(html: str) -> set[str]:
    return {c for el in _doc(html).iter() for c in (el.get("class") or "").split()}


def _hidden(html: str) -> list[str]:
    return [
        i.get("name") for i in _doc(html).iter("input") if i.get("type") == "hidden"
    ]


def _grid(html: str):
    return _doc(html).get_element_by_id("ctl00_ContentPlaceHolder1_gvPropertyResults")


def _cells(row) -> list[tuple]:
    return [(c.tag, c.get("align"), c.get("style"), c.get("scope")) for c in row]


def _pager_shape(row) -> str:
    html = lxml.html.tostring(row, encoding="unicode")
    return re.sub(r"\d+", "N", re.sub(r"\s+", "", html))


def _fixture(name: str) -> str:
    return fixture_path(f"judiciary/{name}").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pages():
    """A one-page and a multi-page results page, and a case page, from one replica."""
    from tests.replica.server import ReplicaServer

    with ReplicaServer(
        cases=450, towns=("Hartford", "East Hartford", "Middletown")
    ) as r:
        client = Client(r.env["CTJUD_BASE_URL"])
        one = client.search("Middletown").text
        many = client.search("Hartford").text
        docket = r.truth(town="Middletown")[0]["docket_display"]
        case = client.get(f"LoadDocket.aspx?DocketNo={docket}").text
        yield {"one": one, "many": many, "case": case}


@pytest.mark.parametrize(
    "page,capture",
    [
        ("one", "results__middletown_2025-07-16.html"),
        ("many", "results__hartford_page1of2_2025-09-16.html"),
    ],
)
def test_results_page_ids_and_classes_match_capture(pages, page, capture):
    real = _fixture(capture)
    assert _ids(pages[page]) == _ids(real)
    assert _classes(pages[page]) == _classes(real)
    assert _hidden(pages[page]) == _hidden(real)


def test_results_grid_columns_and_cells_match_capture(pages):
    real = _grid(_fixture("results__middletown_2025-07-16.html"))
    mine = _grid(pages["one"])
    for attr in ("class", "cellspacing", "cellpadding", "border", "style"):
        assert mine.get(attr) == real.get(attr), attr
    real_rows, my_rows = real.findall(".//tr"), mine.findall(".//tr")
    assert _cells(my_rows[0]) == _cells(real_rows[0])  # header: 7 th in order
    assert [th.text for th in my_rows[0]] == [th.text for th in real_rows[0]]
    assert _cells(my_rows[1]) == _cells(real_rows[1])  # a data row's 7 cells
    assert [r.get("class") for r in my_rows[1:4]] == ["grdRow", "grdRowAlt", "grdRow"]


def test_results_pager_markup_matches_capture(pages):
    real_rows = [
        r
        for r in _grid(_fixture("results__hartford_page1of2_2025-09-16.html")).findall(
            ".//tr"
        )
        if r.get("class") == "grdBorder"
    ]
    my_rows = [
        r
        for r in _grid(pages["many"]).findall(".//tr")
        if r.get("class") == "grdBorder"
    ]
    assert len(my_rows) == len(real_rows) == 2
    assert _pager_shape(my_rows[0]) == _pager_shape(real_rows[0])
    assert _pager_shape(my_rows[1]) == _pager_shape(real_rows[1])


def test_results_page_master_chrome_matches_capture(pages):
    real, mine = (
        _doc(_fixture("results__middletown_2025-07-16.html")),
        _doc(pages["one"]),
    )
    assert mine.findtext("head/title").strip() == real.findtext("head/title").strip()
    assert (
        mine.get_element_by_id("aspnetForm").get("action")
        == "PropertyAddressSearchResults.aspx"
    )
    assert len(mine.findall(".//script")) == len(real.findall(".//script"))
    assert mine.get_element_by_id("__VIEWSTATEGENERATOR").get("value") == "E8A7F0DB"


def test_case_page_matches_capture_plus_property_address(pages):
    real = _fixture("case_detail__hhdcv226160660s.html")
    mine_ids, real_ids = _ids(pages["case"]), _ids(real)
    extra = [i for i in mine_ids if i not in real_ids]
    assert extra == [
        "ctl00_ContentPlaceHolder1_CaseDetailBasicInfo1_PropAddressRow",
        "ctl00_ContentPlaceHolder1_CaseDetailBasicInfo1_lblPropertyAddressTitle",
        "ctl00_ContentPlaceHolder1_CaseDetailBasicInfo1_lblPropertyAddress",
    ]
    # Every id of the capture that a foreclosure page can have, in the same order.
    optional = {"lblDocumentText", "imgPaperless", "lblNonAppearing", "gvAttyInfo"}
    missing = [i for i in real_ids if i not in mine_ids]
    assert all(any(o in i for o in optional) for i in missing), missing
    common = [i for i in mine_ids if i in real_ids]
    assert common == [i for i in real_ids if i in mine_ids]
    assert _classes(pages["case"]) <= _classes(real)


def test_case_page_sections_in_capture_order(pages):
    anchors = re.compile(r'<a name="(\w+)"></a>')
    real = anchors.findall(_fixture("case_detail__hhdcv226160660s.html"))
    assert anchors.findall(pages["case"]) == real
    assert real == ["BasicInfo", "Parties", "Documents", "Companions", "Schedule"]


@pytest.mark.parametrize(
    "grid",
    [
        "ctl00_ContentPlaceHolder1_CaseDetailParties1_gvParties",
        "ctl00_ContentPlaceHolder1_CaseDetailDocuments1_gvDocuments",
        "ctl00_ContentPlaceHolder1_CaseDetailEdisonSchedule1_gvCourtDates",
    ],
)
def test_case_page_grids_match_capture(pages, grid):
    real = _doc(_fixture("case_detail__hhdcv226160660s.html")).get_element_by_id(grid)
    mine = _doc(pages["case"]).get_element_by_id(grid)
    for attr in ("class", "cellspacing", "cellpadding", "border", "style", "rules"):
        assert mine.get(attr) == real.get(attr), attr
    real_head, my_head = real.find(".//tr"), mine.find(".//tr")
    assert lxml.html.tostring(my_head) == lxml.html.tostring(real_head)
    real_row, my_row = real.findall(".//tr")[1], mine.findall(".//tr")[1]
    assert _cells(my_row) == _cells(real_row)
