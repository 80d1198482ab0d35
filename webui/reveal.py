"""How the web UI asks the contacts policy (:mod:`ctforeclosure.services.contacts`):
whether a page's request asked for DNC/TCPA phones, the signed-in user as the asker,
and one reveal that writes its audit record when it shows anything. The case page,
the exports and the API all reveal through here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask import Response, abort, request
from flask_login import current_user

from ctforeclosure.services import contacts
from webui import queries
from webui.db import write


def include_dnc_asked() -> bool:
    """Return whether DNC/TCPA phones were asked for: only a POST's form may ask
    (CSRF-checked); in a URL the parameter is refused (400) rather than ignored, so
    a cross-site link cannot ask for them."""
    if "include_dnc" in request.args:
        abort(
            Response(
                "include_dnc is only accepted from the form (POST), not in a URL",
                status=400,
                mimetype="text/plain",
            )
        )
    asked = request.method == "POST" and request.form.get("include_dnc") == "1"
    if asked and not current_user.sees_contacts:
        abort(
            Response(
                f"include_dnc needs the {contacts.CONTACTS_ROLE} role",
                status=403,
                mimetype="text/plain",
            )
        )
    return asked


def page_asker(include_dnc: bool) -> contacts.Asker:
    """Return the signed-in user as the contacts policy's asker."""
    return contacts.Asker(
        actor=current_user.email,
        sees_contacts=current_user.sees_contacts,
        include_dnc=include_dnc,
    )


def reveal_audited(
    conn,
    asker: contacts.Asker,
    traces: Mapping[int, Sequence[queries.TraceResult]],
    kind: str,
    scope: dict,
    person_keys: Mapping[int, str] | None = None,
) -> contacts.Revealed:
    """Return the results as the policy lets ``asker`` see them; when that reveals
    anything, audit it (in its own transaction: the reads are autocommit).
    ``person_keys`` (party id -> the skip trace's person key) lets the
    do-not-contact list's people be found among parties never traced."""
    suppressed = contacts.suppressions(conn, traces, person_keys)
    shown = contacts.reveal(asker, traces, suppressed)
    if shown.anything:
        with write() as audit_conn:
            contacts.audit_reveal(
                audit_conn,
                shown,
                kind=kind,
                target=request.path,
                scope={**scope, "party_ids": shown.party_ids()},
            )
    return shown
