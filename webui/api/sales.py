"""API resource: pending foreclosure sales, listed with the sales page's filters, and
one by one with its notice and its docket's sale history."""

from __future__ import annotations

from flask import jsonify, request

from webui import sales_queries
from webui.api.common import bp, error, row_dict, scope
from webui.db import get_conn

#: Stored bookkeeping a client has no use for.
_INTERNAL = ("listing_hash", "last_crawl_id")


def sale_json(row) -> dict:
    """Return a stored posting as the API shows it."""
    return row_dict(row, drop=_INTERNAL)


def history_json(conn, docket_no: str) -> list[dict]:
    """Return a docket's sale changes, each with its sentence."""
    return [
        {**row_dict(c), "text": sales_queries.describe(c)}
        for c in sales_queries.sale_history(conn, docket_no)
    ]


@bp.get("/sales")
@scope("read")
def sales_list():
    """List pending sales, soonest first (same arguments as the sales page)."""
    flt = sales_queries.SaleFilter.from_args(request.args)
    rows, total = sales_queries.list_sales(get_conn(), flt)
    return jsonify(
        {
            "total": total,
            "page": flt.page,
            "per_page": flt.per_page,
            "filters": flt.as_args(),
            "sales": [row_dict(r) for r in rows],
        }
    )


@bp.get("/sales/<int:posting_id>")
@scope("read")
def sale_detail(posting_id: int):
    """Return one posting with its notice and its docket's sale history."""
    conn = get_conn()
    sale = sales_queries.get_sale(conn, posting_id)
    if sale is None:
        return error(404, f"no such sale posting: {posting_id}")
    return jsonify({**sale_json(sale), "history": history_json(conn, sale.docket_no)})
