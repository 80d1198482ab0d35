"""The search form and the "Property Address Search Results" page (docs/SITES.md §2).

Results markup follows the captures: the criteria echo, ``lblRecords`` "a-b of n",
the ``gvPropertyResults`` grid with rows from ``ctl03``, ``grdRow``/``grdRowAlt``,
7 columns, and numeric pager rows top and bottom when there are more than 200 rows.
The search form itself was never captured: its option values, street/zip inputs and
button text are guesses, each an ``UNVERIFIED (docs/SITES.md §9)`` constant below.
"""

from __future__ import annotations

from .data import Case
from .html import e, fill, printf_template

PAGE_SIZE = 200  # [CAPTURE]
PAGER_BUTTONS = 10  # GridView default PageButtonCount; "..." beyond. [GENERAL]
GRID_ID = "ctl00_ContentPlaceHolder1_gvPropertyResults"
GRID_NAME = "ctl00$ContentPlaceHolder1$gvPropertyResults"
#: Grid id under the "changed-layout" fault (a redesign renamed the grid).
CHANGED_GRID_ID = "ctl00_ContentPlaceHolder1_gvPropertyResultsNew"

TOWN_FIELD = "ctl00$ContentPlaceHolder1$txtCityTown"  # [CODE]
#: Street and zip inputs: names UNVERIFIED (docs/SITES.md §9).
STREET_FIELD = "ctl00$ContentPlaceHolder1$txtStreetAddress"
ZIP_FIELD = "ctl00$ContentPlaceHolder1$txtZipCode"
CASE_TYPE_FIELD = "ctl00$ContentPlaceHolder1$ddlCaseType"  # [CODE]
PROPERTY_TYPE_FIELD = "ctl00$ContentPlaceHolder1$ddlPropertyType"  # [CODE]
CASE_STATUS_FIELD = "ctl00$ContentPlaceHolder1$ddlCaseStatus"  # [CODE]
SUBMIT_FIELD = "ctl00$ContentPlaceHolder1$btnSubmit"  # [CODE]
SUBMIT_VALUE = "Submit"  # UNVERIFIED (docs/SITES.md §9)
#: (value, label): labels [CODE]+[CAPTURE], values UNVERIFIED (docs/SITES.md §9).
#: The first option is the default.
CASE_TYPE_OPTIONS = (("FC", "Foreclosure Cases"), ("HC", "Housing Cases"))
PROPERTY_TYPE_OPTIONS = (("RES", "Residential Properties"), ("ALL", "All Properties"))
CASE_STATUS_OPTIONS = (("ACT", "Active Cases"), ("ALL", "All Cases"))
MIN_TOWN_LENGTH = 3  # [CODE] ct-foreclosure-bot notes
#: Messages in lblMessage: texts UNVERIFIED (docs/SITES.md §9).
TOWN_TOO_SHORT_MESSAGE = "City/Town must contain at least 3 characters."
NO_RESULTS_MESSAGE = "No records found matching the search criteria."


def option_values() -> list[str]:
    """Return every value the search form offers (what event validation allows)."""
    return [
        v
        for options in (CASE_TYPE_OPTIONS, PROPERTY_TYPE_OPTIONS, CASE_STATUS_OPTIONS)
        for v, _ in options
    ] + [SUBMIT_VALUE]


def label_of(options, value: str) -> str:
    """Return the visible label of an option value."""
    return dict(options)[value]


def _select(name: str, options, selected: str) -> str:
    ident = name.replace("$", "_")
    selected_attr = ' selected="selected"'
    opts = "".join(
        f'\n\t<option{selected_attr if v == selected else ""} value="{v}">'
        f"{e(label)}</option>"
        for v, label in options
    )
    return f'<select name="{name}" id="{ident}" class="ParamText">{opts}\n</select>'


def search_form(*, town: str = "", message: str = "", selected=None) -> str:
    """Return the search form content (markup UNVERIFIED, docs/SITES.md §9)."""
    sel = selected or (
        CASE_TYPE_OPTIONS[0][0],
        PROPERTY_TYPE_OPTIONS[0][0],
        CASE_STATUS_OPTIONS[0][0],
    )
    return fill(
        "search_form.html",
        {
            "MESSAGE": e(message),
            "CASE_TYPE": _select(CASE_TYPE_FIELD, CASE_TYPE_OPTIONS, sel[0]),
            "TOWN": e(town).replace('"', "&quot;"),
            "STREET_FIELD": STREET_FIELD,
            "STREET_ID": STREET_FIELD.replace("$", "_"),
            "ZIP_FIELD": ZIP_FIELD,
            "ZIP_ID": ZIP_FIELD.replace("$", "_"),
            "PROPERTY_TYPE": _select(
                PROPERTY_TYPE_FIELD, PROPERTY_TYPE_OPTIONS, sel[1]
            ),
            "CASE_STATUS": _select(CASE_STATUS_FIELD, CASE_STATUS_OPTIONS, sel[2]),
            "SUBMIT": SUBMIT_VALUE,
        },
    )


def _criteria(crit: list[tuple[str, str]]) -> str:
    rows = "".join(
        f'<tr><td align="right"><b>{label}:&nbsp;</b></td>'
        f'<td align="left">{e(value)}</td></tr>'
        for label, value in crit
    )
    return f'<table border="0"><tbody>{rows}</tbody></table>'


def _window(page: int, pages: int) -> tuple[int, int]:
    first = ((page - 1) // PAGER_BUTTONS) * PAGER_BUTTONS + 1
    return first, min(first + PAGER_BUTTONS - 1, pages)


def _pager(page: int, pages: int) -> str:
    first, last = _window(page, pages)

    def link(n: int, text: str) -> str:
        return (
            f"<td><a href=\"javascript:__doPostBack('{GRID_NAME}','Page${n}')\">"
            f"{text}</a></td>"
        )

    cells = [link(first - 1, "...")] if first > 1 else []
    for n in range(first, last + 1):
        cells.append(f"<td><span>{n}</span></td>" if n == page else link(n, str(n)))
    if last < pages:
        cells.append(link(last + 1, "..."))
    return fill("results_pager.html", {"CELLS": "".join(cells)})


def pager_arguments(page: int, pages: int) -> list[str]:
    """Return the Page$N arguments the pager on this page offers."""
    if pages <= 1:
        return []
    first, last = _window(page, pages)
    args = [f"Page${n}" for n in range(first, last + 1) if n != page]
    if first > 1:
        args.append(f"Page${first - 1}")
    if last < pages:
        args.append(f"Page${last + 1}")
    return args


PAPERLESS_IMG = (
    '<img id="{pre}_imgPaperless" title="This case is a paperless file" '
    'alt="This case is a paperless file" src="images/lile.gif" '
    'style="border-width:0px;">'
)


ROW_SLOTS = (
    "CLASS", "TOWN", "PRE", "STREET", "PRE", "ZIP", "CASE_NAME", "PAPERLESS", "PRE",
    "DASHED", "DASHED", "DASHED", "PROPERTY_TYPE", "PRE", "DISPOSITION",
)  # fmt: skip


def _row(num: int, case: Case, alt: bool, grid_id: str) -> str:
    pre = f"{grid_id}_ctl{num:02d}"
    lines = case.street_lines
    street = "<br>".join(e(line) for line in lines) + (
        "<br>" if len(lines) == 1 else ""
    )
    dashed = case.docket_display
    return printf_template("results_row.html", ROW_SLOTS) % (
        "grdRowAlt" if alt else "grdRow",
        e(case.listing_town),
        pre,
        street,
        pre,
        e(case.zip),
        e(case.case_name),
        PAPERLESS_IMG.format(pre=pre) if case.paperless else "",
        pre,
        dashed,
        dashed,
        dashed,
        e(case.property_type),
        pre,
        e(case.disposition),
    )


def results_content(
    *, rows: list[Case], page: int, criteria: list[tuple[str, str]], grid_id=GRID_ID
) -> str:
    """Return the results page content for one page of ``rows``."""
    total = len(rows)
    pages = max(1, -(-total // PAGE_SIZE))
    start = (page - 1) * PAGE_SIZE
    chunk = rows[start : start + PAGE_SIZE]
    grid = ""
    if chunk:
        pager = _pager(page, pages) if pages > 1 else ""
        grid = fill(
            "results_grid.html",
            {
                "GRID_ID": grid_id,
                "PAGER": pager,
                "ROWS": "".join(
                    _row(i + 3, c, i % 2 == 1, grid_id) for i, c in enumerate(chunk)
                ),
            },
        )
    return fill(
        "results_content.html",
        {
            "CRITERIA": _criteria(criteria),
            "MESSAGE": "" if total else NO_RESULTS_MESSAGE,
            "RECORDS_LABEL": "Records:" if total else "",
            "RECORDS": f"{start + 1}-{start + len(chunk)} of {total}" if total else "",
            "GRID": grid,
        },
    )
