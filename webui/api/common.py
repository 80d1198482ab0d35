"""What the API's resources share: the blueprint, the scope each route needs,
errors, paging and JSON-friendly values, and the skip-trace results several
resources show. Checking tokens, scopes and the rate limit is
:mod:`webui.api.guard`'s.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, abort, g, jsonify

from ctforeclosure import dockets
from ctforeclosure.services.tokens import SCOPES
from webui import masking, queries

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def plain(value):
    """Return a JSON-friendly value (ISO dates, decimal strings)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def row_dict(row, *, drop=()) -> dict:
    """Return a row as a JSON-friendly dict, without the ``drop`` columns."""
    return {k: plain(v) for k, v in row._mapping.items() if k not in drop}


def error(status: int, message: str, **extra):
    """Return a JSON error response."""
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def accepted(body: dict):
    """Return a 202 response: the work goes on in the background."""
    response = jsonify(body)
    response.status_code = 202
    return response


def scope(name: str):
    """Declare the token scope a route needs (decorate the view, under the route).

    The guard refuses a request whose token lacks it, and a route that declares
    none (a test walks every route for one).
    """
    if name not in SCOPES:
        raise ValueError(f"unknown scope {name!r}")

    def declare(view):
        view.required_scope = name
        return view

    return declare


def required_scope(view) -> str | None:
    """Return the scope a view declared with :func:`scope`, or None."""
    return getattr(view, "required_scope", None)


def require(role: str) -> None:
    """Answer 403 unless the token's user has ``role``."""
    if not g.api_user.can(role):
        abort(error(403, f"needs the {role} role"))


def page_of(statement: sa.Select, flt: queries.CaseFilter) -> sa.Select:
    """Return the statement limited to the filter's page."""
    return statement.limit(flt.per_page).offset((flt.page - 1) * flt.per_page)


def compact_or_404(docket_no: str) -> str:
    """Return the docket number without spaces or dashes; answer 404 if it is none."""
    try:
        return dockets.compact(docket_no)
    except dockets.InvalidDocket:
        abort(error(404, f"not a docket number: {docket_no}"))


def contacts_visible() -> bool:
    """Whether this request sees phones, emails and mailing addresses unmasked: its
    token has the ``contacts`` scope (which only a manager's or an admin's keeps)."""
    return "contacts" in g.api_scopes


def traces_json(traces: list[queries.TraceResult]) -> list[dict]:
    """Return skip-trace results, contacts masked unless :func:`contacts_visible`."""
    visible = contacts_visible()
    return [
        {
            "id": t.id,
            "status": t.status,
            "sandbox": t.sandbox,
            "fetched_at": plain(t.fetched_at),
            "mailing_address": t.mailing_address if visible else None,
            "phones": [
                {
                    "number": p.number if visible else masking.mask_phone(p.number),
                    "type": p.type,
                    "dnc": p.dnc,
                    "tcpa": p.tcpa,
                    "rank": p.rank,
                }
                for p in t.phones
            ],
            "emails": [
                e.email if visible else masking.mask_email(e.email) for e in t.emails
            ],
        }
        for t in traces
    ]
