"""The State Library towns parser on every known layout; the 169/8 acceptance rule."""

from __future__ import annotations

import pytest

from ctforeclosure import towns
from ctforeclosure.parsers.statelib import check_towns, parse_towns
from tests.conftest import fixture_path, fixture_response

BUNDLED = {(t.name, t.county) for t in towns.all_towns()}


def _pairs(rows: list[dict]) -> set[tuple[str, str]]:
    return {(r["town"], r["county"]) for r in rows}


@pytest.mark.parametrize("layout", ["table", "entries"])
def test_parse_towns_reads_all_169_towns_of_a_full_layout(layout):
    rows = parse_towns(fixture_response(f"statelib/towns__{layout}.html"))
    assert len(rows) == 169
    assert _pairs(rows) == BUNDLED
    ok, differences = check_towns(rows)
    assert ok, differences.describe()
    assert differences.counts() == {
        "found": 169,
        "missing": 0,
        "extra": 0,
        "wrong_county": 0,
        "counties": 8,
    }


def test_parse_towns_accepts_text_and_bytes():
    raw = fixture_path("statelib/towns__table.html").read_bytes()
    assert parse_towns(raw) == parse_towns(raw.decode("utf-8"))
    assert len(parse_towns(raw)) == 169


def test_parse_towns_entries_ignore_the_notes():
    rows = parse_towns(fixture_path("statelib/towns__entries.html").read_text())
    east_windsor = [r for r in rows if r["town"] == "East Windsor"]
    assert east_windsor == [
        {"town": "East Windsor", "county": "Hartford", "planning_region": None}
    ]
    # "Parent town: Windsor." and the library's own Hartford address add nothing.
    assert sum(r["town"] == "Windsor" for r in rows) == 1
    assert not any("Capitol" in r["town"] for r in rows)


def test_parse_towns_partial_lists_reads_only_the_loaded_boxes():
    rows = parse_towns(fixture_response("statelib/towns__partial_lists.html"))
    assert {r["county"] for r in rows} == {"Tolland", "Windham"}
    assert len(rows) == 13 + 15
    assert _pairs(rows) <= BUNDLED
    # The nav and footer lists (Home, Hours, Contact Us) are not towns.
    assert not {"Home", "Hours", "Contact Us"} & {r["town"] for r in rows}


def test_check_towns_refuses_the_partial_layout_naming_what_is_missing():
    rows = parse_towns(fixture_response("statelib/towns__partial_lists.html"))
    ok, differences = check_towns(rows)
    assert not ok
    assert differences.counts()["missing"] == 169 - 28
    assert "Hartford" in differences.missing
    assert "Vernon" not in differences.missing  # Tolland's box loaded
    assert differences.counties == ("Tolland", "Windham")
    assert "Andover" not in differences.missing
    assert "missing 141: Ansonia, Avon" in differences.describe()


def test_parse_towns_county_headings_with_lists():
    html = """<html><body>
    <h3>Hartford County</h3><ul><li>Avon (incorporated 1830)</li><li>Berlin</li></ul>
    <p><strong>Tolland County</strong></p><ul><li>Vernon - 1808</li></ul>
    <h3>Resources</h3><ul><li>Ask a Librarian</li></ul>
    </body></html>"""
    assert parse_towns(html) == [
        {"town": "Avon", "county": "Hartford", "planning_region": None},
        {"town": "Berlin", "county": "Hartford", "planning_region": None},
        {"town": "Vernon", "county": "Tolland", "planning_region": None},
    ]


def test_parse_towns_table_with_county_suffix_and_region_column():
    html = """<table>
    <tr><th>County</th><th>Town</th><th>Planning Region</th></tr>
    <tr><td>Hartford County</td><td>Avon</td><td>Capitol Planning Region</td></tr>
    <tr><td>Nowhere County</td><td>Atlantis</td><td>-</td></tr>
    </table>"""
    assert parse_towns(html) == [
        {
            "town": "Avon",
            "county": "Hartford",
            "planning_region": "Capitol Planning Region",
        }
    ]


@pytest.mark.parametrize("html", ["", "   ", b"", "<html><body></body></html>"])
def test_parse_towns_empty_page_yields_nothing(html):
    assert parse_towns(html) == []


def _bundled_rows() -> list[dict]:
    return [
        {"town": t.name, "county": t.county, "planning_region": None}
        for t in towns.all_towns()
    ]


def test_check_towns_names_a_town_in_a_different_county():
    rows = _bundled_rows()
    for row in rows:
        if row["town"] == "Bristol":
            row["county"] = "Litchfield"
    ok, differences = check_towns(rows)
    assert not ok
    assert differences.wrong_county == (("Bristol", "Litchfield", "Hartford"),)
    assert "Bristol (Litchfield County, bundled Hartford County)" in (
        differences.describe()
    )


def test_check_towns_names_missing_and_extra_towns():
    rows = [r for r in _bundled_rows() if r["town"] != "Kent"]
    rows.append({"town": "Springfield", "county": "Hartford", "planning_region": None})
    ok, differences = check_towns(rows)
    assert not ok
    assert differences.missing == ("Kent",)
    assert differences.extra == ("Springfield",)
    assert differences.counts()["found"] == 169


def test_check_towns_refuses_168_towns():
    ok, differences = check_towns(_bundled_rows()[1:])
    assert not ok
    assert differences.missing == ("Andover",)


def test_check_towns_refuses_towns_in_fewer_than_8_counties():
    rows = [r for r in _bundled_rows() if r["county"] != "Windham"]
    ok, differences = check_towns(rows)
    assert not ok
    assert len(differences.counties) == 7
    assert len(differences.missing) == 15


def test_check_towns_accepts_the_bundled_list_in_any_case():
    rows = _bundled_rows()
    for row in rows:
        row["town"] = row["town"].upper()
    ok, _ = check_towns(rows)
    assert ok


@pytest.mark.parametrize(
    "hostile",
    [
        "\x1b",  # a control character in the text: was ValueError from lxml
        '<?xml version="1.0" encoding="utf-8"?>\n',  # was ValueError from lxml
        "\ud800",  # a lone surrogate: was UnicodeEncodeError
    ],
    ids=["control-character", "xml-declaration", "surrogate"],
)
def test_parse_towns_reads_a_page_with_hostile_characters(hostile):
    text = fixture_path("statelib/towns__table.html").read_text(encoding="utf-8")
    rows = parse_towns(hostile + text)
    assert check_towns(rows)[0]


@pytest.mark.parametrize("html", ["<!-- nothing -->", "<?xml version='1.0'?>"])
def test_parse_towns_page_without_elements_yields_nothing(html):
    # Was lxml's ParserError("Document is empty").
    assert parse_towns(html) == []
