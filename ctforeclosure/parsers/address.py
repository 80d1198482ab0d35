"""Split the case page's one-line property address into its parts.

The case page prints the property as the grid's street lines joined with ", "
then ", Town, CT ZIP" ("1 Russell St., Unit 5, Middletown, CT 06457"; docs/SITES.md
§3.3, seen only in other scrapers' data: UNVERIFIED (docs/SITES.md §9)). Clerks also
type free text ("See Clerk's Note", "Lakeside Ave., Parcel ID R08451"). The rule:
when the text ends in ", <town>, <state> [zip]", the parts are split as printed; the
address is ``complete`` only when its first line is a street with a house number and
no clerk's note, otherwise the caller flags it (``address_unparsed``). Text without
that ending is kept raw only. Nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: "<street>[, <unit>...], <town>, <ST> <zip>"; the zip may be dirty ("00000", "06")
#: or missing. Sample: "647 MINOR ST., MIDDLETOWN, CT 00000".
TAIL_RE = re.compile(
    r"^(?P<head>.+?),\s*(?P<town>[^,]+?),\s*(?P<state>[A-Z]{2})\.?"
    r"(?:\s+(?P<zip>\d{1,5}(?:-\d{4})?))?\s*$"
)
#: A street line starts with a house number ("12", "#830", "12-14", "1A").
STREET_RE = re.compile(r"^#?\d+[A-Za-z]?(?:[-/]\d+[A-Za-z]?)?\s+\S")
#: Free-text markers clerks use instead of an address: kept raw, flagged.
UNPARSEABLE_MARKERS = ("clerk's note", "clerks note", "see note")
#: The flag an item gets when its address was kept raw.
FLAG_UNPARSED = "address_unparsed"


@dataclass(frozen=True)
class PropertyAddress:
    """The parts of a property address, as printed.

    ``parsed``: the town/state/zip ending was found (parts filled). ``complete``: the
    first line is also a numbered street; when False the address must be flagged.
    """

    raw: str
    street: str | None = None
    unit: str | None = None
    town: str | None = None
    state: str | None = None
    zip: str | None = None
    parsed: bool = False
    complete: bool = False


def split_address(raw: str | None) -> PropertyAddress | None:
    """Return the parts of "street[, unit], town, ST zip", or raw-only when unsure."""
    text = re.sub(r"\s+", " ", (raw or "").replace("\xa0", " ")).strip()
    if not text:
        return None
    match = TAIL_RE.match(text)
    if not match:
        return PropertyAddress(raw=text)
    lines = [part.strip() for part in match["head"].split(",") if part.strip()]
    if not lines:
        return PropertyAddress(raw=text)
    noted = any(marker in text.lower() for marker in UNPARSEABLE_MARKERS)
    return PropertyAddress(
        raw=text,
        street=lines[0],
        unit=", ".join(lines[1:]) or None,
        town=match["town"].strip(),
        state=match["state"],
        zip=match["zip"],
        parsed=True,
        complete=bool(STREET_RE.match(lines[0])) and not noted,
    )
