"""Pending foreclosure sales pages (sso.eservices.jud.ct.gov/foreclosures/Public/).

Shaped like docs/SITES.md §5 from the same generated cases (which postings exist
and how they evolve: ``sales_state.py``):

- ``PendPostbyTownList.aspx``: towns with pending sales, each with its count, in
  either markup scrapers describe (§5.1, never captured: UNVERIFIED): (a) the flat
  list in ``div#ctl00_cphBody_Panel1`` (default) or (b) the ``cphBody_GridView1``
  table with ``lblTownCount`` spans and town values with trailing spaces
  (option ``sales_index_layout="grid"``).
- ``PendPostbyTownDetails.aspx?town=<Town>``: the per-town table, markup from the
  (scrubbed) Fairfield capture; a cancelled sale keeps its row with
  "CANCELLED - ..." appended.
- ``PendPostDetailPublic.aspx?PostingId=N``: the notice, with the ids scrapers use
  (§5.3, code and mocks only: UNVERIFIED), with the ``ctl00_`` prefix for even
  posting ids and without it for odd ones (both were seen).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, request

from ctforeclosure import dockets

from .data import fmt
from .html import e, fill
from .sales_state import (
    HEADINGS,
    LIST_CANCEL_TEXT,
    NOTICE_CANCEL_TEXT,
    SALE_TIME,
    Posting,
    committee,
    pending_sales,
)

bp = Blueprint("sales", __name__)
#: Town values in markup (b) carry trailing spaces ("Milford   ") [CODE].
GRID_TOWN_PADDING = "   "
SERVER_ERROR = "<html><body><h1>Server Error in '/' Application.</h1></body></html>"
#: How long before the sale the notice runs (UNVERIFIED: never captured).
NOTICE_DAYS = timedelta(days=21)


def _heading(posting: Posting) -> str:
    street = ", ".join(p for p in (posting.street, posting.unit) if p)
    case = posting.case
    text = HEADINGS[posting.heading_form].format(
        ptype=posting.ptype, street=e(street), town=case.town.name, zip=case.zip
    )
    if posting.cancelled == "list":
        text += f" <br> {LIST_CANCEL_TEXT}"
    return text


def _counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for posting in pending_sales(current_app.extensions["replica"].dataset):
        name = posting.case.town.name
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


@bp.get("/PendPostbyTownList.aspx")
def town_list():
    counts = _counts()
    if current_app.extensions["replica"].options.sales_index_layout == "grid":
        items = "".join(
            f'<tr><td><a id="cphBody_GridView1_hlnkTown_{i}" '
            f'href="PendPostbyTownDetails.aspx?Town={e(town)}{GRID_TOWN_PADDING}">'
            f"{e(town)}</a></td><td>"
            f'<span id="cphBody_GridView1_lblTownCount_{i}">{n}</span></td></tr>\n'
            for i, (town, n) in enumerate(counts.items())
        )
        body = fill("sales_town_list_grid.html", {"ROWS": items})
    else:
        items = "".join(
            f'<a href="PendPostbyTownDetails.aspx?town={e(town)}">{e(town)}</a>'
            f"<span> (</span><span>{n}</span><span>)</span><br>\n"
            for town, n in counts.items()
        )
        body = fill("sales_town_list.html", {"ITEMS": items})
    return Response(body, mimetype="text/html")


@bp.get("/PendPostbyTownDetails.aspx")
def town_details():
    town = (request.args.get("town") or request.args.get("Town") or "").strip()
    dataset = current_app.extensions["replica"].dataset
    rows = [
        p for p in pending_sales(dataset) if p.case.town.name.lower() == town.lower()
    ]
    html_rows = "".join(
        fill(
            "sales_row.html",
            {
                "NUM": str(i + 1),
                "CTL": f"ctl{i + 2:02d}",
                "SALE_DATE": fmt(posting.sale_date),
                "SALE_TIME": SALE_TIME,
                "DOCKET": posting.case.docket_no,
                "HEADING": _heading(posting),
                "POSTING_ID": str(posting.posting_id),
            },
        )
        for i, posting in enumerate(rows)
    )
    body = fill(
        "sales_town_details.html",
        {"TOWN_QUERY": e(town), "TOWN": e(town), "ROWS": html_rows},
    )
    return Response(body, mimetype="text/html")


def _notice_fields(posting: Posting, detail: dict) -> dict[str, str]:
    name, address, phone, email = committee(posting)
    return {
        "uEfileCaseInfo1_lblCaseCap": e(detail["caption"]),
        "uEfileCaseInfo1_lblFileDate": fmt(detail["file_date"]),
        "uEfileCaseInfo1_lblRetDate": fmt(detail["return_date"]),
        "lblSaleDate": posting.sale_date.strftime("%b %d, %Y"),
        "lblSaleTime": SALE_TIME,
        "lblInsp": "Open house one hour before the sale",
        "lblNoticeFrom": fmt(posting.sale_date - NOTICE_DAYS),
        "lblNoticeThru": fmt(posting.sale_date),
        "lblHeading": _heading(posting),
        "lblBody": "The property will be sold at public auction on the premises."
        "<br>A deposit by certified check or bank check in the amount of "
        f"${posting.deposit:,.2f} must be presented to bid."
        "<br>The sale is subject to the approval of the court.",
        "lblCommittee": f"{name}<br>{e(address)}<br>{phone}<br>{email}",
        "lblStatus": NOTICE_CANCEL_TEXT if posting.cancelled == "notice" else "",
    }


@bp.get("/PendPostDetailPublic.aspx")
def notice_detail():
    wanted = request.args.get("PostingId", "")
    dataset = current_app.extensions["replica"].dataset
    found = [p for p in pending_sales(dataset) if str(p.posting_id) == wanted]
    if not found:
        abort(404)
    if "sales-notice-500" in current_app.extensions["replica"].options.faults:
        return Response(SERVER_ERROR, status=500, mimetype="text/html")
    posting = found[0]
    case = posting.case
    prefix = "ctl00_cphBody_" if posting.posting_id % 2 == 0 else "cphBody_"
    fields = _notice_fields(posting, dataset.detail(case))
    spans = "".join(
        f'<span id="{prefix}{k}">{v}</span><br>\n' for k, v in fields.items()
    )
    body = fill(
        "sales_notice.html",
        {
            "PREFIX": prefix,
            "DOCKET": dockets.header_form(case.docket_no),
            "DOCKET_COMPACT": case.docket_no,
            "TOWN": e(case.town.name),
            "SPANS": spans,
            "POSTING_ID": str(posting.posting_id),
        },
    )
    return Response(body, mimetype="text/html")
