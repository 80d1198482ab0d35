"""The do-not-contact list in the web UI: managers add a phone, an email or a
person at a property (from the case page or the list page); admins remove an entry,
with a reason. The list shows each entry by its last 4 characters and reason only:
it keeps no contact data (:mod:`ctforeclosure.services.suppressions`).
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from pydantic import Field

from ctforeclosure.db import parties
from ctforeclosure.services import suppressions as dnc
from ctforeclosure.skiptrace import normalize, service
from webui import params
from webui.auth import require_role
from webui.db import get_conn, write
from webui.params import QueryArgs, text

bp = Blueprint("suppressions", __name__, url_prefix="/suppressions")
REASON_TEXT = " | ".join(dnc.REASONS)


class AddForm(QueryArgs):
    """What to put on the list: exactly one of phone, email and party_id."""

    phone: text(40) = Field("", description="a US phone number")
    email: text(254) = Field("", description="an email address")
    party_id: int | None = Field(None, ge=1, le=params.MAX_ID, description="a party id")
    reason: Literal[tuple(dnc.REASONS)] = Field(description=REASON_TEXT)


class RemoveForm(QueryArgs):
    removal_reason: text(200) = Field(
        min_length=3, description="why, 3 to 200 characters"
    )


class Target:
    """A value to suppress: its kind, the value hashed, and where it came from."""

    def __init__(self, kind: str, value: str, docket_no=None, party_no=None):
        self.kind, self.value = kind, value
        self.docket_no, self.party_no = docket_no, party_no


def target(conn: sa.Connection, phone: str, email: str, party_id: int | None):
    """Return what a request asks to suppress; raise BadParameter naming the field
    that cannot be one (an API and the pages share this)."""
    given = [
        n for n, v in (("phone", phone), ("email", email), ("party_id", party_id)) if v
    ]
    if len(given) != 1:
        raise params.BadParameter("phone", "exactly one of phone, email, party_id")
    if phone:
        number = normalize.e164(phone)
        if number is None:
            raise params.BadParameter("phone", "a US phone number, 10 digits")
        return Target("phone", number)
    if email:
        if "@" not in email.strip("@"):
            raise params.BadParameter("email", "an email address")
        return Target("email", email)
    return person_target(conn, party_id)


def person_target(conn: sa.Connection, party_id: int) -> Target:
    """Return a party as a person at its case's property (the skip trace's key)."""
    row = conn.execute(
        sa.select(parties.c.docket_no, parties.c.party_no).where(
            parties.c.id == party_id
        )
    ).first()
    key = service.person_keys(conn, [party_id]).get(party_id)
    if row is None or key is None:
        raise params.BadParameter(
            "party_id", "a party that is a person (one skip tracing would trace)"
        )
    return Target("person", key, row.docket_no, row.party_no)


def add_target(conn: sa.Connection, found: Target, reason: str, actor: str):
    """Put a target on the list; raise AlreadyListed or NoKey."""
    return dnc.add(
        conn,
        found.kind,
        found.value,
        reason,
        actor,
        docket_no=found.docket_no,
        party_no=found.party_no,
    )


@bp.get("/")
@require_role("manager")
def index():
    """The do-not-contact list, newest first."""
    page = params.parse(params.PageArgs, request.args)
    entries = dnc.listed(
        get_conn(), limit=page.per_page, offset=(page.page - 1) * page.per_page
    )
    return render_template(
        "suppressions/index.html", entries=entries, reasons=dnc.REASONS, page=page
    )


@bp.post("/")
@require_role("manager")
def add():
    """Put a phone, an email or a person on the list (back to the case page)."""
    form = params.parse(AddForm, request.form)
    docket_no = request.form.get("docket_no", "")
    try:
        with write() as conn:
            found = target(conn, form.phone, form.email, form.party_id)
            entry = add_target(conn, found, form.reason, current_user.email)
        flash(f"On the do-not-contact list: {entry.kind} …{entry.last4 or ''}")
    except (dnc.AlreadyListed, dnc.NoKey) as exc:
        flash(str(exc))
    if docket_no:
        return redirect(url_for("cases.detail", docket_no=docket_no))
    return redirect(url_for("suppressions.index"))


@bp.post("/<int:entry_id>/remove")
@require_role("admin")
def remove(entry_id: int):
    """Take an entry off the list (admins, with a reason; audited)."""
    form = params.parse(RemoveForm, request.form)
    with write() as conn:
        if not dnc.remove(conn, entry_id, current_user.email, form.removal_reason):
            abort(404)
    flash("Removed from the do-not-contact list.")
    return redirect(url_for("suppressions.index"))
