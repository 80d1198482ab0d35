"""The sign-in's second step, and enrolling a second factor (issue 24).

After the right password, a user with a second factor is not signed in yet: the
session holds only a pending sign-in (user id, session version, the browser's
digest, when, where to go next) and the code page asks for a code from the
authenticator app or a recovery code. A user whose role needs a second factor
(:func:`ctforeclosure.services.second_factor.required_for`) and who has none is sent
to enrolment instead, and is signed in only once enrolled: until then every other
page answers with the sign-in form. A pending sign-in lasts five minutes.

Wrong codes count in the login throttle (:mod:`webui.ratelimit`) under the same
(account, address) pair as wrong passwords, and are refused the same way (429 with
``Retry-After``); the pair is forgiven only when the whole sign-in succeeds.
Enrolment also serves a signed-in user who chooses it from "My account".
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from ctforeclosure.services import audit
from ctforeclosure.services import second_factor as svc
from ctforeclosure.services import users as user_service
from webui import auth, db

bp = Blueprint("second_factor", __name__, url_prefix="/auth/2fa")

#: Session key of a sign-in waiting for its second step.
PENDING = "_ctf_pending"
PENDING_SECONDS = 5 * 60


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired()])


def _now():
    return current_app.config["ACCOUNT_CLOCK"]()


def after_password(user: user_service.User, target: str | None):
    """Return the redirect to the second step this user owes, or None (signed in
    with the password alone)."""
    conn = db.get_conn()
    enrolled = svc.status(conn, user.id).enrolled
    if not enrolled and not svc.required_for(conn, user.role):
        return None
    step = "code" if enrolled else "enrol"
    session.clear()
    session[PENDING] = {
        "user": user.id,
        "version": user.session_version,
        "agent": auth.agent_digest(),
        "at": _now().timestamp(),
        "next": target,
        "step": step,
    }
    return redirect(url_for(f"second_factor.{step}"))


def _pending_user(step: str) -> user_service.User | None:
    """Return the user of this session's pending sign-in at ``step``, if it is
    still good (same browser, same session version, not older than 5 minutes)."""
    pending = session.get(PENDING)
    if not pending or pending.get("step") != step:
        return None
    if _now().timestamp() - pending["at"] > PENDING_SECONDS:
        return None
    if pending["agent"] != auth.agent_digest():
        return None
    user = user_service.get_user(db.get_conn(), pending["user"])
    if user is None or not user.active or user.session_version != pending["version"]:
        return None
    return user


def _start_again():
    session.pop(PENDING, None)
    flash("Sign in again.")
    return redirect(url_for("auth.login"))


@bp.route("/code", methods=["GET", "POST"])
def code():
    """Ask for the second step's code; finish signing in when it is right."""
    user = _pending_user("code")
    if user is None:
        return _start_again()
    form = CodeForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/code.html", form=form), status
    throttle = current_app.extensions["login_throttle"]
    address = request.remote_addr or ""
    wait = throttle.retry_after(user.email, address)
    if wait:
        return auth.too_many_failures(wait, "auth/code.html", form=form)
    secret_key = current_app.config["SECRET_KEY"]
    with db.write() as conn:
        factor = svc.verify(conn, user.id, form.code.data, secret_key, now=_now())
        if factor is None:
            audit.record(conn, "anonymous", "login.failed_code", user.email)
    if factor is not None:
        return auth.finish_sign_in(user, factor, session[PENDING]["next"])
    failures = throttle.failed(user.email, address, str(user.id))
    if failures == throttle.alert_at:
        auth.report_guessing(user.id, failures)
    flash("Wrong code.")
    return render_template("auth/code.html", form=form), 401


def _enrolling_user() -> tuple[user_service.User | None, bool]:
    """Return who is enrolling, and whether it finishes a pending sign-in."""
    if current_user.is_authenticated:
        return current_user.user, False
    return _pending_user("enrol"), True


@bp.route("/enrol", methods=["GET", "POST"])
def enrol():
    """Show a new secret as a QR code; put it in force when a code from it is
    typed, and show the recovery codes once."""
    user, signing_in = _enrolling_user()
    if user is None:
        return _start_again()
    form = CodeForm()
    secret_key = current_app.config["SECRET_KEY"]
    if form.validate_on_submit():
        with db.write() as conn:
            codes = svc.confirm_enrolment(
                conn, user.id, form.code.data, secret_key, actor=user.email, now=_now()
            )
        if codes is not None:
            return _enrolled(user, codes, signing_in)
        flash("That code is not right: check the app and type the newest code.")
    try:
        with db.write() as conn:
            secret = svc.pending_secret(conn, user.id, secret_key)
            secret = secret or svc.start_enrolment(conn, user.id, secret_key)
    except user_service.UserError as exc:
        flash(str(exc))
        return redirect(url_for("account.index"))
    page = render_template(
        "auth/enrol.html",
        form=form,
        secret=secret,
        qr=svc.qr_svg(secret, user.email),
        required=signing_in,
    )
    return page, 400 if request.method == "POST" else 200


def _enrolled(user: user_service.User, codes: list[str], signing_in: bool):
    """Show the recovery codes; a pending sign-in becomes a session first."""
    target = url_for("account.index")
    if signing_in:
        target = auth.safe_next(session[PENDING]["next"])
        auth.finish_sign_in(user, "totp", target)
    return render_template("auth/recovery_codes.html", codes=codes, target=target)
