"""API resource: subscriptions on saved searches and the notifications they made
(scope ``leads``, as saved searches).

A token sees and changes its user's own subscriptions only: another user's is a
404, as if it did not exist; so is subscribing to a saved search the user may not
see (another user's private one). A webhook's secret is in the answer to the POST
that made the webhook, and to an explicit rotation, never in a GET; the webhook's
address is never returned either (only its host). The rules, the encryption and
the audit records are :mod:`ctforeclosure.services.subscriptions`'; the
notifications are :mod:`ctforeclosure.services.inbox`'.
"""

from __future__ import annotations

from flask import abort, g, jsonify, request, url_for

from ctforeclosure.services import inbox, saved_searches, subscriptions
from webui import params, subscription_forms
from webui.api.common import bp, error, plain, scope
from webui.db import get_conn, write
from webui.notifications import sentence
from webui.subscriptions import keys, search_names, secret_key, webhook_host


def _json(sub: subscriptions.Subscription, names: dict, secret=None) -> dict:
    body = {
        "id": sub.id,
        "saved_search_id": sub.saved_search_id,
        "saved_search_name": names.get(sub.saved_search_id),
        "events": list(sub.events),
        "email_mode": sub.email_mode,
        "digest_hour": sub.digest_hour,
        "webhook": {"host": webhook_host(sub)} if webhook_host(sub) else None,
        "include_caption": sub.include_caption,
        "created_at": plain(sub.created_at),
        "updated_at": plain(sub.updated_at),
    }
    if secret is not None:
        body["webhook_secret"] = secret  # this once
    return body


def _answer(made: subscriptions.Created, status: int = 200):
    names = search_names(get_conn(), g.api_user.id)
    response = jsonify(_json(made.subscription, names, made.webhook_secret))
    response.status_code = status
    return response


def _mine_or_404(sub_id: int) -> subscriptions.Subscription:
    sub = subscriptions.get(get_conn(), sub_id, g.api_user.id, secret_key())
    if sub is None:
        abort(error(404, f"no such subscription: {sub_id}"))
    return sub


def _refused(exc: subscriptions.SubscriptionError):
    accepts = subscription_forms.ACCEPTS.get(exc.parameter, "")
    return error(400, str(exc), parameter=exc.parameter, accepts=accepts)


@bp.get("/subscriptions")
@scope("leads")
def subscriptions_list():
    """Your subscriptions (``saved_search_id``: those of one saved search only).

    A search you may not see is a 404 naming the parameter, as the change feed
    answers its ``saved_search``; but your own subscriptions of a search since
    made private by its owner are still listed (you hold them: nothing leaks)."""
    args = params.parse(subscription_forms.SubscriptionListArgs, request.args)
    conn, user_id, search_id = get_conn(), g.api_user.id, args.saved_search_id
    mine = subscriptions.list_for_user(conn, user_id, secret_key(), search_id)
    unseen = search_id is not None and not mine
    if unseen and saved_searches.get_visible(conn, search_id, user_id) is None:
        message = f"no such saved search: {search_id}"
        return error(404, message, parameter="saved_search_id")
    names = search_names(conn, user_id)
    return jsonify([_json(s, names) for s in mine])


@bp.post("/subscriptions")
@scope("leads")
def subscriptions_create():
    """Subscribe to a saved search you see (audited); a webhook's secret is in
    this answer only."""
    body = params.json_body(subscription_forms.NewSubscriptionBody)
    search_id = body.saved_search_id
    if saved_searches.get_visible(get_conn(), search_id, g.api_user.id) is None:
        message = f"no such saved search: {search_id}"
        return error(404, message, parameter="saved_search_id")
    try:
        with write() as conn:
            made = subscriptions.create(
                conn,
                g.api_user,
                search_id,
                webhook_url=body.webhook_url or None,
                **subscription_forms.choices(body),
                **keys(),
            )
    except subscriptions.SubscriptionError as exc:
        return _refused(exc)
    response = _answer(made, 201)
    response.headers["Location"] = url_for(
        "api.subscription_detail", sub_id=made.subscription.id
    )
    return response


@bp.get("/subscriptions/<int:sub_id>")
@scope("leads")
def subscription_detail(sub_id: int):
    """One of your subscriptions (never its webhook's address or secret)."""
    names = search_names(get_conn(), g.api_user.id)
    return jsonify(_json(_mine_or_404(sub_id), names))


def _changes(sub, body: subscription_forms.SubscriptionChangeBody) -> dict:
    """Return the changes the body asks for; the email mode and its hour are
    checked together, as they will be stored."""
    given = body.model_dump(exclude_unset=True)
    email = given.get("email_mode") or sub.email_mode
    hour = given.get("digest_hour", sub.digest_hour if email == "digest" else None)
    subscription_forms.check_hour(email, hour)
    changes = {k: v for k, v in given.items() if v is not None}
    if "email_mode" in changes or "digest_hour" in given:
        changes["digest_hour"] = hour
    return changes


@bp.patch("/subscriptions/<int:sub_id>")
@scope("leads")
def subscription_update(sub_id: int):
    """Change your subscription (audited); ``webhook_url: ""`` removes the
    webhook, and a webhook added here answers with its secret, once."""
    sub = _mine_or_404(sub_id)
    body = params.json_body(subscription_forms.SubscriptionChangeBody)
    try:
        with write() as conn:
            changed = subscriptions.update(
                conn, g.api_user, sub.id, **_changes(sub, body), **keys()
            )
    except subscriptions.SubscriptionError as exc:
        return _refused(exc)
    return _answer(changed)


@bp.post("/subscriptions/<int:sub_id>/secret")
@scope("leads")
def subscription_rotate_secret(sub_id: int):
    """Give your subscription's webhook a new secret, answered this once
    (audited); the old one stops working."""
    sub = _mine_or_404(sub_id)
    if sub.webhook_url is None:
        return error(409, "this subscription has no webhook (or an unreadable one)")
    with write() as conn:
        made = subscriptions.update(conn, g.api_user, sub.id, new_secret=True, **keys())
    return _answer(made)


@bp.delete("/subscriptions/<int:sub_id>")
@scope("leads")
def subscription_delete(sub_id: int):
    """Delete your subscription (audited)."""
    sub = _mine_or_404(sub_id)
    with write() as conn:
        subscriptions.delete(conn, g.api_user, sub.id)
    return jsonify({"deleted": sub_id})


def _notification_json(n: inbox.Notification) -> dict:
    return {
        "id": n.id,
        "docket_no": n.docket_no,
        "town": n.town,
        "kind": n.kind,
        "text": sentence(n),
        "seen_at": plain(n.seen_at),
        "created_at": plain(n.created_at),
        "read": n.read_at is not None,
        "read_at": plain(n.read_at),
        "change_id": n.change_id,
        "subscription_id": n.subscription_id,
        "saved_search_id": n.saved_search_id,
        "saved_search_name": n.saved_search,
    }


@bp.get("/notifications")
@scope("leads")
def notifications_list():
    """Your notifications, newest first (``unread=true``: unread only)."""
    args = params.parse(subscription_forms.NotificationArgs, request.args)
    found = inbox.page(
        get_conn(),
        g.api_user.id,
        unread_only=args.unread,
        number=args.page,
        per_page=args.per_page,
    )
    return jsonify(
        {
            "total": found.total,
            "unread": found.unread,
            "page": args.page,
            "per_page": args.per_page,
            "notifications": [_notification_json(n) for n in found.items],
        }
    )


@bp.post("/notifications/read")
@scope("leads")
def notifications_read():
    """Mark your notifications read: the ``ids`` given, or every unread one."""
    body = params.json_body(subscription_forms.ReadBody)
    with write() as conn:
        marked = inbox.mark_read(conn, g.api_user.id, body.ids)
        unread = inbox.unread_count(conn, g.api_user.id)
    return jsonify({"marked": marked, "unread": unread})
