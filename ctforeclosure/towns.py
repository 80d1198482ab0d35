"""Connecticut's 169 towns and the one place that turns any spelling into one of them.

The court's grid prints "E. HARTFORD", addresses say "Winsted" or "Rockville", people
type "Hartfrod": spider argument checks, the town-normalisation pipeline and the web
UI all call :func:`canonical` (or :func:`match`) so they agree on what a town is.

The reference list is package data, ``ctforeclosure/data/ct_towns.csv`` (docs/SITES.md
§6): town, county, ``;``-separated aliases (villages, boroughs, grid abbreviations) and
the 2022 planning region.

Matching never guesses. In order:

1. the cleaned key (case, spacing, punctuation, "E."/"NO." abbreviations expanded) is
   a town name or an alias;
2. the same after dropping "Town of"/"City of" prefixes and ", CT" suffixes;
3. a typo: rapidfuzz ``extractOne`` over names and aliases that start with the same
   letter, with a score cutoff, and only when the runner-up (another town) is clearly
   worse. Known limit: a real place one letter away from a town ("Newton",
   "Reading") is read as that town's typo (Newtown, Redding).

An alias shared by two towns ("Mystic": Groton and Stonington), a near-tie or a weak
score raises :class:`UnknownTown`, whose ``suggestions`` name the closest real towns.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from rapidfuzz import fuzz, process

__all__ = [
    "Town",
    "UnknownCounty",
    "UnknownTown",
    "all_towns",
    "canonical",
    "canonical_county",
    "counties",
    "match",
    "normalize_key",
    "towns_in_county",
]

#: Lowest rapidfuzz ``fuzz.ratio`` (0-100) a typo may score and still be accepted.
#: "Hartfrod"->"hartford" scores 87.5, "Branfrd"->"branford" 93.3; "Hart"->"hartford"
#: 66.7 and "New"->"newtown" 60 stay refused.
TYPO_SCORE_CUTOFF = 85.0

#: How far ahead of the best *other* town a typo's best match must be. A near-tie
#: ("Stafmord": Stafford 87.5, Stamford 87.5) is refused instead of guessed;
#: "Thomson" (Thompson 93.3, Thomaston 87.5) is accepted.
TYPO_MIN_LEAD = 5.0

#: How many suggestions an :class:`UnknownTown` carries.
MAX_SUGGESTIONS = 3

# Grid and address abbreviations of the leading direction word: "E. HARTFORD",
# "NO. STONINGTON", "SO. WINDSOR".
_ABBREVIATIONS = {
    "e": "east",
    "w": "west",
    "n": "north",
    "no": "north",
    "nth": "north",
    "s": "south",
    "so": "south",
    "sth": "south",
}

# Words that start several town names: a typo query that starts with one of them only
# competes among towns that start with it ("N BRANFRD" cannot become Branford).
_LEADING_WORDS = frozenset({"east", "west", "north", "south", "new", "old"})

_PREFIX_RE = re.compile(r"^(?:the )?(?:town|city|borough|village) of ")
_SUFFIX_RE = re.compile(r"(?: (?:ct|conn|connecticut|usa|us))+$")
_NON_WORD_RE = re.compile(r"[^a-z0-9]+")


class UnknownTown(ValueError):
    """A name that is not (unambiguously) one of the 169 towns."""

    def __init__(self, name: str, suggestions: list[str], reason: str = "") -> None:
        self.name = name
        self.suggestions = list(suggestions)
        if reason:
            message = reason
        elif not name.strip():
            message = "An empty name is not a Connecticut town."
        else:
            message = f"{name!r} is not a Connecticut town."
        if self.suggestions:
            message += f" Closest real towns: {', '.join(self.suggestions)}."
        super().__init__(message)


class UnknownCounty(ValueError):
    """A name that is not one of Connecticut's 8 counties."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"{name!r} is not a Connecticut county. Counties: {', '.join(counties())}."
        )


@dataclass(frozen=True)
class Town:
    """One of the 169 towns, as the bundled reference list describes it."""

    name: str  # "East Hartford"
    county: str  # "Hartford" (no " County")
    planning_region: str  # "Capitol Planning Region"
    aliases: tuple[str, ...]  # ("E. Hartford",)

    @property
    def normalized_name(self) -> str:
        """Return the canonical lower form stored in ``towns.normalized_name``."""
        return normalize_key(self.name)


def normalize_key(text: str) -> str:
    """Return the comparison key: lower case, words only, abbreviations expanded."""
    words = _NON_WORD_RE.sub(" ", text.casefold()).split()
    if words and words[0] in _ABBREVIATIONS:
        words[0] = _ABBREVIATIONS[words[0]]
    return " ".join(words)


def _strip_key(key: str) -> str:
    """Return the key without "town of"-style prefixes and ", CT"-style suffixes."""
    stripped = _SUFFIX_RE.sub("", _PREFIX_RE.sub("", key))
    return normalize_key(stripped) if stripped != key else key


@cache
def all_towns() -> list[Town]:
    """Return the 169 towns of the bundled reference list, in alphabetical order."""
    data = resources.files("ctforeclosure.data").joinpath("ct_towns.csv")
    with data.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [
        Town(
            name=row["town"].strip(),
            county=row["county"].strip(),
            planning_region=row["planning_region_2022"].strip(),
            aliases=tuple(a.strip() for a in row["aliases"].split(";") if a.strip()),
        )
        for row in rows
    ]


@cache
def _index() -> dict[str, tuple[Town, ...]]:
    """Return key -> towns it names (two towns for a shared alias like Mystic)."""
    index: dict[str, list[Town]] = {}
    for town in all_towns():
        for spelling in (town.name, *town.aliases):
            bucket = index.setdefault(normalize_key(spelling), [])
            if town not in bucket:
                bucket.append(town)
    return {key: tuple(found) for key, found in index.items()}


@cache
def _by_name() -> dict[str, Town]:
    return {town.name: town for town in all_towns()}


def counties() -> list[str]:
    """Return the 8 county names, alphabetically ("Fairfield", ..., "Windham")."""
    return sorted({town.county for town in all_towns()})


def canonical_county(name: str) -> str:
    """Return the county's name for any case, with or without " County"."""
    key = normalize_key(name)
    key = re.sub(r" county$", "", key)
    for county in counties():
        if normalize_key(county) == key:
            return county
    raise UnknownCounty(name)


def towns_in_county(county: str) -> list[Town]:
    """Return the towns of one county (raises :class:`UnknownCounty`)."""
    wanted = canonical_county(county)
    return [town for town in all_towns() if town.county == wanted]


def _suggest(key: str, limit: int = MAX_SUGGESTIONS) -> list[str]:
    """Return up to ``limit`` real town names closest to the key, best first."""
    if not key:
        return []
    choices = {k: k for k in _index()}
    scored = process.extract(
        key, choices, scorer=fuzz.WRatio, limit=len(choices), score_cutoff=50
    )
    names: list[str] = []
    for choice, _score, _key in scored:
        for town in _index()[choice]:
            if town.name not in names:
                names.append(town.name)
    return names[:limit]


def _exact(key: str, original: str) -> Town | None:
    found = _index().get(key)
    if not found:
        return None
    if len(found) > 1:
        names = [town.name for town in found]
        raise UnknownTown(
            original,
            names,
            reason=(
                f"{original!r} is ambiguous: it lies in "
                f"{' and '.join(names)}; give the town instead."
            ),
        )
    return found[0]


def _typo(key: str, original: str) -> Town | None:
    """Return the town a misspelt key clearly means, or None."""
    words = key.split()
    choices = [k for k in _index() if len(_index()[k]) == 1]
    if len(words) > 1 and words[0] in _LEADING_WORDS:
        choices = [k for k in choices if k.split()[0] == words[0]]
    # People rarely mistype a name's first letter, while other places' names often
    # differ from a town's in just that letter ("Holland"/Tolland, "Addison"/Madison).
    choices = [k for k in choices if k[0] == key[0]]
    best = process.extractOne(
        key,
        choices,
        scorer=fuzz.ratio,
        processor=normalize_key,
        score_cutoff=TYPO_SCORE_CUTOFF,
    )
    if best is None:
        return None
    choice, score, _ = best
    town = _index()[choice][0]
    rivals = [k for k in choices if _index()[k][0] != town]
    runner_up = process.extractOne(
        key, rivals, scorer=fuzz.ratio, processor=normalize_key
    )
    if runner_up is not None and score - runner_up[1] < TYPO_MIN_LEAD:
        names = [town.name, _index()[runner_up[0]][0].name]
        raise UnknownTown(
            original,
            names,
            reason=f"{original!r} is too close to more than one town to choose.",
        )
    return town


def canonical(name: str) -> Town:
    """Return the town any spelling names, or raise :class:`UnknownTown`."""
    if not isinstance(name, str):
        raise UnknownTown(str(name), [])
    key = normalize_key(name)
    if not key:
        raise UnknownTown(name, [])
    for candidate in dict.fromkeys((key, _strip_key(key))):
        if candidate and (town := _exact(candidate, name)):
            return town
    stripped = _strip_key(key)
    if stripped and (town := _typo(stripped, name)):
        return town
    raise UnknownTown(name, _suggest(stripped or key))


def match(name: str | None) -> Town | None:
    """Return the town a spelling names, or None when it is unknown or ambiguous."""
    if name is None:
        return None
    try:
        return canonical(name)
    except UnknownTown:
        return None


def by_name(name: str) -> Town:
    """Return the town with exactly this canonical name (KeyError otherwise)."""
    return _by_name()[name]
