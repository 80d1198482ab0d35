"""Pending foreclosure sales pages (sso.eservices.jud.ct.gov/foreclosures/Public/).

Shaped like docs/SITES.md §5 from the same generated cases: every active case with a
judgment of foreclosure by sale and a sale date not yet past is a posting.

- ``PendPostbyTownList.aspx``: towns with pending sales, each linked with a count
  (markup (a) of §5.1, described by scrapers' code, never captured: UNVERIFIED).
- ``PendPostbyTownDetails.aspx?town=<Town>``: the per-town table, markup from the
  (scrubbed) Fairfield capture.
- ``PendPostDetailPublic.aspx?PostingId=N``: the notice, with the ids scrapers use
  (§5.3, code and mocks only: UNVERIFIED).
"""

from __future__ import annotations

import random

from flask import Blueprint, Response, abort, current_app, request

from ctforeclosure import dockets

from .data import Case, fmt
from .html import e, fill

SALE_TIME = "12:00PM"
#: Heading texts seen in the capture (spacing and commas vary) [CAPTURE].
HEADINGS = (
    "PUBLIC AUCTION FORECLOSURE SALE: {ptype} <br> ADDRESS: {street} {town} CT",
    "PUBLIC AUCTION FORECLOSURE SALE:{ptype} <br> ADDRESS:  {street}, {town}, CT {zip}",
)

bp = Blueprint("sales", __name__)


def posting_id(case: Case) -> int:
    """Return the posting id of a case's sale notice (stable per docket)."""
    return 60000 + sum(ord(ch) * (i + 1) for i, ch in enumerate(case.docket_no)) % 30000


def pending_sales(dataset) -> list[tuple[Case, dict]]:
    """Return (case, detail) for every pending sale, by town, sale date, docket."""
    with dataset.lock:
        cached = getattr(dataset, "_sales_cache", None)
        if cached is not None and cached[0] is dataset.ordered:
            return cached[1]
        cases = list(dataset.ordered)
    sales = []
    for case in cases:
        if not case.is_active:
            continue
        detail = dataset.detail(case)
        if detail["judgment_type"] == "sale" and detail["sale_date"] >= dataset.today:
            sales.append((case, detail))
    sales.sort(key=lambda cd: (cd[0].town.name, cd[1]["sale_date"], cd[0].docket_no))
    with dataset.lock:
        dataset._sales_cache = (dataset.ordered, sales)
    return sales


def _heading(case: Case, detail: dict) -> str:
    rng = random.Random(f"sale-{case.docket_no}")
    unit = detail["property_unit"]
    condo = bool(unit) and unit.startswith(("Unit", "Apt"))
    ptype = "Residential Condominium" if condo else "Residential"
    street = ", ".join(p for p in (detail["property_street"], unit) if p)
    return rng.choice(HEADINGS).format(
        ptype=ptype, street=e(street), town=case.town.name, zip=case.zip
    )


@bp.get("/PendPostbyTownList.aspx")
def town_list():
    sales = pending_sales(current_app.extensions["replica"].dataset)
    counts: dict[str, int] = {}
    for case, _ in sales:
        counts[case.town.name] = counts.get(case.town.name, 0) + 1
    items = "".join(
        f'<a href="PendPostbyTownDetails.aspx?town={e(town)}">{e(town)}</a>'
        f"<span> (</span><span>{n}</span><span>)</span><br>\n"
        for town, n in sorted(counts.items())
    )
    body = fill("sales_town_list.html", {"ITEMS": items})
    return Response(body, mimetype="text/html")


@bp.get("/PendPostbyTownDetails.aspx")
def town_details():
    town = (request.args.get("town") or request.args.get("Town") or "").strip()
    dataset = current_app.extensions["replica"].dataset
    rows = [
        cd for cd in pending_sales(dataset) if cd[0].town.name.lower() == town.lower()
    ]
    html_rows = "".join(
        fill(
            "sales_row.html",
            {
                "NUM": str(i + 1),
                "CTL": f"ctl{i + 2:02d}",
                "SALE_DATE": fmt(detail["sale_date"]),
                "SALE_TIME": SALE_TIME,
                "DOCKET": case.docket_no,
                "HEADING": _heading(case, detail),
                "POSTING_ID": str(posting_id(case)),
            },
        )
        for i, (case, detail) in enumerate(rows)
    )
    body = fill(
        "sales_town_details.html",
        {"TOWN_QUERY": e(town), "TOWN": e(town), "ROWS": html_rows},
    )
    return Response(body, mimetype="text/html")


@bp.get("/PendPostDetailPublic.aspx")
def notice_detail():
    wanted = request.args.get("PostingId", "")
    dataset = current_app.extensions["replica"].dataset
    found = [cd for cd in pending_sales(dataset) if str(posting_id(cd[0])) == wanted]
    if not found:
        abort(404)
    case, detail = found[0]
    p = "ctl00_cphBody_"
    fields = {
        "uEfileCaseInfo1_lblCaseCap": e(detail["caption"]),
        "uEfileCaseInfo1_lblFileDate": fmt(detail["file_date"]),
        "uEfileCaseInfo1_lblRetDate": fmt(detail["return_date"]),
        "lblSaleDate": fmt(detail["sale_date"]),
        "lblSaleTime": SALE_TIME,
        "lblHeading": _heading(case, detail),
        "lblBody": "The property will be sold at public auction. A certified check in "
        "the amount required by the court must be presented to bid.",
        "lblStatus": "",
    }
    spans = "".join(f'<span id="{p}{k}">{v}</span><br>\n' for k, v in fields.items())
    body = fill(
        "sales_notice.html",
        {
            "DOCKET": dockets.header_form(case.docket_no),
            "TOWN": e(case.town.name),
            "SPANS": spans,
        },
    )
    return Response(body, mimetype="text/html")
