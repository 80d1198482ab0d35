"""Admin: staff accounts, roles, passwords, API tokens (their scopes and recent use)
and the audit log (admin only).

Every change goes through :mod:`ctforeclosure.services.users` and
:mod:`ctforeclosure.services.tokens`, as the CLI does.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired

from ctforeclosure.db import audit_log
from ctforeclosure.services import account_links, second_factor
from ctforeclosure.services import tokens as token_svc
from ctforeclosure.services import users as svc
from webui import links, params
from webui.auth import require_role
from webui.db import get_conn, write

bp = Blueprint("admin", __name__, url_prefix="/admin")


class NewUserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    role = SelectField("Role", choices=list(svc.ROLES), default="viewer")
    password = PasswordField("Password", validators=[DataRequired()])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=list(svc.ROLES))


class PasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired()])


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    role = SelectField("Role", choices=list(svc.ROLES), default="viewer")


class RequireManagersForm(FlaskForm):
    on = BooleanField("Managers must use a second factor")


class TokenForm(FlaskForm):
    name = StringField("Token name", default="api")
    scopes = SelectMultipleField("Scopes", choices=list(token_svc.SCOPES))


class ActionForm(FlaskForm):
    """A button with only a CSRF token."""


def _apply(fn, success: str):
    try:
        with write() as conn:
            result = fn(conn)
        flash(success)
        return result
    except svc.UserError as exc:
        flash(str(exc))
        return None


def _email_for(user_id: int) -> str:
    user = svc.get_user(get_conn(), user_id)
    if user is None:
        abort(404)
    return user.email


@bp.get("/users")
@require_role("admin")
def users():
    """List users and their tokens."""
    conn = get_conn()
    return render_template(
        "admin/users.html",
        users=svc.list_users(conn),
        tokens=token_svc.list_tokens(conn),
        scopes=token_svc.SCOPES,
        role_scopes=token_svc.ROLE_SCOPES,
        new_form=NewUserForm(),
        invite_form=InviteForm(),
        require_form=RequireManagersForm(on=second_factor.require_managers(conn)),
        enrolled=second_factor.enrolled_user_ids(conn),
        role_form=RoleForm(),
        password_form=PasswordForm(),
        token_form=TokenForm(),
        action_form=ActionForm(),
    )


@bp.post("/users")
@require_role("admin")
def create_user():
    """Create a user."""
    form = NewUserForm()
    if form.validate_on_submit():
        _apply(
            lambda c: svc.create_user(
                c,
                form.email.data,
                form.password.data,
                form.role.data,
                actor=current_user.email,
            ),
            f"Created {form.email.data}.",
        )
    else:
        flash("Fill in email, role and password.")
    return redirect(url_for("admin.users"))


@bp.post("/invitations")
@require_role("admin")
def invite_user():
    """Add a user by email: they get a single-use link to choose their password."""
    form = InviteForm()
    if not form.validate_on_submit():
        flash("Fill in email and role.")
        return redirect(url_for("admin.users"))
    now = current_app.config["ACCOUNT_CLOCK"]()

    def invite(conn):
        user = svc.invite_user(
            conn, form.email.data, form.role.data, actor=current_user.email
        )
        return user, account_links.issue(conn, user.id, "invite", now=now)

    invited = _apply(invite, f"Invited {form.email.data}.")
    if invited is None:
        return redirect(url_for("admin.users"))
    user, secret = invited
    url = links.link_url("links.invite", secret)
    emailed = links.email_enabled()
    if emailed:
        links.send_link(user.email, "You are invited", _invitation_text(url))
    return render_template("admin/invited.html", user=user, url=url, emailed=emailed)


def _invitation_text(url: str) -> str:
    hours = int(account_links.LIFETIMES["invite"].total_seconds() // 3600)
    return (
        "An admin added you to CT Foreclosures.\n\n"
        f"Choose your password here, within {hours} hours; the link works once:"
        f"\n\n{url}\n"
    )


@bp.post("/users/<int:user_id>/second-factor/reset")
@require_role("admin")
def reset_second_factor(user_id: int):
    """Remove a user's second factor (they enrol again); their sessions end."""
    return _button(
        user_id,
        lambda c, _email: second_factor.reset(c, user_id, actor=current_user.email),
        "Second factor removed for {email}.",
    )


def _button(user_id: int, change, success: str):
    """Apply a one-button change (a form with only its CSRF token) to a user:
    ``change(conn, email)``; flash ``success`` with the email."""
    email = _email_for(user_id)
    if ActionForm().validate_on_submit():
        _apply(lambda c: change(c, email), success.format(email=email))
    return redirect(url_for("admin.users"))


@bp.post("/settings/require-2fa-managers")
@require_role("admin")
def require_2fa_managers():
    """Turn on or off the second factor's requirement for managers."""
    form = RequireManagersForm()
    if form.validate_on_submit():
        on = bool(form.on.data)
        _apply(
            lambda c: second_factor.set_require_managers(
                c,
                on,
                actor=current_user.email,
                now=current_app.config["ACCOUNT_CLOCK"](),
            ),
            "Managers must now use a second factor."
            if on
            else "A second factor is now optional for managers.",
        )
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/role")
@require_role("admin")
def set_role(user_id: int):
    """Change a user's role."""
    form = RoleForm()
    email = _email_for(user_id)
    if form.validate_on_submit():
        _apply(
            lambda c: svc.set_role(c, email, form.role.data, actor=current_user.email),
            f"{email} is now {form.role.data}.",
        )
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/disable")
@require_role("admin")
def disable_user(user_id: int):
    """Disable a user (and revoke their tokens)."""
    email = _email_for(user_id)
    if email == current_user.email:
        flash("You cannot disable yourself.")
    elif ActionForm().validate_on_submit():
        _apply(
            lambda c: svc.disable_user(c, email, actor=current_user.email),
            f"Disabled {email}.",
        )
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/enable")
@require_role("admin")
def enable_user(user_id: int):
    """Re-enable a user."""
    return _button(
        user_id,
        lambda c, email: svc.enable_user(c, email, actor=current_user.email),
        "Enabled {email}.",
    )


@bp.post("/users/<int:user_id>/password")
@require_role("admin")
def reset_password(user_id: int):
    """Set a new password for a user."""
    form = PasswordForm()
    email = _email_for(user_id)
    if form.validate_on_submit():
        _apply(
            lambda c: svc.reset_password(
                c, email, form.password.data, actor=current_user.email
            ),
            f"Password reset for {email}.",
        )
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/tokens")
@require_role("admin")
def issue_token(user_id: int):
    """Issue an API token; its secret is shown once."""
    form = TokenForm()
    email = _email_for(user_id)
    if not form.validate_on_submit():
        return redirect(url_for("admin.users"))
    issued = _apply(
        lambda c: token_svc.issue_token(
            c,
            email,
            form.name.data,
            actor=current_user.email,
            scopes=form.scopes.data or None,  # none ticked: read only
        ),
        f"Token issued for {email}. Copy it now: it is not shown again.",
    )
    if issued is None:
        return redirect(url_for("admin.users"))
    return render_template("admin/token.html", email=email, issued=issued)


@bp.post("/tokens/<int:token_id>/revoke")
@require_role("admin")
def revoke_token(token_id: int):
    """Revoke an API token."""
    if ActionForm().validate_on_submit():
        _apply(
            lambda c: token_svc.revoke_token(c, token_id, actor=current_user.email),
            f"Revoked token {token_id}.",
        )
    return redirect(url_for("admin.users"))


@bp.get("/tokens/<int:token_id>")
@require_role("admin")
def token_uses(token_id: int):
    """Show one token's scopes and its recent use (never the requests' values)."""
    conn = get_conn()
    token = token_svc.get_token(conn, token_id)
    if token is None:
        abort(404)
    return render_template(
        "admin/token_uses.html",
        token=token,
        allowed=token_svc.ROLE_SCOPES[token.role],
        uses=token_svc.recent_uses(conn, token_id),
    )


@bp.get("/audit")
@require_role("admin")
def audit():
    """Show the newest audit records."""
    try:
        action = params.parse(params.AuditArgs, request.args).action
    except params.BadParameter as exc:
        page = render_template("admin/audit.html", records=[], problem=exc)
        return page, 400
    stmt = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(300)
    if action:
        stmt = stmt.where(audit_log.c.action == action)
    return render_template(
        "admin/audit.html", records=get_conn().execute(stmt).all(), action=action
    )
