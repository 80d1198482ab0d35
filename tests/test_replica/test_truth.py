"""Ground truth: what the pages show, with the project's field names; seeded."""

from __future__ import annotations

from dataclasses import fields

import pytest
from parsel import Selector

from ctforeclosure import dockets
from ctforeclosure.items import CaseItem
from tests.replica.data import Dataset
from tests.replica.truth import truth

from .client import Client, grid_rows

SAMPLE_TOWNS = ("Hartford", "Middletown", "Bridgeport", "New Haven")


def test_truth_uses_case_item_field_names(replica):
    row = replica.truth()[0]
    names = {f.name for f in fields(CaseItem)}
    assert set(row) <= names
    assert {"docket_no", "search_town", "listing_street", "parties", "law_day"} <= set(
        row
    )
    assert row["docket_no"] == dockets.compact(row["docket_no"])
    assert row["docket_display"] == dockets.dashed(row["docket_no"])


@pytest.mark.parametrize("town", SAMPLE_TOWNS)
def test_truth_matches_grid_rows_for_town(replica, town):
    client = Client(replica.env["CTJUD_BASE_URL"])
    rows = grid_rows(
        client.search(
            town, property_type="All Properties", case_status="All Cases"
        ).text
    )
    exact = {r["docket"]: r for r in rows if r["town"] == town.upper()}
    expected = replica.truth(town=town)
    assert expected, f"seed 0 should give {town} cases"
    assert {t["docket_display"] for t in expected} == set(exact)
    for t in expected:
        row = exact[t["docket_display"]]
        assert row["street"] == t["listing_street"]
        assert row["zip"] == t["listing_zip"]
        assert row["case_name"] == t["case_name"]
        assert row["property_type"] == t["property_type"]
        assert (row["disposition"] or None) == t["listing_disposition"]


def test_truth_matches_case_page(replica):
    client = Client(replica.env["CTJUD_BASE_URL"])
    for t in replica.truth(town="Hartford")[:5]:
        page = client.get(f"LoadDocket.aspx?DocketNo={t['docket_display']}")
        sel = Selector(page.text)
        names = [
            s.strip() for s in sel.css("span[id$='_lblPtyPartyName']::text").getall()
        ]
        assert names == [p["name"] for p in t["parties"]]
        grid = "#ctl00_ContentPlaceHolder1_CaseDetailDocuments1_gvDocuments"
        descriptions = sel.css(f"{grid} a[id$='_hlnkDocument']::text").getall()
        assert descriptions == [d["description"] for d in t["docket_entries"]]
        address = sel.css("span[id$='_lblPropertyAddress']::text").get().strip()
        assert address == t["property_address_raw"]
        assert t["property_town"] == "Hartford"


def test_truth_filters_on_exact_town_and_county(replica):
    assert {t["search_town"] for t in replica.truth(town="Hartford")} == {"Hartford"}
    assert {t["county"] for t in replica.truth(county="Middlesex")} == {"Middlesex"}


def test_same_seed_gives_identical_data():
    a = truth(Dataset(seed=7, cases=200))
    b = truth(Dataset(seed=7, cases=200))
    c = truth(Dataset(seed=8, cases=200))
    assert a == b
    assert a != c


def test_generator_spreads_cases_over_towns_by_size():
    data = Dataset(seed=1, cases=5000)
    per_town: dict[str, int] = {}
    for case in data.cases.values():
        per_town[case.town.name] = per_town.get(case.town.name, 0) + 1
    assert len(per_town) >= 160  # nearly all 169 towns
    assert per_town["Hartford"] > 5 * per_town.get("Union", 0)
    assert len({c.docket_no for c in data.cases.values()}) == 5000


def test_generator_produces_dirty_data():
    data = Dataset(seed=0, cases=3000)
    cases = list(data.cases.values())
    zips = {c.zip for c in cases}
    assert {"00000", "06"} <= zips
    assert any(c.street_lines[0] == "See Clerk's Note" for c in cases)
    assert any(c.street_lines[1] for c in cases)
    assert any(
        len(c.plaintiff) > 50 and len(c.case_name.split(" v. ")[0]) == 50 for c in cases
    )
    assert any("&" in c.case_name for c in cases)


def test_ampersand_is_escaped_in_grid(replica):
    case = next(t for t in replica.truth(listing_only=True) if "&" in t["case_name"])
    text = (
        Client(replica.env["CTJUD_BASE_URL"])
        .search(
            case["search_town"], property_type="All Properties", case_status="All Cases"
        )
        .text
    )
    grid = text.split('id="ctl00_ContentPlaceHolder1_gvPropertyResults"')[1]
    assert case["case_name"].replace("&", "&amp;") in grid
    assert case["case_name"] not in grid


def test_every_case_is_found_by_searching_its_own_town():
    from tests.replica.towns import load_towns

    data = Dataset(seed=9, cases=500)
    found: list[str] = []
    for town in load_towns():
        rows = data.search(town.name, active_only=False, residential_only=False)
        found += [c.docket_no for c in rows if c.listing_town == town.name.upper()]
    assert sorted(found) == sorted(data.cases)  # every case exactly once
