"""Subscriptions in the web UI: "Get notified" on a saved search (which events, by
email immediately or in a daily digest, and/or a signed webhook), and the
"Notification settings" page listing the user's own subscriptions to edit or
delete.

A user subscribes only to a saved search they may see (their own or a shared one:
:mod:`ctforeclosure.services.saved_searches` decides) and sees and changes only
their own subscriptions; anyone else's is a 404, as if it did not exist. The
rules, the encryption of the webhook's address and secret, and the audit records
are :mod:`ctforeclosure.services.subscriptions`'. A webhook's secret is shown
once, on the page that answers the saving, with how to check a signature; it is
never shown again (rotate it to get a new one).

A refused value re-shows the form with the field named (status 400), as every
form here does (:mod:`webui.params`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    url_for,
)
from flask import request as flask_request
from flask_login import current_user
from pydantic import Field

from ctforeclosure.services import saved_searches, subscriptions
from webui import params, subscription_forms
from webui.db import get_conn, write
from webui.subscription_forms import EMAIL_MODES, EVENT_LABELS

bp = Blueprint("subscriptions", __name__, url_prefix="/subscriptions")


class NewArgs(params.QueryArgs):
    saved_search_id: int = Field(
        ge=1, le=params.MAX_ID, description=subscription_forms.SEARCH_TEXT
    )


def secret_key() -> str:
    """The key the webhook's address and secret are encrypted under."""
    return current_app.config["SECRET_KEY"]


def keys() -> dict:
    """What the service needs besides the user's choices: the key the webhook's
    address and secret are encrypted under, and the hosts a webhook may reach
    over http:// or at a private address."""
    hosts = current_app.config["WEBHOOK_ALLOW_HOSTS"]
    return {"secret_key": secret_key(), "allow_hosts": hosts}


def webhook_host(sub: subscriptions.Subscription) -> str | None:
    """Where the webhook goes, as shown (its whole address may hold a token)."""
    if sub.webhook_broken:
        return "(unreadable: set its address again)"
    return urlsplit(sub.webhook_url).hostname if sub.webhook_url else None


def search_names(conn, user_id: int) -> dict[int, str]:
    """The names of the saved searches the user sees, by id."""
    return {s.id: s.name for s in saved_searches.visible(conn, user_id)}


def _search_or_404(search_id: int) -> saved_searches.SavedSearch:
    search = saved_searches.get_visible(get_conn(), search_id, current_user.id)
    if search is None:
        abort(404)
    return search


def _mine_or_404(sub_id: int) -> subscriptions.Subscription:
    sub = subscriptions.get(get_conn(), sub_id, current_user.id, secret_key())
    if sub is None:
        abort(404)
    return sub


def _form_page(search, sub=None, problem=None, status: int = 200):
    """The "Get notified" form for ``search``: blank, or ``sub``'s values; after
    a refusal, what was posted with the problem named."""
    page = render_template(
        "subscriptions/form.html",
        search=search,
        sub=sub,
        host=webhook_host(sub) if sub else None,
        problem=problem,
        posted=flask_request.form if problem else None,
        event_labels=EVENT_LABELS,
        email_modes=EMAIL_MODES,
    )
    return make_response(page, status)


def _refused(search, sub, exc: subscriptions.SubscriptionError):
    accepts = subscription_forms.ACCEPTS.get(exc.parameter, "")
    problem = params.BadParameter(exc.parameter, accepts, str(exc))
    return _form_page(search, sub, problem, 400)


@bp.get("/")
def index():
    """List the user's subscriptions (the "Notification settings" page)."""
    conn = get_conn()
    mine = subscriptions.list_for_user(conn, current_user.id, secret_key())
    return render_template(
        "subscriptions/index.html",
        subscriptions=mine,
        names=search_names(conn, current_user.id),
        host=webhook_host,
        event_labels=EVENT_LABELS,
        email_modes=EMAIL_MODES,
    )


@bp.get("/new")
def new():
    """Show the "Get notified" form for a saved search the user sees."""
    args = params.parse(NewArgs, flask_request.args)
    return _form_page(_search_or_404(args.saved_search_id))


@bp.post("/")
def create():
    """Subscribe to a saved search (audited); a webhook's secret is shown once."""
    search_id = params.parse(NewArgs, flask_request.form).saved_search_id
    search = _search_or_404(search_id)
    try:
        form = subscription_forms.form(flask_request.form)
        with write() as conn:
            made = subscriptions.create(
                conn,
                current_user.user,
                search.id,
                webhook_url=form.webhook_url or None,
                **subscription_forms.choices(form),
                **keys(),
            )
    except params.BadParameter as exc:
        return _form_page(search, None, exc, 400)
    except subscriptions.SubscriptionError as exc:
        return _refused(search, None, exc)
    return _saved(search, made, "Subscribed")


def _saved(search, made: subscriptions.Created, verb: str):
    """Say what was done; with a new webhook secret, show it (once)."""
    if made.webhook_secret is None:
        flash(f"{verb}: notifications of {search.name!r} are set.")
        return redirect(url_for("subscriptions.index"))
    return render_template(
        "subscriptions/secret.html",
        search=search,
        host=webhook_host(made.subscription),
        secret=made.webhook_secret,
        verb=verb,
    )


@bp.get("/<int:sub_id>")
def edit_form(sub_id: int):
    """Show the form of one of the user's subscriptions."""
    sub = _mine_or_404(sub_id)
    return _form_page(_search_or_404(sub.saved_search_id), sub)


@bp.post("/<int:sub_id>")
def edit(sub_id: int):
    """Change one of the user's subscriptions (audited); a blank address keeps
    its webhook (the address is never shown back)."""
    sub = _mine_or_404(sub_id)
    search = _search_or_404(sub.saved_search_id)
    try:
        form = subscription_forms.form(flask_request.form)
        changes = {"webhook_url": ""} if form.remove_webhook else {}
        if form.webhook_url and not form.remove_webhook:
            changes["webhook_url"] = form.webhook_url
        with write() as conn:
            changed = subscriptions.update(
                conn,
                current_user.user,
                sub.id,
                **subscription_forms.choices(form),
                **changes,
                **keys(),
            )
    except params.BadParameter as exc:
        return _form_page(search, sub, exc, 400)
    except subscriptions.SubscriptionError as exc:
        return _refused(search, sub, exc)
    return _saved(search, changed, "Changed")


@bp.post("/<int:sub_id>/secret")
def rotate(sub_id: int):
    """Give the subscription's webhook a new secret, shown once (audited)."""
    sub = _mine_or_404(sub_id)
    if sub.webhook_url is None:
        abort(404)
    search = _search_or_404(sub.saved_search_id)
    with write() as conn:
        made = subscriptions.update(
            conn, current_user.user, sub.id, new_secret=True, **keys()
        )
    return _saved(search, made, "New secret")


@bp.post("/<int:sub_id>/delete")
def delete(sub_id: int):
    """Delete one of the user's subscriptions (audited)."""
    sub = _mine_or_404(sub_id)
    with write() as conn:
        subscriptions.delete(conn, current_user.user, sub.id)
    name = search_names(get_conn(), current_user.id).get(sub.saved_search_id, "")
    flash(f"Deleted the notifications of {name!r}.")
    return redirect(url_for("subscriptions.index"))


@bp.get("/verifying")
def verifying():
    """How a webhook's receiver checks the signature (the recipe)."""
    return render_template("subscriptions/verifying.html")
