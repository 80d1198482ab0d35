"""What the API's resources share: the blueprint, the scope each route needs,
errors, paging and JSON-friendly values, and the skip-trace results several
resources show (as the contacts policy, :mod:`ctforeclosure.services.contacts`,
allows, and only to a token with the ``contacts`` scope: DNC/TCPA phones only with
an explicit ``include_dnc=true``, every reveal audited). Checking tokens, scopes and
the rate limit is :mod:`webui.api.guard`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, abort, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ctforeclosure import dockets
from ctforeclosure.services import contacts
from ctforeclosure.services.tokens import SCOPES
from webui import params, queries, reveal
from webui.db import get_conn

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


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _json_http_error(exc: HTTPException):
    """Answer an unknown ``/api/`` path or method in JSON (pages keep theirs)."""
    if not request.path.startswith("/api/"):
        return exc
    if exc.code == 405:
        allowed = sorted(exc.valid_methods or ())
        response = error(405, f"{request.method} is not allowed here", allowed=allowed)
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return error(404, "no such API path (see /api/v1/openapi.json)")


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


def may_see_contacts() -> bool:
    """Whether this request sees phones and emails unmasked: the policy allows the
    token's user, and the token has the ``contacts`` scope (which only the roles
    the policy allows can keep)."""
    return contacts.may_see(g.api_user) and "contacts" in g.api_scopes


def include_dnc_param() -> bool:
    """Return whether ``include_dnc=true`` asks for DNC/TCPA phones; a value that is
    not a flag is a 400 naming it, and asking without seeing contacts a 403."""
    value = request.args.get("include_dnc", "").strip().lower()
    if value and value not in params.FLAG_TRUE | params.FLAG_FALSE:
        raise params.BadParameter("include_dnc", params.FLAG_TEXT)
    asked = value in params.FLAG_TRUE
    if asked and not contacts.may_see(g.api_user):
        abort(
            error(
                403,
                f"include_dnc needs the {contacts.CONTACTS_ROLE} role",
                parameter="include_dnc",
            )
        )
    if asked and not may_see_contacts():
        abort(
            error(
                403,
                "include_dnc: this token lacks the contacts scope",
                parameter="include_dnc",
                missing_scope="contacts",
            )
        )
    return asked


def revealed_traces(
    traces: Mapping[int, Sequence[queries.TraceResult]],
    scope: dict,
    person_keys: Mapping[int, str] | None = None,
) -> contacts.Revealed:
    """Return the skip-trace results as the contacts policy allows, and audit the
    response if it reveals any (one record per response)."""
    asker = contacts.Asker(
        actor=g.api_user.email,
        sees_contacts=may_see_contacts(),
        include_dnc=include_dnc_param(),
    )
    return reveal.reveal_audited(get_conn(), asker, traces, "api", scope, person_keys)


def _phone_json(p: contacts.ShownPhone) -> dict:
    return {
        "number": p.number,
        "type": p.type,
        "dnc": p.dnc,
        "tcpa": p.tcpa,
        "flagged": p.flagged,
        "rank": p.rank,
        "suppressed": False,
        "callable": p.callable,
        "verdict": p.verdict,
    }


def _withheld_json(w: contacts.Withheld) -> dict:
    """A number on the do-not-contact list: flagged and masked, never callable."""
    return {
        "number": w.masked,
        "type": None,
        "dnc": None,
        "tcpa": None,
        "flagged": True,
        "rank": None,
        "suppressed": True,
        "callable": False,
        "verdict": w.verdict,
    }


def traces_json(traces: list[contacts.ShownTrace]) -> list[dict]:
    """Return skip-trace results as the contacts policy returned them: numbers on
    the do-not-contact list among the phones, masked and flagged ``suppressed``."""
    return [
        {
            "id": t.id,
            "status": t.status,
            "sandbox": t.sandbox,
            "fetched_at": plain(t.fetched_at),
            "mailing_address": t.mailing_address,
            "phones": [_phone_json(p) for p in t.phones]
            + [_withheld_json(w) for w in t.withheld if w.kind == "phone"],
            "emails": t.emails,
            "withheld_emails": [w.masked for w in t.withheld if w.kind == "email"],
            "flagged_hidden": t.flagged_hidden,
        }
        for t in traces
    ]
