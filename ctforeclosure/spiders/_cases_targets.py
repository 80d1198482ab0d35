"""Which towns a ``cases`` crawl covers, and the fewest search texts that list them.

Kept apart from the spider so that argument checking (``-a town=``/``towns=``/
``county=``, ``status``, ``property``, ``details``) runs, and can be tested, before
any request, and so that the substring rule of the site's town box is in one place.
"""

from __future__ import annotations

from scrapy.exceptions import UsageError

from ctforeclosure import towns

STATUS_LABELS = {"active": "Active Cases", "all": "All Cases"}
PROPERTY_LABELS = {"residential": "Residential Properties", "all": "All Properties"}
DETAILS_MODES = ("all", "none", "changed")
#: Grid abbreviations "E. HARTFORD" [CODE, not seen in captures]: such towns also
#: search their base name.
DIRECTION_WORDS = ("East ", "West ", "North ", "South ")
MIN_TERM_LENGTH = 3  # the site refuses shorter town text [CODE]
#: The town of the results fixture the contracts use (``scrapy check`` has no -a).
CHECK_TOWN = "Middletown"


def choice(name: str, value: str, allowed) -> str:
    """Return ``value`` normalised, or raise UsageError listing what is allowed."""
    text = (value or "").strip().lower()
    if text not in allowed:
        raise UsageError(
            f"-a {name}={value!r} is not valid: use one of {', '.join(allowed)}"
        )
    return text


def target_towns(town, towns_arg, county) -> list[towns.Town]:
    """Return the towns an operator named, or raise UsageError naming the closest."""
    given = [
        n for n, v in (("town", town), ("towns", towns_arg), ("county", county)) if v
    ]
    if len(given) != 1:
        raise UsageError(
            "give exactly one of -a town=NAME (or all), -a towns=A,B or -a county=NAME"
            + (f" (got {', '.join(given)})" if given else "")
        )
    try:
        if county:
            return towns.towns_in_county(county)
        if town and town.strip().lower() == "all":
            return towns.all_towns()
        names = [town] if town else [n for n in towns_arg.split(",") if n.strip()]
        found = {towns.canonical(n).name: towns.canonical(n) for n in names}
    except (towns.UnknownTown, towns.UnknownCounty) as exc:
        raise UsageError(str(exc)) from exc
    return list(found.values())


def _base_name(town: towns.Town) -> str | None:
    for word in DIRECTION_WORDS:
        if town.name.startswith(word):
            base = town.name[len(word) :]
            return base if len(base) >= MIN_TERM_LENGTH else None
    return None


def covers(term: str, town: towns.Town) -> bool:
    """Return True when a search for ``term`` lists the town's rows (substring rule)."""
    return term.casefold() in town.name.casefold()


def search_terms(targets: list[towns.Town]) -> list[str]:
    """Return the fewest search texts whose results hold every target's rows.

    Each town is searched by name; direction towns also by their base name (so an
    "E. HARTFORD" row is found). A term that contains another term is dropped: the
    site matches by substring, so the shorter term's results already hold its rows.
    """
    wanted = {t.name for t in targets}
    wanted |= {b for t in targets if (b := _base_name(t))}
    terms = sorted(
        t
        for t in wanted
        if not any(o != t and o.casefold() in t.casefold() for o in wanted)
    )
    return terms


def largest_first(terms: list[str], town_terms: dict, sizes: dict[str, int]):
    """Return ``terms`` ordered by the stored cases of the towns each one covers.

    Only five searches fit in a NoBot window, and a town's case pages are what fills
    the wait for the next window: searching the towns with the most cases first
    leaves the fewest idle slots. A first crawl knows nothing and goes by name.
    """
    weight = dict.fromkeys(terms, 0)
    for town, needs in town_terms.items():
        for term in needs:
            weight[term] = weight.get(term, 0) + sizes.get(town, 0)
    return sorted(terms, key=lambda term: (-weight[term], term))
