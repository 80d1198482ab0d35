"""Sign-in, sign-out, the login guard every page passes through, and role checks.

Every endpoint but the login page, ``/healthz`` and static files needs a session
(``/auth/whoami`` answers whose it is);
the JSON API (``api.*``) authenticates with bearer tokens instead. Roles:
admin > manager > viewer.

Sessions are signed cookies, and can still be ended early: each carries the user's
session version from sign-in, which every request compares with the user's row.
Signing out, a password reset, a role change and disabling raise the version, so
every session of that user ends at once, on every device (issue 16). Failed
sign-ins are throttled by :mod:`webui.ratelimit`.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from ctforeclosure.services import alerts, audit, contacts
from ctforeclosure.services import users as user_service
from webui import db
from webui.ratelimit import LoginThrottle

bp = Blueprint("auth", __name__, url_prefix="/auth")
login_manager = LoginManager()

#: Endpoints reachable without a session (the API checks its own tokens): the
#: sign-in form and its second step, and the pages of emailed links; ``/metrics``
#: checks an API token with the admin scope itself (webui.metrics); a calendar feed's
#: secret address is its own credential (webui.calendar), for apps that cannot sign in.
PUBLIC_ENDPOINTS = frozenset(
    {
        "auth.login",
        "healthz",
        "readyz",
        "metrics",
        "static",
        "second_factor.code",
        "second_factor.enrol",
        "links.forgot",
        "links.reset",
        "links.invite",
        "calendar.feed",
    }
)
#: Session keys: the user's session version at sign-in, and the browser's digest.
SESSION_VERSION = "_ctf_version"
SESSION_AGENT = "_ctf_agent"


class LoginUser(UserMixin):
    """Flask-Login's view of a :class:`ctforeclosure.services.users.User`."""

    def __init__(self, user: user_service.User):
        self.user = user
        self.id = user.id
        self.email = user.email
        self.role = user.role

    @property
    def is_active(self) -> bool:
        return self.user.active

    def can(self, role: str) -> bool:
        return self.user.can(role)

    @property
    def sees_contacts(self) -> bool:
        """Whether phones and emails are shown unmasked (the contacts policy's rule)."""
        return contacts.may_see(self.user)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def agent_digest() -> str:
    """Return a digest of the browser's User-Agent, kept in its session.

    A cookie replayed by another browser or program is refused. Flask-Login's
    "strong" session protection does nothing for permanent sessions (it only marks
    them not fresh), and ours are permanent (8 hours). The client address is left
    out: staff addresses change within a day (a laptop between networks, a phone).
    A User-Agent can be copied, so this only adds to what ends a stolen cookie
    (sign-out, the 8-hour lifetime); a digest keeps the browser's description out
    of the cookie, which is signed, not encrypted.
    """
    agent = request.user_agent.string or ""
    return hashlib.sha256(agent.encode()).hexdigest()[:32]


@login_manager.user_loader
def _load_user(user_id: str):
    try:
        user = user_service.get_user(db.get_conn(), int(user_id))
    except ValueError:
        return None
    if user is None or not user.active:
        return None
    if session.get(SESSION_VERSION) != user.session_version:
        return None  # signed out, or the password, role or state changed since
    if session.get(SESSION_AGENT) != agent_digest():
        return None
    return LoginUser(user)


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Ours instead: the session version and the browser's digest (_load_user).
    login_manager.session_protection = None
    app.extensions["login_throttle"] = LoginThrottle(
        db.get_engine_of(app),
        app.config["SECRET_KEY"],
        max_failures=app.config["LOGIN_MAX_FAILURES"],
        max_address_failures=app.config["LOGIN_MAX_ADDRESS_FAILURES"],
        max_wait=app.config["LOGIN_MAX_WAIT_SECONDS"],
        forget=app.config["LOGIN_FORGET_SECONDS"],
        alert_at=app.config["LOGIN_ALERT_FAILURES"],
    )
    app.register_blueprint(bp)
    app.before_request(_require_login)
    app.context_processor(lambda: {"role_at_least": _role_at_least})


def _role_at_least(role: str) -> bool:
    return current_user.is_authenticated and current_user.can(role)


def _require_login():
    endpoint = request.endpoint or ""
    if endpoint in PUBLIC_ENDPOINTS or endpoint.startswith("api."):
        return None
    if not endpoint and request.path.startswith("/api/"):
        return None  # no such API route or method: a JSON 404 or 405, not a login

    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def require_role(role: str):
    """Refuse (403) users below ``role``."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.can(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def safe_next(target: str | None) -> str:
    """Return a same-site path to go to after login (never another host)."""
    if target:
        parts = urlsplit(target)
        # browsers read a backslash after the slash as "//": another host
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith(("//", "/\\"))
        ):
            return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; sign in."""
    form = LoginForm()
    if form.validate_on_submit():
        return _sign_in(form)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


def _sign_in(form: LoginForm):
    """Check the throttle, then the password; answer the sign-in form."""
    throttle = current_app.extensions["login_throttle"]
    email = form.email.data.strip().lower()
    address = request.remote_addr or ""
    wait = throttle.retry_after(email, address)
    if wait:
        return too_many_failures(wait, "auth/login.html", form=form)
    account = None
    with db.write() as conn:
        user = user_service.authenticate(conn, email, form.password.data)
        if user is None:
            account = user_service.audit_failed_login(conn, email)
    if user is not None:
        from webui import second_factor  # it signs in through this module

        # The throttle forgets this pair's failures only once every step is done:
        # the right password must not buy more guesses at the code.
        second_step = second_factor.after_password(user, request.args.get("next"))
        return second_step or finish_sign_in(user, None, request.args.get("next"))
    failures = throttle.failed(
        email, address, None if account is None else str(account)
    )
    if failures == throttle.alert_at:
        report_guessing(account, failures)
    flash("Wrong email or password.")
    return render_template("auth/login.html", form=form), 401


def too_many_failures(wait: int, template: str, **context):
    """Answer 429 with ``Retry-After``: this (account, address) failed too often."""
    unit = "second" if wait == 1 else "seconds"
    flash(f"Too many failed sign-ins. Try again in {wait} {unit}.")
    response = make_response(render_template(template, **context), 429)
    response.headers["Retry-After"] = str(wait)
    return response


def finish_sign_in(user: user_service.User, factor: str | None, target: str | None):
    """Sign the user in (every step passed): audit, forgive the pair's failed
    attempts, start the session, go to ``target``."""
    with db.write() as conn:
        details = {"second_factor": factor} if factor else None
        audit.record(conn, user.email, "login", user.email, details)
    current_app.extensions["login_throttle"].succeeded(
        user.email, request.remote_addr or ""
    )
    start_session(user)
    return redirect(safe_next(target))


def start_session(user: user_service.User) -> None:
    """Begin a new session (never reuse one from before sign-in)."""
    session.clear()
    login_user(LoginUser(user))
    session.permanent = True
    session[SESSION_VERSION] = user.session_version
    session[SESSION_AGENT] = agent_digest()


def report_guessing(user_id: int, failures: int) -> None:
    """Audit, and alert the admins, that one account had many failed sign-ins.

    Once per run of failures (when the count reaches the limit). The alert goes out
    on a thread of its own: a webhook or a mail server may take seconds to answer.
    """
    with db.write() as conn:
        user = user_service.get_user(conn, user_id)
        audit.record(
            conn, "anonymous", "login.guessing", user.email, {"failures": failures}
        )
    threading.Thread(
        target=alerts.login_failures_on_account,
        kwargs={
            "user_id": user_id,
            "failures": failures,
            "channels": current_app.config["ALERT_CHANNELS"],
        },
        name="login-alert",
        daemon=True,
    ).start()


@bp.get("/whoami")
def whoami():
    """Answer who this session is signed in as: email and role, as JSON (no query).

    A script or a browser tab can check its session without loading a page; and it is
    the web UI benchmark's floor: everything a page pays (gunicorn, Flask, the session
    and the user's load) and nothing else.
    """
    return {"email": current_user.email, "role": current_user.role}


@bp.post("/logout")
def logout():
    """Sign out: every session of this user ends, on every device."""
    if current_user.is_authenticated:
        with db.write() as conn:
            user_service.end_sessions(conn, current_user.id)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
