"""Leads in the web UI: one-click changes of a case's status, assignee, tags and
follow-up date, notes, bulk actions from the filtered list, the "My work" page
and the status list (admins).

Viewers read all of it; managers change leads and write notes; admins also edit
the status list. The rules and the audit records are
:mod:`ctforeclosure.services.leads`' and :mod:`ctforeclosure.services.notes`'.
"""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from pydantic import Field

from ctforeclosure import dockets
from ctforeclosure.parsers.court_clock import court_today
from ctforeclosure.services import lead_signals, leads, notes, suppressions
from webui import params, queries, timeline
from webui.auth import require_role
from webui.db import get_conn, write
from webui.params import Day, Flag, QueryArgs, text

bp = Blueprint("leads", __name__, url_prefix="/leads")
#: The assignee form's value for "nobody".
NOBODY = "-"


class LeadForm(QueryArgs):
    """One click on the case page: any of these, the others left as they are."""

    status: text(40) = Field("", description="a lead status name")
    assignee: text(254) = Field("", description=f"a staff email, or {NOBODY}")
    follow_up: Day = Field(None, description="a date, YYYY-MM-DD")
    clear_follow_up: Flag = Field(False, description=params.FLAG_TEXT)
    add_tags: text(200) = Field("", description="tags, comma-separated")
    remove_tag: text(40) = Field("", description="a tag")

    def change(self) -> leads.Change:
        values: dict = {}
        if self.status:
            values["status"] = self.status
        if self.assignee:
            values["assignee"] = None if self.assignee == NOBODY else self.assignee
        if self.follow_up or self.clear_follow_up:
            values["follow_up"] = None if self.clear_follow_up else self.follow_up
        return leads.Change(
            **values,
            add_tags=leads.split_tags(self.add_tags),
            remove_tags=leads.split_tags(self.remove_tag),
        )


class NoteForm(QueryArgs):
    body: text(notes.MAX_NOTE) = Field("", description="the note's text")
    party_id: int | None = Field(None, ge=1, le=params.MAX_ID, description="a party id")


class BulkForm(QueryArgs):
    action: Literal["status", "assign", "tag"] = Field(
        description="status | assign | tag"
    )
    value: text(254) = Field(description="the status, the staff email or the tag")


def case_context(conn, case, story: dict) -> dict:
    """Return what the case page shows of the lead: status, assignee, tags and
    follow-up; the signals and priority as of today; the one timeline; and the
    choices of its forms."""
    case_notes = notes.of_case(conn, case.docket_no)
    return {
        "lead": leads.get(conn, case.docket_no),
        "reading": lead_signals.read(
            case,
            story["entries"],
            story["parties"],
            court_today(),
            story["court_dates"],
        ),
        "rules": lead_signals.RULES,
        "timeline": timeline.build(story["entries"], story["changes"], case_notes),
        "notes_count": len(case_notes),
        "statuses": leads.statuses(conn),
        "staff": leads.staff(conn),
        "reasons": suppressions.REASONS,
        "nobody": NOBODY,
    }


def _case_or_404(docket_no: str) -> str:
    """Return the docket of a stored case; answer 404 for any other."""
    try:
        compact = dockets.compact(docket_no)
    except dockets.InvalidDocket:
        abort(404)
    if not queries.existing(get_conn(), [compact]):
        abort(404)
    return compact


def _apply(fn, success: str) -> bool:
    """Run a change in one transaction; flash what happened."""
    try:
        with write() as conn:
            fn(conn)
    except (leads.LeadError, notes.NoteError) as exc:
        flash(str(exc))
        return False
    flash(success)
    return True


def _back(docket_no: str):
    return redirect(url_for("cases.detail", docket_no=docket_no))


@bp.post("/case/<docket_no>")
@require_role("manager")
def update_case(docket_no: str):
    """Change one case's lead (status, assignee, follow-up, tags)."""
    compact = _case_or_404(docket_no)
    change = _form_change()
    _apply(lambda c: leads.update(c, [compact], change, current_user.email), "Saved.")
    return _back(compact)


def _form_change() -> leads.Change:
    form = params.parse(LeadForm, request.form)
    try:
        return form.change()
    except leads.LeadError as exc:
        raise params.BadParameter(
            "add_tags", "tags, comma-separated", str(exc)
        ) from None


@bp.post("/case/<docket_no>/notes")
@require_role("manager")
def add_note(docket_no: str):
    """Write a note on a case (optionally on one of its parties)."""
    compact = _case_or_404(docket_no)
    form = params.parse(NoteForm, request.form)
    _apply(
        lambda c: notes.add(c, compact, current_user.email, form.body, form.party_id),
        "Note added.",
    )
    return _back(compact)


@bp.post("/notes/<int:note_id>")
@require_role("manager")
def edit_note(note_id: int):
    """Change a note: its author, within the edit window."""
    form = params.parse(NoteForm, request.form)
    try:
        with write() as conn:
            note = notes.edit(conn, note_id, current_user.email, form.body)
    except notes.NoteError as exc:
        flash(str(exc))
        docket_no = notes.docket_of(get_conn(), note_id)
        return _back(docket_no) if docket_no else redirect(url_for("leads.mine"))
    flash("Note changed.")
    return _back(note.docket_no)


@bp.post("/bulk")
@require_role("manager")
def bulk():
    """Set the status, the assignee or a tag of the cases ticked in the list."""
    form = params.parse(BulkForm, request.form)
    ticked = request.form.getlist("docket_no")[:500]
    picked = queries.existing(get_conn(), [d for d in ticked if dockets.is_valid(d)])
    if not picked:
        raise params.BadParameter("docket_no", "one or more ticked cases")
    value = form.value
    change = {
        "status": leads.Change(status=value),
        "assign": leads.Change(assignee=None if value == NOBODY else value),
        "tag": leads.Change(add_tags=(value,)),
    }[form.action]
    _apply(
        lambda c: leads.update(c, picked, change, current_user.email),
        f"{len(picked)} cases changed.",
    )
    return redirect(request.form.get("back_to") or url_for("cases.index"))


@bp.get("/mine")
@require_role("viewer")
def mine():
    """My work: my open leads by status, and follow-ups due today or overdue."""
    conn = get_conn()
    mine_rows = leads.assigned_to(conn, current_user.email)
    today = court_today()
    due = [r for r in mine_rows if r.follow_up and r.follow_up <= today]
    by_status: dict[str, list] = {}
    for r in mine_rows:
        by_status.setdefault(r.status, []).append(r)
    return render_template("leads/mine.html", due=due, by_status=by_status, today=today)


@bp.route("/statuses", methods=["GET", "POST"])
@require_role("viewer")
def statuses():
    """The lead status list; admins rename, reorder, add and delete."""
    if request.method == "POST":
        if not current_user.can("admin"):
            abort(403)
        _edit_statuses()
        return redirect(url_for("leads.statuses"))
    return render_template("leads/statuses.html", statuses=leads.statuses(get_conn()))


class StatusForm(QueryArgs):
    do: Literal["add", "rename", "up", "down", "delete"] = Field(
        description="add | rename | up | down | delete"
    )
    status_id: int = Field(0, ge=0, le=params.MAX_ID, description="a status id")
    name: text(40) = Field("", description="a status name of 1 to 40 characters")
    closed: Flag = Field(False, description=params.FLAG_TEXT)


def _edit_statuses() -> None:
    form = params.parse(StatusForm, request.form)
    actor, sid = current_user.email, form.status_id
    actions = {
        "add": lambda c: leads.add_status(c, form.name, form.closed, actor),
        "rename": lambda c: leads.rename_status(c, sid, form.name, actor),
        "up": lambda c: leads.move_status(c, sid, -1, actor),
        "down": lambda c: leads.move_status(c, sid, 1, actor),
        "delete": lambda c: leads.delete_status(c, sid, actor),
    }
    _apply(actions[form.do], "Status list saved.")
