"""The bell: the unread count in the nav of every page a signed-in user sees, and
the notifications page listing what the user's subscriptions caught (newest
first, paged), each read as the case's timeline reads the change, with "mark all
read" and a per-item "mark read" (forms with their CSRF token).

The count is one query over the user's unread rows (an index on ``user_id,
read_at``), asked only for signed-in users; the sign-in page and anonymous
visitors ask nothing. A page shown while the database cannot answer shows no
count rather than fail. Reading and marking are
:mod:`ctforeclosure.services.inbox`' (every query bound to the user).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Flask, flash, redirect, render_template, url_for
from flask import request as flask_request
from flask_login import current_user
from pydantic import Field

from ctforeclosure.services import inbox
from webui import params, timeline
from webui.auth import safe_next
from webui.db import get_conn, write
from webui.subscription_forms import NotificationArgs

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def unread_count() -> int | None:
    """Return the signed-in user's unread count, else None (ask nothing)."""
    if not current_user.is_authenticated:
        return None
    try:
        return inbox.unread_count(get_conn(), current_user.id)
    except sa.exc.SQLAlchemyError:
        return None


def sentence(item: inbox.Notification) -> str:
    """The notification's change, as the case's timeline says it."""
    return timeline.sentence(item.kind, item.old_value, item.new_value, item.field)


@bp.get("/")
def index():
    """List the user's notifications, newest first (``unread=1``: unread only)."""
    args = params.parse(NotificationArgs, flask_request.args)
    found = inbox.page(
        get_conn(),
        current_user.id,
        unread_only=args.unread,
        number=args.page,
        per_page=args.per_page,
    )
    pages = max(1, -(-found.total // args.per_page))
    return render_template(
        "notifications/index.html",
        found=found,
        args=args,
        pages=pages,
        sentence=sentence,
    )


class ReadForm(params.QueryArgs):
    """Mark one notification read (``id``), or every unread one."""

    id: int | None = Field(
        None, ge=1, le=params.MAX_ID, description="a notification's id"
    )


@bp.post("/read")
def mark_read():
    """Mark one notification read, or all of them."""
    form = params.parse(ReadForm, flask_request.form)
    with write() as conn:
        count = inbox.mark_read(
            conn, current_user.id, None if form.id is None else [form.id]
        )
    flash(f"Marked {count} notification{'s' * (count != 1)} read.")
    back = flask_request.form.get("next") or url_for("notifications.index")
    return redirect(safe_next(back))


def init_app(app: Flask) -> None:
    # A function, not a number: only a page that shows the nav asks.
    app.context_processor(lambda: {"unread_notifications": unread_count})
    app.register_blueprint(bp)
