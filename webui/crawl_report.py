"""What one crawl's page reports beyond its counts: per town "site says n, we parsed
m" (the towns that differ first, marked), and errors by category with the first
example of each, read from the run's Scrapy stats.

An example is an exception class or a stats key, never a message: messages can
carry a party's name or an address, and this page is shown to every signed-in user.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctforeclosure.extensions.crawl_stats import error_example


@dataclass(frozen=True)
class TownCount:
    """One town's "site says n, we parsed m"."""

    town: str
    site: int | None
    parsed: int | None

    @property
    def differs(self) -> bool:
        return self.site != self.parsed


@dataclass(frozen=True)
class ErrorCategory:
    """A category's error count and the first example of it (None: none named)."""

    category: str
    count: int
    example: str | None


def town_rows(town_counts: dict | None) -> list[TownCount]:
    """Return each town's counts, the towns that differ first, then by name."""
    rows = [
        TownCount(town, counts.get("site"), counts.get("parsed"))
        for town, counts in (town_counts or {}).items()
    ]
    return sorted(rows, key=lambda r: (not r.differs, r.town))


def error_examples(errors: dict | None, stats: dict | None) -> list[ErrorCategory]:
    """Return the categories with errors, each with the first stats key behind it."""
    stats = stats or {}
    out = []
    for category, count in (errors or {}).items():
        if count:
            out.append(ErrorCategory(category, count, _example(category, stats)))
    return out


def _example(category: str, stats: dict) -> str | None:
    for key in sorted(stats):
        found = error_example(key) if stats[key] else None
        if found and found[0] == category:
            return found[1]
    return None
