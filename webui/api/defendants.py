"""API resource: defendants (the ``parties`` rows with role D), with their case and
skip-trace results."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, jsonify, request

from ctforeclosure.db import cases, parties
from webui import params, queries
from webui.api.common import (
    bp,
    compact_or_404,
    error,
    page_of,
    revealed_traces,
    row_dict,
    scope,
    traces_json,
)
from webui.db import get_conn

DEFENDANT_COLUMNS = (
    parties.c.id,
    parties.c.docket_no,
    parties.c.party_no,
    parties.c.category,
    parties.c.name,
    parties.c.non_appearing,
    parties.c.removed_at,
)


def party_or_404(party_id: int):
    """Return one party's row; answer 404 if there is none."""
    row = (
        get_conn()
        .execute(
            sa.select(*DEFENDANT_COLUMNS, parties.c.role).where(
                parties.c.id == party_id
            )
        )
        .first()
    )
    if row is None:
        abort(error(404, f"no such party: {party_id}"))
    return row


@bp.get("/defendants")
@scope("read")
def defendants_list():
    """List defendants, optionally those whose name contains ``q``, paginated."""
    flt = params.parse(params.SearchArgs, request.args)
    q = flt.q
    where = [parties.c.role == "D"]
    if q:
        where.append(parties.c.name.ilike(queries.like_pattern(q), escape="\\"))
    conn = get_conn()
    total = conn.execute(
        sa.select(sa.func.count()).select_from(parties).where(*where)
    ).scalar_one()
    rows = conn.execute(
        page_of(sa.select(*DEFENDANT_COLUMNS).where(*where).order_by(parties.c.id), flt)
    ).all()
    return jsonify(
        {
            "total": total,
            "page": flt.page,
            "per_page": flt.per_page,
            "defendants": [row_dict(r) for r in rows],
        }
    )


@bp.get("/defendants/<int:party_id>")
@scope("read")
def defendant_detail(party_id: int):
    """Return one party with its case summary and skip-trace results (DNC/TCPA
    phones only with ``include_dnc=true``, managers)."""
    conn = get_conn()
    party = party_or_404(party_id)
    case = conn.execute(
        sa.select(*queries.LIST_COLUMNS).where(cases.c.docket_no == party.docket_no)
    ).first()
    traces = queries.skiptrace_by_party(conn, [party_id])
    shown = revealed_traces(traces, {})
    return jsonify(
        {
            **row_dict(party),
            "case": row_dict(case) if case else None,
            "skiptraces": traces_json(shown.by_party.get(party_id, [])),
        }
    )


@bp.get("/defendants/by-case/<docket_no>")
@scope("read")
def defendants_by_case(docket_no: str):
    """List one case's defendants."""
    compact = compact_or_404(docket_no)
    rows = (
        get_conn()
        .execute(
            sa.select(*DEFENDANT_COLUMNS)
            .where(parties.c.docket_no == compact, parties.c.role == "D")
            .order_by(parties.c.party_no)
        )
        .all()
    )
    return jsonify([row_dict(r) for r in rows])
