"""API resource: the do-not-contact list.

``GET`` lists the active entries (managers; last 4 characters and reason only, the
list keeps no contact data). ``POST`` adds a ``phone``, an ``email``, or a person at
a property (``party_id``: a defendant of a case, traced by name and the case's
property address) with a ``reason`` (managers, ``leads`` scope). ``DELETE`` removes
an entry with a ``reason`` (admins). Every change is audited.
"""

from __future__ import annotations

from typing import Literal

from flask import abort, g, jsonify, request
from pydantic import Field

from ctforeclosure.services import suppressions as dnc
from webui import params
from webui.api.common import bp, error, require, scope
from webui.db import get_conn, write
from webui.params import JsonBody, text
from webui.suppressions import REASON_TEXT, add_target, target


class SuppressionBody(JsonBody):
    phone: text(40) = Field("", description="a US phone number")
    email: text(254) = Field("", description="an email address")
    party_id: int | None = Field(
        None, ge=1, le=params.MAX_ID, description="a defendant's party id"
    )
    reason: Literal[tuple(dnc.REASONS)] = Field(description=REASON_TEXT)


class RemovalArgs(params.QueryArgs):
    reason: text(200) = Field(min_length=3, description="why, 3 to 200 characters")


@bp.get("/suppressions")
@scope("read")
def suppressions_list():
    """The do-not-contact list (managers): kind, last 4, reason, who and when."""
    require("manager")
    page = params.parse(params.PageArgs, request.args)
    entries = dnc.listed(
        get_conn(), limit=page.per_page, offset=(page.page - 1) * page.per_page
    )
    return jsonify([e.as_dict() for e in entries])


@bp.post("/suppressions")
@scope("leads")
def suppressions_add():
    """Put a phone, an email or a person on the list (managers)."""
    require("manager")
    body = params.json_body(SuppressionBody)
    try:
        with write() as conn:
            found = target(conn, body.phone, body.email, body.party_id)
            entry = add_target(conn, found, body.reason, g.api_user.email)
    except dnc.AlreadyListed as exc:
        return error(409, str(exc))
    except dnc.NoKey as exc:
        return error(503, str(exc))
    response = jsonify(entry.as_dict())
    response.status_code = 201
    return response


@bp.delete("/suppressions/<int:entry_id>")
@scope("leads")
def suppressions_remove(entry_id: int):
    """Take an entry off the list (admins, with a ``reason``; audited)."""
    require("admin")
    args = params.parse(RemovalArgs, request.args)
    with write() as conn:
        if not dnc.remove(conn, entry_id, g.api_user.email, args.reason):
            abort(error(404, f"no active entry {entry_id}"))
    return jsonify({"removed": entry_id})
