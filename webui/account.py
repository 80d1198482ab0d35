"""My account: a signed-in user's own password, second factor (issue 24) and
calendar feeds (issue 18 part 5).

Changing the password needs the current one and passes the strength check; every
other session of the user ends (this one starts again with the new session
version); audited. The second factor is set up through
:mod:`webui.second_factor`; only an admin can remove one (the admin page).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField
from wtforms.validators import DataRequired

from ctforeclosure.services import calendar_feeds, saved_searches, second_factor
from ctforeclosure.services import users as user_service
from webui import auth, calendar, db

bp = Blueprint("account", __name__, url_prefix="/account")


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField("New password", validators=[DataRequired()])


class CalendarFeedForm(FlaskForm):
    """Make a calendar feed of all cases or of one saved search the user sees."""

    search = SelectField("Follow", choices=[], validate_choice=False)

    def __init__(self, searches, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.search.choices = [("", "All cases")] + [
            (str(s.id), f"{s.name} ({s.list}{', shared' if s.shared else ''})")
            for s in searches
        ]


class FeedActionForm(FlaskForm):
    """A button with only a CSRF token (revoke or replace a feed)."""


def _page(form: ChangePasswordForm | None = None, status: int = 200, **extra):
    conn = db.get_conn()
    searches = saved_searches.visible(conn, current_user.id)
    return (
        render_template(
            "account/index.html",
            form=form or ChangePasswordForm(),
            factor=second_factor.status(conn, current_user.id),
            required=second_factor.required_for(conn, current_user.role),
            feeds=calendar_feeds.list_feeds(conn, current_user.id),
            feed_form=CalendarFeedForm(searches),
            feed_action=FeedActionForm(),
            **extra,
        ),
        status,
    )


@bp.get("/")
def index():
    """Show the user's account: password form, second factor, calendar feeds."""
    return _page()


@bp.post("/password")
def change_password():
    """Change one's own password; other sessions end."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        with db.write() as conn:
            user = user_service.change_password(
                conn, current_user.id, form.current.data, form.new.data
            )
    except user_service.UserError as exc:
        flash(str(exc))
        return _page(form, 400)
    auth.start_session(user)
    flash("Password changed. Your other sessions have ended.")
    return redirect(url_for("account.index"))


def _issue(make):
    """Make a feed with ``make(conn, user)`` and show its address once (201)."""
    try:
        with db.write() as conn:
            issued = make(conn, current_user.user)
    except user_service.UserError as exc:
        flash(str(exc))
        return _page(status=400)
    return _page(status=201, new_feed_url=calendar.feed_url(issued.secret))


@bp.post("/calendar-feeds")
def create_calendar_feed():
    """Make a calendar feed of all cases or of a saved search the user sees."""
    searches = saved_searches.visible(db.get_conn(), current_user.id)
    form = CalendarFeedForm(searches)
    if not form.validate_on_submit():
        return _page(status=400)
    choice = form.search.data or ""
    if choice and not choice.isdigit():
        flash(f"no such saved search: {choice}")
        return _page(status=400)
    search_id = int(choice) if choice else None
    return _issue(lambda conn, user: calendar_feeds.create_feed(conn, user, search_id))


@bp.post("/calendar-feeds/<int:feed_id>/replace")
def replace_calendar_feed(feed_id: int):
    """Revoke a feed and make a new one for the same search (a new address)."""
    if not FeedActionForm().validate_on_submit():
        return _page(status=400)
    return _issue(lambda conn, user: calendar_feeds.replace_feed(conn, user, feed_id))


@bp.post("/calendar-feeds/<int:feed_id>/revoke")
def revoke_calendar_feed(feed_id: int):
    """Revoke a feed: its address answers 404 from now on."""
    if not FeedActionForm().validate_on_submit():
        return _page(status=400)
    try:
        with db.write() as conn:
            calendar_feeds.revoke_feed(conn, current_user.user, feed_id)
    except user_service.UserError as exc:
        flash(str(exc))
        return _page(status=404)
    flash(f"Calendar feed {feed_id} revoked: its address no longer answers.")
    return redirect(url_for("account.index"))
