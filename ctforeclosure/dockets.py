"""Docket numbers in the three forms the court's sites print (docs/SITES.md §4).

The compact form (``HHDCV226160660S``) is the key everywhere in this project: items,
database, replica truth, CLI arguments and web URLs. The display forms are derived.
"""

from __future__ import annotations

import re

__all__ = ["DOCKET_RE", "InvalidDocket", "compact", "dashed", "header_form", "is_valid"]

#: Location (3), category (CV civil / FA family), year (2), sequence (7), suffix (1).
DOCKET_RE = re.compile(r"^([A-Z0-9]{3})(CV|FA)(\d{2})(\d{7})([A-Z])$")


class InvalidDocket(ValueError):
    """A string that is not a Connecticut docket number."""


def compact(value: str) -> str:
    """Return the docket number without dashes or spaces ("HHDCV226160660S")."""
    text = re.sub(r"[\s\-\u00a0]", "", value or "").upper()
    if not DOCKET_RE.match(text):
        raise InvalidDocket(f"not a docket number: {value!r}")
    return text


def is_valid(value: str | None) -> bool:
    """Return True when the value is a docket number in any of the known forms."""
    try:
        compact(value or "")
    except InvalidDocket:
        return False
    return True


def _parts(value: str) -> tuple[str, ...]:
    """Return the five parts; a compact value (the stored form, shown on every list
    row) is matched as it is, without normalising it first."""
    match = DOCKET_RE.match(value or "") or DOCKET_RE.match(compact(value))
    return match.groups()


def dashed(value: str) -> str:
    """Return the search-grid form used by LoadDocket links ("HHD-CV-22-6160660-S")."""
    return "-".join(_parts(value))


def header_form(value: str) -> str:
    """Return the case-page header form, with no dash before the year."""
    loc, cat, year, seq, suffix = _parts(value)
    return f"{loc}-{cat}{year}-{seq}-{suffix}"
