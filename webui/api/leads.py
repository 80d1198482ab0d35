"""API resource: a case's lead (status, assignee, tags, follow-up) and its notes.

Reading needs ``read``; changing needs the ``leads`` scope and the manager role.
The rules and the audit records are :mod:`ctforeclosure.services.leads`' and
:mod:`ctforeclosure.services.notes`'.
"""

from __future__ import annotations

from flask import abort, g, jsonify
from pydantic import Field

from ctforeclosure.services import leads, notes
from webui import params, queries
from webui.api.common import bp, compact_or_404, error, require, scope
from webui.db import get_conn, write
from webui.params import JsonBody, text

#: The body's "leave as it is": a key left out. null clears the assignee or date.
_KEEP = leads.UNSET


class LeadBody(JsonBody):
    status: text(40) | None = Field(None, description="a lead status name")
    assignee: text(254) | None = Field(
        None, description="a manager's or admin's email; null for nobody"
    )
    follow_up: params.Day | None = Field(
        None, description="a date, YYYY-MM-DD; null clears"
    )
    tags: list[text(40)] | None = Field(
        None, max_length=50, description="the lead's tags (replaces them)"
    )

    def change(self, current: leads.Lead) -> leads.Change:
        given = self.model_fields_set
        tags = set(leads.split_tags(self.tags or ())) if "tags" in given else None
        return leads.Change(
            status=self.status if self.status else _KEEP,
            assignee=self.assignee if "assignee" in given else _KEEP,
            follow_up=self.follow_up if "follow_up" in given else _KEEP,
            add_tags=tuple(sorted(tags - set(current.tags)))
            if tags is not None
            else (),
            remove_tags=tuple(sorted(set(current.tags) - tags))
            if tags is not None
            else (),
        )


class NoteBody(JsonBody):
    body: text(notes.MAX_NOTE) = Field(description="the note's text")
    party_id: int | None = Field(
        None, ge=1, le=params.MAX_ID, description="one of the case's parties"
    )


def _case_or_404(docket_no: str) -> str:
    compact = compact_or_404(docket_no)
    if queries.get_case(get_conn(), compact) is None:
        abort(error(404, f"no such case: {compact}"))
    return compact


def _managers_change(docket_no: str, model: type[JsonBody]):
    """Refuse all but managers and up; return the case's docket and the body."""
    require("manager")
    return _case_or_404(docket_no), params.json_body(model)


@bp.patch("/cases/<docket_no>/lead")
@scope("leads")
def lead_update(docket_no: str):
    """Change a case's lead: status, assignee, follow-up date, tags (managers)."""
    compact, body = _managers_change(docket_no, LeadBody)
    try:
        with write() as conn:
            change = body.change(leads.get(conn, compact))
            leads.update(conn, [compact], change, g.api_user.email)
    except leads.LeadError as exc:
        return error(400, str(exc))
    return jsonify(leads.get(get_conn(), compact).as_dict())


@bp.get("/cases/<docket_no>/notes")
@scope("read")
def notes_list(docket_no: str):
    """A case's notes, newest first."""
    compact = _case_or_404(docket_no)
    return jsonify([n.as_dict() for n in notes.of_case(get_conn(), compact)])


@bp.post("/cases/<docket_no>/notes")
@scope("leads")
def notes_add(docket_no: str):
    """Write a note on a case (managers)."""
    compact, body = _managers_change(docket_no, NoteBody)
    try:
        with write() as conn:
            note = notes.add(conn, compact, g.api_user.email, body.body, body.party_id)
    except notes.NoteError as exc:
        return error(400, str(exc))
    response = jsonify(note.as_dict())
    response.status_code = 201
    return response
