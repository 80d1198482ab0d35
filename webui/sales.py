"""Sales: the pending foreclosure sales (auctions) by week, and one sale's notice.

Staff plan their week around these sales. The list reads only postings still on the
court's pending-sales site (``ctforeclosure.store.sales``), soonest first, grouped
by this week, next week and later; the same filters drive ``GET /api/v1/sales`` and
the sales exports (:mod:`webui.sales_queries`).
"""

from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template, request

from ctforeclosure import towns as ct_towns
from ctforeclosure.parsers.court_clock import COURT_TZ, court_today
from webui import params, sales_queries
from webui.db import get_conn

bp = Blueprint("sales", __name__, url_prefix="/sales")
#: The court's calendar: "this week" is a week in Connecticut.
SALE_TZ = COURT_TZ


def _render(flt, rows=(), total=0, problem=None):
    today = court_today()
    return render_template(
        "sales/index.html",
        flt=flt,
        groups=sales_queries.week_groups(rows, today),
        total=total,
        problem=problem,
        counties=ct_towns.counties(),
        statuses=sales_queries.SALE_STATUSES,
        export_args={k: v for k, v in request.args.items() if k != "page"},
    )


@bp.get("/")
def index():
    """List the pending sales matching the filters, by week."""
    try:
        flt = sales_queries.SaleFilter.from_args(request.args)
    except params.BadParameter as exc:
        return make_response(_render(sales_queries.SaleFilter(), problem=exc), 400)
    rows, total = sales_queries.list_sales(get_conn(), flt)
    return _render(flt, rows, total)


@bp.get("/<int:posting_id>")
def detail(posting_id: int):
    """Show one sale's notice: date, terms, committee and the notice's text."""
    conn = get_conn()
    sale = sales_queries.get_sale(conn, posting_id)
    if sale is None:
        abort(404)
    return render_template(
        "sales/detail.html",
        sale=sale,
        history=sales_queries.sale_history(conn, sale.docket_no),
    )
