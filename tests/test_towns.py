"""Town normalisation: every spelling a user or the court's grid uses, and refusals."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ctforeclosure import towns
from ctforeclosure.towns import UnknownCounty, UnknownTown

CSV_PATH = Path(__file__).parents[1] / "ctforeclosure" / "data" / "ct_towns.csv"


def _csv_rows() -> list[dict]:
    with CSV_PATH.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _alias_cases() -> list[tuple[str, str]]:
    """Return (alias, town) for every alias in the CSV that names only one town."""
    owners: dict[str, list[str]] = {}
    for row in _csv_rows():
        for alias in filter(None, (a.strip() for a in row["aliases"].split(";"))):
            owners.setdefault(alias, []).append(row["town"])
    return [(alias, names[0]) for alias, names in owners.items() if len(names) == 1]


def _grid_style(name: str) -> list[str]:
    """Return the grid's spellings of a town: upper case, abbreviated direction."""
    upper = name.upper()
    spellings = [upper]
    first, _, rest = upper.partition(" ")
    short = {"EAST": "E.", "WEST": "W.", "NORTH": "N.", "SOUTH": "S."}
    if first in short and rest:
        spellings.append(f"{short[first]} {rest}")
        spellings.append(f"{short[first][0]} {rest}")
    if first == "NORTH" and rest:
        spellings.append(f"NO. {rest}")
    if first == "SOUTH" and rest:
        spellings.append(f"SO. {rest}")
    return spellings


def test_all_towns_are_169_in_8_counties():
    every = towns.all_towns()
    assert len(every) == 169
    assert len({t.name for t in every}) == 169
    assert towns.counties() == [
        "Fairfield",
        "Hartford",
        "Litchfield",
        "Middlesex",
        "New Haven",
        "New London",
        "Tolland",
        "Windham",
    ]
    assert all(t.planning_region.endswith("Planning Region") for t in every)


def test_all_towns_matches_the_csv():
    rows = _csv_rows()
    assert [(t.name, t.county) for t in towns.all_towns()] == [
        (r["town"], r["county"]) for r in rows
    ]


@pytest.mark.parametrize(
    ("county", "size"),
    [
        ("Hartford", 29),
        ("new haven", 27),
        ("LITCHFIELD COUNTY", 26),
        ("Fairfield County", 23),
        ("New London", 21),
        ("middlesex", 15),
        ("Windham", 15),
        ("Tolland county", 13),
    ],
)
def test_towns_in_county_accepts_any_spelling_of_the_county(county, size):
    found = towns.towns_in_county(county)
    assert len(found) == size
    assert {t.county for t in found} == {towns.canonical_county(county)}


def test_towns_in_county_refuses_an_unknown_county():
    with pytest.raises(UnknownCounty, match="Springfield"):
        towns.towns_in_county("Springfield County")


@pytest.mark.parametrize("town", [t.name for t in towns.all_towns()])
def test_canonical_every_town_as_written_and_in_grid_style(town):
    for spelling in [town, town.lower(), *_grid_style(town)]:
        assert towns.canonical(spelling).name == town, spelling


@pytest.mark.parametrize(("alias", "town"), _alias_cases())
def test_canonical_every_alias_in_the_csv(alias, town):
    assert towns.canonical(alias).name == town
    assert towns.canonical(alias.upper()).name == town


@pytest.mark.parametrize(
    ("spelling", "town"),
    [
        ("east  hartford", "East Hartford"),
        ("  East Hartford ", "East Hartford"),
        ("EAST HARTFORD", "East Hartford"),
        ("E. HARTFORD", "East Hartford"),
        ("E.HARTFORD", "East Hartford"),
        ("N. BRANFORD", "North Branford"),
        ("W. HARTFORD", "West Hartford"),
        ("S. WINDSOR", "South Windsor"),
        ("NO. STONINGTON", "North Stonington"),
        ("Town of Vernon", "Vernon"),
        ("City of Groton", "Groton"),
        ("CITY OF NEW HAVEN", "New Haven"),
        ("Hartford, CT", "Hartford"),
        ("Winsted", "Winchester"),
        ("Rockville", "Vernon"),
        ("Willimantic", "Windham"),
        ("Newtown", "Newtown"),
        ("Newington", "Newington"),
        ("Thomaston", "Thomaston"),
        ("Thompson", "Thompson"),
    ],
)
def test_canonical_spellings(spelling, town):
    assert towns.canonical(spelling).name == town


MISSPELLINGS = [
    ("Hartfrod", "Hartford"),
    ("Branfrd", "Branford"),
    ("Brnford", "Branford"),
    ("N. Branfrd", "North Branford"),
    ("Newtwn", "Newtown"),
    ("Newingtn", "Newington"),
    ("Thomastn", "Thomaston"),
    ("Thomson", "Thompson"),
    ("Bridgport", "Bridgeport"),
    ("Waterbery", "Waterbury"),
    ("Middletwon", "Middletown"),
    ("Stamfrod", "Stamford"),
    ("Norwlk", "Norwalk"),
    ("Danbury ct", "Danbury"),
    ("Glastonbery", "Glastonbury"),
    ("Wethersfeild", "Wethersfield"),
    ("Manchster", "Manchester"),
    ("Southingon", "Southington"),
    ("Wallingfrod", "Wallingford"),
    ("Torringon", "Torrington"),
    ("E. Hartfrod", "East Hartford"),
    ("W. Haven", "West Haven"),
    ("New Havn", "New Haven"),
    ("Ridgefeild", "Ridgefield"),
    ("Greenwhich", "Greenwich"),
    ("Farmingon", "Farmington"),
    ("Winstead", "Winchester"),
    ("Killinlgy", "Killingly"),
]


@pytest.mark.parametrize(("spelling", "town"), MISSPELLINGS)
def test_canonical_corrects_misspellings(spelling, town):
    assert towns.canonical(spelling).name == town


def test_canonical_near_collisions_land_on_the_right_town():
    assert towns.canonical("Branfrd").name == "Branford"  # not North Branford
    assert towns.canonical("Newtwn").name == "Newtown"  # not Newington
    assert towns.canonical("Newingtn").name == "Newington"  # not Newtown
    assert towns.canonical("Thomastn").name == "Thomaston"  # not Thompson
    assert towns.canonical("Thomson").name == "Thompson"  # not Thomaston


@pytest.mark.parametrize("spelling", ["Springfield", "Hart", "New", "Boston", "xyz"])
def test_canonical_refuses_non_towns_with_suggestions(spelling):
    with pytest.raises(UnknownTown) as info:
        towns.canonical(spelling)
    error = info.value
    assert isinstance(error, ValueError)
    assert 1 <= len(error.suggestions) <= 3 or spelling == "xyz"
    assert all(towns.canonical(s).name == s for s in error.suggestions)
    for suggestion in error.suggestions:
        assert suggestion in str(error)
    assert towns.match(spelling) is None


def test_canonical_springfield_names_its_closest_towns():
    with pytest.raises(UnknownTown) as info:
        towns.canonical("Springfield")
    assert info.value.suggestions == ["Enfield", "Plainfield", "Ridgefield"]


def test_canonical_hart_suggests_the_hart_towns():
    with pytest.raises(UnknownTown) as info:
        towns.canonical("Hart")
    assert set(info.value.suggestions) == {"Hartford", "Hartland", "East Hartford"}


@pytest.mark.parametrize("spelling", ["", "   ", ".", "Town of"])
def test_canonical_refuses_empty_names(spelling):
    with pytest.raises(UnknownTown):
        towns.canonical(spelling)


@pytest.mark.parametrize("spelling", ["Mystic", "MYSTIC", "mystic ct"])
def test_canonical_refuses_mystic_naming_both_towns(spelling):
    with pytest.raises(UnknownTown) as info:
        towns.canonical(spelling)
    assert info.value.suggestions == ["Groton", "Stonington"]
    assert "Groton" in str(info.value)
    assert "Stonington" in str(info.value)
    assert "ambiguous" in str(info.value)


def test_canonical_refuses_a_near_tie_between_two_towns():
    # "Stafmord" is as close to Stafford as to Stamford.
    with pytest.raises(UnknownTown) as info:
        towns.canonical("Stafmord")
    assert set(info.value.suggestions) == {"Stafford", "Stamford"}
    assert towns.match("Stafmord") is None


@pytest.mark.parametrize(
    ("spelling", "county"),
    [("hartford", "Hartford"), ("NEW LONDON COUNTY", "New London")],
)
def test_canonical_county(spelling, county):
    assert towns.canonical_county(spelling) == county


def test_match_returns_none_instead_of_raising():
    assert towns.match("E. HARTFORD").name == "East Hartford"
    assert towns.match("Mystic") is None
    assert towns.match("") is None
    assert towns.match(None) is None


def test_town_normalized_name_is_the_lower_form():
    assert towns.canonical("E. HARTFORD").normalized_name == "east hartford"
    assert towns.by_name("Windsor Locks").normalized_name == "windsor locks"
