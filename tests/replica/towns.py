"""The 169 towns the replica spreads its cases over, with a weight per town.

The list is the project's bundled reference (ctforeclosure/data/ct_towns.csv), so the
replica and the towns spider agree on canonical names. Weights make bigger towns carry
more cases, as on the real site (Hartford: 343 active cases in 2025-09).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

#: Rough relative foreclosure volume of the larger towns (others weigh 1-3).
BIG_TOWNS = {
    "Hartford": 40,
    "Bridgeport": 38,
    "New Haven": 34,
    "Waterbury": 34,
    "Stamford": 18,
    "New Britain": 20,
    "Norwalk": 14,
    "Danbury": 12,
    "Meriden": 14,
    "Bristol": 12,
    "East Hartford": 14,
    "West Haven": 12,
    "Manchester": 10,
    "Norwich": 10,
    "Middletown": 10,
    "Hamden": 10,
    "Stratford": 10,
    "Torrington": 8,
    "New London": 7,
    "Naugatuck": 7,
    "Enfield": 7,
    "Milford": 7,
    "Shelton": 6,
    "Groton": 6,
    "Vernon": 5,
    "Windham": 5,
    "Killingly": 4,
    "West Hartford": 6,
    "Fairfield": 5,
    "Greenwich": 4,
}

#: Court location (docket prefix) and judicial-district name per county.
COURTS = {
    "Hartford": ("HHD", "HARTFORD JD"),
    "New Haven": ("NNH", "NEW HAVEN JD"),
    "Fairfield": ("FBT", "BRIDGEPORT JD"),
    "Litchfield": ("LLI", "LITCHFIELD JD AT TORRINGTON"),
    "Middlesex": ("MMX", "MIDDLESEX JD AT MIDDLETOWN"),
    "New London": ("KNL", "NEW LONDON JD AT NEW LONDON"),
    "Tolland": ("TTD", "TOLLAND JD AT ROCKVILLE"),
    "Windham": ("WWM", "WINDHAM JD AT PUTNAM"),
}
#: Towns whose cases go to another district's court (a few, for realism).
TOWN_COURTS = {
    "Waterbury": ("UWY", "WATERBURY JD"),
    "Naugatuck": ("UWY", "WATERBURY JD"),
    "Stamford": ("FST", "STAMFORD-NORWALK JD AT STAMFORD"),
    "Norwalk": ("FST", "STAMFORD-NORWALK JD AT STAMFORD"),
    "Greenwich": ("FST", "STAMFORD-NORWALK JD AT STAMFORD"),
    "Danbury": ("DBD", "DANBURY JD"),
    "New Britain": ("HHB", "NEW BRITAIN JD"),
    "Bristol": ("HHB", "NEW BRITAIN JD"),
    "Meriden": ("NNI", "MERIDEN JD"),
    "Norwich": ("KNO", "NORWICH JD"),
    "Ansonia": ("AAN", "ANSONIA-MILFORD JD AT MILFORD"),
    "Milford": ("AAN", "ANSONIA-MILFORD JD AT MILFORD"),
    "Shelton": ("AAN", "ANSONIA-MILFORD JD AT MILFORD"),
}
#: Grid abbreviations one source claims (docs/SITES.md §2.4), used behind an option.
ABBREVIATIONS = {"East Hartford": "E. HARTFORD", "North Branford": "N. BRANFORD"}


@dataclass(frozen=True)
class Town:
    """A canonical town and what the replica needs to know about it."""

    name: str  # "East Hartford"
    county: str  # "Hartford"
    zip_prefix: str  # "061"
    weight: int
    court: str  # "HHD"
    court_name: str  # "HARTFORD JD"


def _zip_prefix(county: str, name: str) -> str:
    base = {
        "Hartford": 60,
        "New Haven": 64,
        "Fairfield": 66,
        "Litchfield": 67,
        "Middlesex": 64,
        "New London": 63,
        "Tolland": 62,
        "Windham": 62,
    }[county]
    return f"0{base + (sum(map(ord, name)) % 2)}"


@cache
def load_towns() -> tuple[Town, ...]:
    """Return the 169 towns in alphabetical order."""
    text = (
        resources.files("ctforeclosure.data")
        .joinpath("ct_towns.csv")
        .read_text(encoding="utf-8")
    )
    towns = []
    for row in csv.DictReader(text.splitlines()):
        name, county = row["town"], row["county"]
        court, court_name = TOWN_COURTS.get(name, COURTS[county])
        weight = BIG_TOWNS.get(name, 1 + sum(map(ord, name)) % 3)
        towns.append(
            Town(name, county, _zip_prefix(county, name), weight, court, court_name)
        )
    return tuple(towns)


def town_by_name() -> dict[str, Town]:
    """Return the towns keyed by canonical name."""
    return {t.name: t for t in load_towns()}
