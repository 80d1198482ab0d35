"""The seeded generator of foreclosure cases the replica serves.

Listings (what the search grid shows) are generated up front, cheaply, for every
case; case pages (parties, docket entries, court dates) are generated lazily from a
per-docket seed, so 50,000 cases start in about a second. The same seed always gives
the same data. The generator also knows what it meant (judgment type, law day, sale
date, active or not), which is the ground truth a crawl is checked against.

Dirty data on purpose, as on the real site (docs/SITES.md §2.2, §8.7): zips "00000" and
"06", "See Clerk's Note" addresses, second address lines, case names cut at 50
characters per side, ampersands.
"""

from __future__ import annotations

import bisect
import random
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from itertools import accumulate

from ctforeclosure import dockets

from . import fakes
from .towns import ABBREVIATIONS, Town, load_towns

#: "Today" on day 0: fixed, so the same seed gives the same pages on any date.
ANCHOR_DATE = date(2026, 11, 2)
#: Case pages kept generated; beyond this the oldest are regenerated when asked
#: (deterministic), so a 50,000-case crawl does not hold every page in memory.
DETAIL_CACHE_SIZE = 4096
SIDE_LIMIT = 50  # each side of a grid case name is cut at 50 characters [CAPTURE]

#: Property types. "Residential" is the only captured value; the others are
#: UNVERIFIED (docs/SITES.md §9): only "All Properties" searches would show them.
RESIDENTIAL = "Residential"
OTHER_PROPERTY_TYPES = ("Commercial", "Vacant Land")

#: Result wordings that name the law day or sale date. The real texts were never
#: captured: UNVERIFIED (docs/SITES.md §9). Parsers read dates after these markers.
STRICT_RESULT = "Granted {ruled} {judge} Law Day(s) assigned to begin {day}"
SALE_RESULT = "Granted {ruled} {judge} Sale Date set for {day}"
RESET_LAW_DAY_RESULT = "Granted {ruled} {judge} Law Day(s) reset to begin {day}"
EXTEND_SALE_RESULT = "Granted {ruled} {judge} Sale Date reset for {day}"
#: Grid/case-page disposition texts for closed cases: UNVERIFIED (docs/SITES.md §9).
DISPOSITIONS = (
    "JUDGMENT OF STRICT FORECLOSURE",
    "JUDGMENT OF FORECLOSURE BY SALE",
    "WITHDRAWAL OF ACTION",
)
CASE_TYPE_CODE = "P00"  # foreclosure, per form JD-CV-1: UNVERIFIED (docs/SITES.md §3.2)
CASE_TYPE_TEXT = "P00 - Property - Foreclosure"


def fmt(d: date | None) -> str:
    """Return a date as the site prints it (MM/DD/YYYY)."""
    return d.strftime("%m/%d/%Y") if d else ""


def cut(text: str) -> str:
    """Return one side of a case name as the grid prints it (50 characters)."""
    return text[:SIDE_LIMIT]


@dataclass
class Case:
    """One case: its listing fields eagerly, its page fields lazily."""

    docket_no: str  # "HHDCV246194967S"
    town: Town
    listing_town: str  # "EAST HARTFORD" (or "E. HARTFORD" behind an option)
    street_lines: tuple[str, ...]  # ("1 Russell St.", "Unit 5")
    zip: str  # "06457", dirty: "00000", "06"
    plaintiff: str  # full name, may exceed 50 characters
    defendant: tuple[str, str, str]  # (last, first, middle initial)
    file_date: date
    property_type: str
    paperless: bool
    is_active: bool = True
    disposition: str | None = None
    disposition_date: date | None = None
    born: date = ANCHOR_DATE  # the replica's "today" when the case was generated
    initial_disposition: str | None = None  # what the generator meant at birth
    extra: dict = field(default_factory=dict)  # changes made by evolution
    grid_name: str | None = None  # capture mode: the case name exactly as captured
    rank: tuple[str, ...] | None = None  # capture mode: position in the capture

    @cached_property
    def docket_display(self) -> str:
        d = self.docket_no  # always LLLCCYYNNNNNNNS (15 characters) here
        return f"{d[:3]}-{d[3:5]}-{d[5:7]}-{d[7:14]}-{d[14]}"

    @cached_property
    def listing_street(self) -> str:
        return "\n".join(line for line in self.street_lines if line)

    @property
    def defendant_grid(self) -> str:
        last, first, mi = self.defendant
        return f"{last}, {first} {mi}".strip() if first else last

    @cached_property
    def case_name(self) -> str:
        if self.grid_name is not None:
            return self.grid_name
        return f"{cut(self.plaintiff)} v. {cut(self.defendant_grid)}"

    @property
    def sort_key(self) -> tuple[str, ...]:
        if self.rank is not None:  # capture rows keep the captured order
            return (self.listing_town, *self.rank)
        return (self.listing_town, self.zip, self.listing_street)


def _street(rng: random.Random) -> tuple[str, ...]:
    roll = rng.random()
    name = f"{rng.choice(fakes.STREET_NAMES)} {rng.choice(fakes.STREET_TYPES)}"
    if roll < 0.03:
        return ("See Clerk's Note", "")
    number = str(rng.randint(1, 1999))
    if rng.random() < 0.15:
        name = name.upper()
    if roll < 0.05:
        return (name, f"Parcel ID R0{rng.randint(1000, 9999)}")
    if roll < 0.17:
        second = rng.choice(fakes.SECOND_LINES).format(n=rng.randint(1, 120))
        return (f"{number} {name}", second)
    return (f"{number} {name}", "")


def _zip(rng: random.Random, town: Town) -> str:
    roll = rng.random()
    if roll < 0.08:
        return "00000"
    if roll < 0.11:
        return "06"
    if roll < 0.12:
        return "060"
    if roll < 0.13:
        return "01128"  # wrong state, as captured
    return f"{town.zip_prefix}{rng.randint(0, 99):02d}"


class Dataset:
    """All cases of one replica run, with the lookups the pages need."""

    def __init__(
        self,
        *,
        seed: int = 0,
        cases: int = 5000,
        abbreviate: bool = False,
        towns: tuple[str, ...] | None = None,
    ):
        self.seed = seed
        self.size = cases
        self.abbreviate = abbreviate
        self.today = ANCHOR_DATE
        self.day = 0
        self.mutations = 0
        self.lock = threading.RLock()
        self._seq: dict[str, int] = {}
        self._rng = random.Random(f"replica-listing-{seed}")
        self.cases: dict[str, Case] = {}
        self._towns = load_towns()
        if towns:
            unknown = set(towns) - {t.name for t in self._towns}
            if unknown:
                raise ValueError(f"not canonical town names: {sorted(unknown)}")
            self._towns = tuple(t for t in self._towns if t.name in towns)
        self._cum = list(accumulate(t.weight for t in self._towns))
        for _ in range(cases):
            self._add(self._new_case(self._rng))
        self.reindex()

    # Generation ---------------------------------------------------------------
    def _new_case(self, rng: random.Random, *, recent: bool = False) -> Case:
        town = self._towns[bisect.bisect_right(self._cum, rng.random() * self._cum[-1])]
        age = rng.randint(0, 30) if recent else int(rng.triangular(20, 1500, 200))
        file_date = self.today - timedelta(days=age)
        seq = self._seq.get(town.court, 6000000 + (hash_court(town.court) % 90) * 1000)
        seq += rng.randint(1, 40)
        self._seq[town.court] = seq
        docket = f"{town.court}CV{file_date:%y}{seq % 10_000_000:07d}S"
        lender = rng.choice(fakes.LENDERS).replace("{TOWN}", town.name.upper())
        last = rng.choice(fakes.LAST_NAMES)
        if rng.random() < 0.07:
            defendant = (f"{last} HOLDINGS, LLC", "", "")
        else:
            defendant = (
                last,
                rng.choice(fakes.FIRST_NAMES),
                rng.choice(fakes.MIDDLE_INITIALS) if rng.random() < 0.6 else "",
            )
        listing_town = town.name.upper()
        if self.abbreviate and town.name in ABBREVIATIONS and rng.random() < 0.3:
            listing_town = ABBREVIATIONS[town.name]
        prop = RESIDENTIAL if rng.random() < 0.88 else rng.choice(OTHER_PROPERTY_TYPES)
        case = Case(
            docket_no=docket,
            town=town,
            listing_town=listing_town,
            street_lines=_street(rng),
            zip=_zip(rng, town),
            plaintiff=lender,
            defendant=defendant,
            file_date=file_date,
            property_type=prop,
            paperless=file_date.year >= 2014,
            born=self.today,
        )
        if not recent and rng.random() < 0.18:
            case.is_active = False
            case.disposition = rng.choice(DISPOSITIONS)
            case.disposition_date = min(
                self.today - timedelta(days=1),
                file_date + timedelta(days=rng.randint(90, 700)),
            )
            case.initial_disposition = case.disposition
        return case

    def _add(self, case: Case) -> None:
        while case.docket_no in self.cases:  # vanishingly rare; keep dockets unique
            loc, cat, yy, num, suf = dockets.DOCKET_RE.match(case.docket_no).groups()
            case.docket_no = f"{loc}{cat}{yy}{(int(num) + 1) % 10_000_000:07d}{suf}"
        self.cases[case.docket_no] = case

    def add_case(self, case: Case) -> None:
        """Add a prepared case (capture mode; call reindex() afterwards)."""
        self._add(case)

    def reindex(self) -> None:
        """Rebuild the sorted listing order and drop cached searches and pages."""
        with self.lock:
            self.ordered = sorted(self.cases.values(), key=lambda c: c.sort_key)
            self._by_listing_town: dict[str, list[Case]] = {}
            for case in self.ordered:
                self._by_listing_town.setdefault(case.listing_town, []).append(case)
            self._search_cache: dict[tuple, list[Case]] = {}
            self._detail_cache: OrderedDict[str, dict] = OrderedDict()

    # Evolution ----------------------------------------------------------------
    def new_recent_case(self, rng: random.Random) -> Case:
        """Add a case filed in the last few days (call reindex() afterwards)."""
        case = self._new_case(rng, recent=True)
        self._add(case)
        return case

    def remove(self, case: Case) -> None:
        """Withdraw a case from the site (call reindex() afterwards)."""
        self.cases.pop(case.docket_no, None)
        self.forget(case)

    def forget(self, case: Case) -> None:
        """Drop a case's cached page so it is rebuilt with its changes."""
        with self.lock:
            self._detail_cache.pop(case.docket_no, None)

    # Lookups ------------------------------------------------------------------
    def search(
        self,
        town_text: str,
        *,
        active_only: bool = True,
        residential_only: bool = True,
        foreclosure: bool = True,
    ) -> list[Case]:
        """Return the grid rows of a search (upper-cased substring match on town)."""
        key = (town_text.strip().upper(), active_only, residential_only, foreclosure)
        with self.lock:
            hit = self._search_cache.get(key)
            if hit is not None:
                return hit
            rows: list[Case] = []
            if foreclosure and key[0]:
                for listing_town in sorted(self._by_listing_town):
                    if key[0] in listing_town:
                        rows.extend(
                            c
                            for c in self._by_listing_town[listing_town]
                            if (c.is_active or not active_only)
                            and (c.property_type == RESIDENTIAL or not residential_only)
                        )
            self._search_cache[key] = rows
            return rows

    def get(self, docket: str) -> Case | None:
        """Return the case for a docket number in any form, or None."""
        try:
            return self.cases.get(dockets.compact(docket))
        except dockets.InvalidDocket:
            return None

    def detail(self, case: Case) -> dict:
        """Return the case page's data (generated once per docket, then cached)."""
        with self.lock:
            hit = self._detail_cache.get(case.docket_no)
            if hit is not None:
                self._detail_cache.move_to_end(case.docket_no)
        if hit is None:
            from .detail import build_detail

            hit = build_detail(self, case)
            with self.lock:
                self._detail_cache[case.docket_no] = hit
                if len(self._detail_cache) > DETAIL_CACHE_SIZE:
                    self._detail_cache.popitem(last=False)
        return hit


def hash_court(code: str) -> int:
    """Return a stable small number for a court code (Python's hash() is salted)."""
    return sum(ord(ch) * (i + 7) for i, ch in enumerate(code))
