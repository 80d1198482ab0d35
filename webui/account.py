"""My account: a signed-in user's own password and second factor (issue 24).

Changing the password needs the current one and passes the strength check; every
other session of the user ends (this one starts again with the new session
version); audited. The second factor is set up through
:mod:`webui.second_factor`; only an admin can remove one (the admin page).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired

from ctforeclosure.services import second_factor
from ctforeclosure.services import users as user_service
from webui import auth, db

bp = Blueprint("account", __name__, url_prefix="/account")


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField("New password", validators=[DataRequired()])


def _page(form: ChangePasswordForm, status: int = 200):
    conn = db.get_conn()
    return (
        render_template(
            "account/index.html",
            form=form,
            factor=second_factor.status(conn, current_user.id),
            required=second_factor.required_for(conn, current_user.role),
        ),
        status,
    )


@bp.get("/")
def index():
    """Show the user's account: password form and second-factor state."""
    return _page(ChangePasswordForm())


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
