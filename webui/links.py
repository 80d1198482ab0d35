"""Pages of the single-use links: "Forgot password?" (a reset link by email) and
the pages where a reset or an invitation link sets the person's own password.

The forgot-password answer is the same whether or not the email is a user's, and
the email goes out on a thread of its own, so neither the page nor its timing tells
who has an account; requests are limited per email and per client address
(:class:`webui.ratelimit.ResetRequestLimit`). Reset by email is on only when an
SMTP server (``SMTP_HOST``) and the web UI's public address (``CTF_BASE_URL``) are
configured: links are built from that address, never from the request's ``Host``
header, which a client could point at its own server to collect a link. Without
them the page says to ask an admin.

Using a link sets the password (the strength check applies), spends the link and
ends every session of the user (:mod:`ctforeclosure.services.account_links`).
"""

from __future__ import annotations

import logging
import smtplib
import threading
from email.message import EmailMessage

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from ctforeclosure.services import account_links, alerts, audit
from ctforeclosure.services import users as user_service
from webui import db
from webui.ratelimit import ResetRequestLimit

bp = Blueprint("links", __name__, url_prefix="/auth")
logger = logging.getLogger(__name__)

#: What each link sets, and how its use is audited.
AUDIT_ACTIONS = {
    "reset": "user.reset_password_by_link",
    "invite": "user.invite_accepted",
}
TITLES = {"reset": "Choose a new password", "invite": "Choose your password"}


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired()])


def _now():
    return current_app.config["ACCOUNT_CLOCK"]()


def email_enabled() -> bool:
    """Whether links can be emailed: an SMTP server and a public address."""
    channels = current_app.config["ALERT_CHANNELS"]
    return bool(channels.smtp_enabled and current_app.config["BASE_URL"])


def link_url(endpoint: str, secret: str) -> str:
    """Return a link's address on the web UI's public address (``CTF_BASE_URL``),
    or on this request's when none is configured (an admin's own page)."""
    path = url_for(endpoint, token=secret)
    base = current_app.config["BASE_URL"] or request.host_url.rstrip("/")
    return base + path


def send_link(to: str, subject: str, text: str) -> None:
    """Email a link on a thread of its own (an SMTP server may be slow, and the
    answer must not wait for it). Failures are logged without the address."""
    channels = current_app.config["ALERT_CHANNELS"]
    message = EmailMessage()
    message["Subject"] = f"[CT Foreclosures] {subject}"
    message["From"] = channels.email_from
    message["To"] = to
    message.set_content(text)

    def send() -> None:
        try:
            alerts.send_message(message, channels)
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning("account email failed: %s", type(exc).__name__)

    threading.Thread(target=send, name="account-mail", daemon=True).start()


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    """Ask for a reset link by email (the same answer for every email)."""
    form = ForgotForm()
    if not email_enabled():
        return render_template("auth/forgot.html", form=None)
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/forgot.html", form=form), status
    email = form.email.data.strip().lower()
    limit = ResetRequestLimit(
        current_app.extensions["login_throttle"],
        per_email=current_app.config["RESET_PER_EMAIL"],
        per_address=current_app.config["RESET_PER_ADDRESS"],
    )
    if not limit.allow(email, request.remote_addr or ""):
        flash("Too many reset requests. Try again in an hour.")
        response = make_response(render_template("auth/forgot.html", form=form), 429)
        response.headers["Retry-After"] = "3600"
        return response
    _send_reset_link(email)
    return render_template("auth/forgot.html", form=form, sent=True)


def _send_reset_link(email: str) -> None:
    """Email a reset link when ``email`` is an active user's; audited."""
    with db.write() as conn:
        user = user_service.find_active_user(conn, email)
        if user is None:
            return
        secret = account_links.issue(conn, user.id, "reset", now=_now())
        audit.record(conn, "anonymous", "user.reset_requested", user.email)
    minutes = int(account_links.LIFETIMES["reset"].total_seconds() // 60)
    send_link(
        user.email,
        "Reset your password",
        "Someone (we hope you) asked to reset the password of this account.\n\n"
        f"Choose a new password here, within {minutes} minutes; the link works "
        f"once:\n\n{link_url('links.reset', secret)}\n\n"
        "If it was not you, ignore this email: your password stays as it is.\n",
    )


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Set a new password through a reset link."""
    return _use_link(token, "reset")


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invite(token: str):
    """Set one's first password through an invitation link."""
    return _use_link(token, "invite")


def _use_link(secret: str, purpose: str):
    """Show the new-password form of a good link; set the password and spend it."""
    with db.write() as conn:
        user_id = account_links.peek(conn, secret, purpose, now=_now())
    if user_id is None:
        return render_template("auth/link_gone.html", purpose=purpose), 410
    form = NewPasswordForm()
    page = "auth/new_password.html"
    title = TITLES[purpose]
    if form.validate_on_submit():
        try:
            with db.write() as conn:
                if account_links.redeem(conn, secret, purpose, now=_now()) is None:
                    return render_template("auth/link_gone.html", purpose=purpose), 410
                user_service.set_own_password(
                    conn, user_id, form.password.data, action=AUDIT_ACTIONS[purpose]
                )
        except user_service.UserError as exc:
            flash(str(exc))
            return render_template(page, form=form, title=title), 400
        flash("Your password is set. Sign in with it.")
        return redirect(url_for("auth.login"))
    return render_template(page, form=form, title=title)
