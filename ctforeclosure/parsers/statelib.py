"""Parse the Connecticut State Library's towns guide and check it against our list.

Source: ``STATE_LIBRARY_TOWNS_URL`` (default https://libguides.ctstatelibrary.org/cttowns).

Flow (``ctforeclosure.spiders.towns``):

1. One GET of the guide page; :func:`parse_towns` reads every town/county pair it can.
2. :func:`check_towns` compares them with the bundled list (``ctforeclosure.towns``):
   the page is accepted only when it names exactly the 169 towns, each in its county.

Known quirks (docs/SITES.md §6; the page's current HTML was never captured, so the
parser accepts every layout the guide is known to have used):

- The older ``ctstatelibrary.org/cttowns/counties`` page was a plain table
  Town | County (county as "Hartford" or "Hartford County").
- A 2020s LibGuides page lists entries like "East Windsor, Hartford County" followed by
  notes ("Incorporated 1768. Parent town: Windsor.").
- LibGuides boxes with county headings followed by lists: one scraper recovered only
  24 towns that way (boxes load lazily), hence the check and the bundled fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import lxml.etree

from ctforeclosure.parsers.tree import html_root
from ctforeclosure.towns import (
    UnknownCounty,
    all_towns,
    canonical_county,
    counties,
    normalize_key,
)

__all__ = ["TownDifferences", "check_towns", "parse_towns"]

#: Tags that start a new line of text (entries are read line by line).
BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "td",
        "th",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "nav",
        "aside",
        "blockquote",
        "pre",
        "address",
        "caption",
    ]
)
#: Tags that can carry a county heading: "<h3>Hartford County</h3>",
#: "<p><strong>Hartford County</strong></p>".
HEADING_TAGS = frozenset(
    ["h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "dt", "caption", "legend"]
)
#: Header-cell words that mark a table's columns: "Town" | "County" | "Planning Region".
TOWN_HEADER_RE = re.compile(r"\b(town|municipality|name)\b", re.I)
COUNTY_HEADER_RE = re.compile(r"\bcounty\b", re.I)
REGION_HEADER_RE = re.compile(r"\bregion\b", re.I)

# A plausible town name as printed: "East Windsor", "N. Branford". Up to 4 words.
_TOWN_NAME = r"[A-Z][A-Za-z.'\-]*(?: [A-Za-z.'\-]+){0,3}"
_TOWN_NAME_RE = re.compile(rf"^{_TOWN_NAME}$")
_COUNTY_NAMES = "|".join(re.escape(c) for c in counties())
#: An entry line: "East Windsor, Hartford County" (notes may follow on the same line).
ENTRY_RE = re.compile(
    rf"^\s*(?P<town>{_TOWN_NAME})\s*,\s*(?P<county>{_COUNTY_NAMES})\s+County\b",
    re.I,
)
#: A county heading: "Hartford County" (optionally "Hartford County towns").
COUNTY_HEADING_RE = re.compile(
    rf"^\s*(?P<county>{_COUNTY_NAMES})\s+County(?:\s+towns)?\s*:?\s*$", re.I
)
# A list item names its town first: "Avon (incorporated 1830)", "Avon - 1830".
_LIST_ITEM_CUT_RE = re.compile(r"\s*(?:[(,:;\u2013\u2014]| - ).*$", re.S)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _root(html):
    if hasattr(html, "text"):  # a Scrapy response
        html = html.text
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    if not html or not html.strip():
        return None
    return html_root(html)


def _row(town: str, county: str, region: str | None = None) -> dict | None:
    town = _clean(town)
    if not _TOWN_NAME_RE.match(town):
        return None
    try:
        county = canonical_county(county)
    except UnknownCounty:
        return None
    return {"town": town, "county": county, "planning_region": _clean(region) or None}


def _from_tables(root) -> list[dict]:
    """Read Town | County tables, finding the columns from a header row if any."""
    rows: list[dict] = []
    for table in root.iter("table"):
        town_col, county_col, region_col = 0, 1, None
        for tr in table.iter("tr"):
            cells = [_clean(c.text_content()) for c in tr if c.tag in ("td", "th")]
            if len(cells) < 2:
                continue
            header = [i for i, c in enumerate(cells) if COUNTY_HEADER_RE.search(c)]
            if header and any(TOWN_HEADER_RE.search(c) for c in cells):
                county_col = header[0]
                town_col = next(
                    i for i, c in enumerate(cells) if TOWN_HEADER_RE.search(c)
                )
                region_col = next(
                    (i for i, c in enumerate(cells) if REGION_HEADER_RE.search(c)), None
                )
                continue
            if max(town_col, county_col) >= len(cells):
                continue
            region = (
                cells[region_col]
                if region_col is not None and region_col < len(cells)
                else None
            )
            row = _row(cells[town_col], cells[county_col], region)
            if row:
                rows.append(row)
    return rows


def _lines(root) -> list[str]:
    """Return the page's text split where a block element or <br> breaks it.

    Reads the tree without changing it: lxml refuses to set a text that holds a
    control character, which a page's own text may hold.
    """
    parts: list[str] = []
    for event, el in lxml.etree.iterwalk(root, events=("start", "end")):
        element = isinstance(el.tag, str)
        if event == "start":
            if element and (el.tag == "br" or el.tag in BLOCK_TAGS):
                parts.append("\n")
            if element and el.text:
                parts.append(el.text)
            continue
        if element and el.tag in BLOCK_TAGS:
            parts.append("\n")
        if el is not root and el.tail:
            parts.append(el.tail)
    return [line for line in (_clean(x) for x in "".join(parts).split("\n")) if line]


def _from_entries(lines: list[str]) -> list[dict]:
    """Read "East Windsor, Hartford County" lines, ignoring the notes after them."""
    rows = []
    for line in lines:
        m = ENTRY_RE.match(line)
        if m and (row := _row(m["town"], m["county"])):
            rows.append(row)
    return rows


def _heading_county(el) -> str | None:
    if el.tag not in HEADING_TAGS:
        return None
    m = COUNTY_HEADING_RE.match(_clean(el.text_content()))
    return canonical_county(m["county"]) if m else None


def _from_heading_lists(root) -> list[dict]:
    """Read list items that follow a county heading, up to the next heading."""
    rows: list[dict] = []
    for el in root.iter():
        if not isinstance(el.tag, str) or not (county := _heading_county(el)):
            continue
        block = el
        # <p><strong>Hartford County</strong></p>: the block is the <p>.
        while (
            block.getparent() is not None
            and block.getparent().tag not in ("body", "html")
            and _clean(block.getparent().text_content()) == _clean(el.text_content())
        ):
            block = block.getparent()
        for sibling in block.itersiblings():
            if not isinstance(sibling.tag, str):
                continue
            if sibling.tag in HEADING_TAGS or any(
                _heading_county(d) for d in sibling.iter() if isinstance(d.tag, str)
            ):
                break
            for li in sibling.iter("li"):
                name = _LIST_ITEM_CUT_RE.sub("", _clean(li.text_content()))
                if row := _row(name, county):
                    rows.append(row)
    return rows


def parse_towns(html) -> list[dict]:
    """Return every {town, county, planning_region} the page names, in page order.

    ``html`` is the page's text (str or bytes) or a Scrapy response. Town names are
    returned as printed; counties as "Hartford" (without " County").
    """
    root = _root(html)
    if root is None:
        return []
    found = _from_tables(root) + _from_heading_lists(root)
    found += _from_entries(_lines(root))
    seen: dict[tuple[str, str], dict] = {}
    for row in found:
        key = (normalize_key(row["town"]), row["county"])
        if key not in seen or (
            row["planning_region"] and not seen[key]["planning_region"]
        ):
            seen[key] = row
    return list(seen.values())


@dataclass(frozen=True)
class TownDifferences:
    """How a parsed page differs from the bundled list (empty when it matches)."""

    missing: tuple[str, ...] = ()  # bundled towns the page does not name
    extra: tuple[str, ...] = ()  # names on the page that are not towns
    wrong_county: tuple[tuple[str, str, str], ...] = ()  # (town, page, bundled)
    found: int = 0  # distinct towns the page names
    counties: tuple[str, ...] = field(default=())  # counties the page names

    def counts(self) -> dict[str, int]:
        """Return the numbers of missing, extra and wrong-county towns."""
        return {
            "found": self.found,
            "missing": len(self.missing),
            "extra": len(self.extra),
            "wrong_county": len(self.wrong_county),
            "counties": len(self.counties),
        }

    def describe(self) -> str:
        """Return one line naming every difference."""
        parts = [f"page names {self.found} towns in {len(self.counties)} counties"]
        if self.missing:
            parts.append(f"missing {len(self.missing)}: {', '.join(self.missing)}")
        if self.extra:
            parts.append(f"not towns {len(self.extra)}: {', '.join(self.extra)}")
        if self.wrong_county:
            moved = ", ".join(
                f"{town} ({page} County, bundled {bundled} County)"
                for town, page, bundled in self.wrong_county
            )
            parts.append(f"in a different county {len(self.wrong_county)}: {moved}")
        return "; ".join(parts)


def check_towns(parsed: list[dict]) -> tuple[bool, TownDifferences]:
    """Accept the parsed towns only if they are exactly the 169 towns in 8 counties."""
    bundled = {normalize_key(t.name): t for t in all_towns()}
    seen: dict[str, str] = {}
    extra: list[str] = []
    wrong: list[tuple[str, str, str]] = []
    for row in parsed:
        key = normalize_key(row["town"])
        town = bundled.get(key)
        if town is None:
            if row["town"] not in extra:
                extra.append(row["town"])
            continue
        if row["county"] != town.county:
            wrong.append((town.name, row["county"], town.county))
        seen.setdefault(key, row["county"])
    missing = tuple(t.name for k, t in bundled.items() if k not in seen)
    differences = TownDifferences(
        missing=missing,
        extra=tuple(extra),
        wrong_county=tuple(wrong),
        found=len(seen) + len(extra),
        counties=tuple(sorted({row["county"] for row in parsed})),
    )
    ok = (
        not missing
        and not extra
        and not wrong
        and len(seen) == len(bundled)
        and len(differences.counties) == len(counties())
    )
    return ok, differences
