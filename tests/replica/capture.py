"""Capture mode: serve the scrubbed real captures for their towns.

With ``capture_mode`` on, a default-criteria search for "Middletown" or "Hartford"
returns the scrubbed copy of the real results page (tests/fixtures/judiciary/, made
by the parsers engineer with tests/fixtures/scrub.py) byte for byte, except for the
live hidden fields and NoBot challenge, so a spider runs over real markup. The
dataset's cases for the towns those searches match are replaced by the captured rows
(in the captured order), so the truth agrees with the page. Hartford's capture is
page 1 of 2 ("1-200 of 343"): page 2 is rendered by the replica with 143 generated
rows that sort after the captured ones. ``LoadDocket`` of the captured case-detail
docket (HHDCV226160660S, not a foreclosure, not in the truth) serves that capture.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from parsel import Selector

from ctforeclosure import dockets

from .data import RESIDENTIAL, Case, Dataset
from .towns import town_by_name

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "judiciary"
#: Typed town (upper-cased) → scrubbed capture of its page 1.
RESULTS_CAPTURES = {
    "MIDDLETOWN": "results__middletown_2025-07-16.html",
    "HARTFORD": "results__hartford_page1of2_2025-09-16.html",
}
#: Grid towns each capture search matches (their generated cases are replaced).
MATCHED_TOWNS = {
    "MIDDLETOWN": {"MIDDLETOWN"},
    "HARTFORD": {"HARTFORD", "EAST HARTFORD", "WEST HARTFORD", "NEW HARTFORD"},
}
CASE_CAPTURE_DOCKET = "HHDCV226160660S"
CASE_CAPTURE = "case_detail__hhdcv226160660s.html"
TOTAL_RE = re.compile(r"of\s+([\d,]+)")


@cache
def capture_text(name: str) -> str:
    """Return a scrubbed capture's HTML."""
    return (FIXTURES / name).read_text(encoding="utf-8")


def _rows(html: str) -> list[dict]:
    rows = []
    for tr in Selector(html).css("tr.grdRow, tr.grdRowAlt"):
        street = tr.css("span[id$='_lblStreetAddress']")[0]
        parts = street.get().split(">", 1)[1].rsplit("</span>", 1)[0].split("<br>")
        lines = tuple(
            Selector(f"<p>{p}</p>").css("p::text").get(default="") for p in parts
        )
        rows.append(
            {
                "town": tr.xpath("./td[1]/text()").get().strip(),
                "lines": lines if len(lines) > 1 else (lines[0], ""),
                "zip": tr.css("span[id$='_lblZip']::text").get(default=""),
                "case_name": tr.xpath("./td[4]/text()").get(default="").strip(),
                "docket": tr.css("a[id$='_hlnkDocketNo']::text").get(),
                "paperless": bool(tr.css("img[id$='_imgPaperless']")),
                "property_type": tr.xpath("./td[6]/text()").get(default="").strip(),
            }
        )
    return rows


def _case_from_row(dataset: Dataset, row: dict, rank: tuple[str, ...]) -> Case:
    towns = town_by_name()
    town = towns[row["town"].title()]
    compact = dockets.compact(row["docket"])
    year = 2000 + int(compact[5:7])
    rng = random.Random(f"capture-{compact}")
    plaintiff, _, defendant = row["case_name"].partition(" v. ")
    last, _, first = defendant.partition(", ")
    return Case(
        docket_no=compact,
        town=town,
        listing_town=row["town"],
        street_lines=row["lines"],
        zip=row["zip"],
        plaintiff=plaintiff,
        defendant=(last, first, ""),
        file_date=min(
            dataset.today, date(year, 1, 1) + timedelta(days=rng.randint(0, 360))
        ),
        property_type=row["property_type"] or RESIDENTIAL,
        paperless=row["paperless"],
        born=dataset.today,
        grid_name=row["case_name"],
        rank=rank,
    )


def install(dataset: Dataset) -> None:
    """Replace the capture towns' cases by the captured rows (and Hartford page 2)."""
    affected = set().union(*MATCHED_TOWNS.values())
    with dataset.lock:
        for case in [c for c in dataset.cases.values() if c.listing_town in affected]:
            dataset.cases.pop(case.docket_no)
        totals = {}
        for typed, name in RESULTS_CAPTURES.items():
            html = capture_text(name)
            records = (
                Selector(html).css("#ctl00_ContentPlaceHolder1_lblRecords::text").get()
            )
            totals[typed] = int(TOTAL_RE.search(records).group(1).replace(",", ""))
            for i, row in enumerate(_rows(html)):
                dataset.add_case(_case_from_row(dataset, row, ("0", f"{i:05d}")))
        _fill_hartford(
            dataset,
            totals["HARTFORD"] - len(_rows(capture_text(RESULTS_CAPTURES["HARTFORD"]))),
        )
        dataset.reindex()


def _fill_hartford(dataset: Dataset, missing: int) -> None:
    """Add the rows of Hartford's uncaptured page 2, sorting after page 1's rows."""
    rng = random.Random(f"capture-hartford-{dataset.seed}")
    towns = town_by_name()
    for i in range(missing):
        case = dataset.new_recent_case(rng)
        dataset.cases.pop(case.docket_no)
        roll = i % 10
        name = (
            "West Hartford" if roll < 2 else "New Hartford" if roll == 2 else "Hartford"
        )
        case.town = towns[name]
        case.listing_town = name.upper()
        case.is_active, case.disposition, case.initial_disposition = True, None, None
        case.property_type = RESIDENTIAL
        if name == "Hartford":
            case.zip = rng.choice(("06114", "06120"))
            case.rank = ("1", case.zip, case.listing_street)
        _, cat, yy, num, suf = dockets.DOCKET_RE.match(case.docket_no).groups()
        case.docket_no = f"HHD{cat}{yy}{num}{suf}"
        dataset.add_case(case)


def results_capture(
    typed_town: str, query: dict, page: int, defaults: tuple
) -> str | None:
    """Return the capture to serve for this search page, or None."""
    key = typed_town.strip().upper()
    if page != 1 or key not in RESULTS_CAPTURES:
        return None
    if (query["ct"], query["pt"], query["cs"]) != defaults:
        return None
    return capture_text(RESULTS_CAPTURES[key])


def with_live_fields(
    html: str, *, viewstate: str, validation: str, challenge: str
) -> str:
    """Return a capture with this response's hidden fields and NoBot challenge."""
    html = re.sub(
        r'(id="__VIEWSTATE" value=")[^"]*"',
        lambda m: m.group(1) + viewstate + '"',
        html,
    )
    html = re.sub(
        r'(id="__EVENTVALIDATION" value=")[^"]*"',
        lambda m: m.group(1) + validation + '"',
        html,
    )
    html = re.sub(
        r'(id="ctl00_NoBot_NoBot_NoBotExtender_ClientState" value=")[^"]*"',
        lambda m: m.group(1) + '"',
        html,
    )
    return re.sub(
        r'"ChallengeScript":"[^"]*"', f'"ChallengeScript":"{challenge}"', html
    )
