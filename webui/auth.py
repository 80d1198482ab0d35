"""Sign-in, sign-out, the login guard every page passes through, and role checks.

Every endpoint but the login page, ``/healthz`` and static files needs a session;
the JSON API (``api.*``) authenticates with bearer tokens instead. Roles:
admin > manager > viewer.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
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

from ctforeclosure.services import audit, contacts
from ctforeclosure.services import users as user_service
from webui import db
from webui.ratelimit import FailureLimiter

bp = Blueprint("auth", __name__, url_prefix="/auth")
login_manager = LoginManager()

#: Endpoints reachable without a session (the API checks its own tokens).
PUBLIC_ENDPOINTS = frozenset({"auth.login", "healthz", "static"})


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


@login_manager.user_loader
def _load_user(user_id: str):
    try:
        user = user_service.get_user(db.get_conn(), int(user_id))
    except ValueError:
        return None
    if user is None or not user.active:
        return None
    return LoginUser(user)


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    app.extensions["login_limiter"] = FailureLimiter(
        db.get_engine_of(app),
        app.config["LOGIN_MAX_FAILURES"],
        app.config["LOGIN_WINDOW_SECONDS"],
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


def _safe_next(target: str | None) -> str:
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
    status = 200
    if form.validate_on_submit():
        limiter = current_app.extensions["login_limiter"]
        email = form.email.data.strip().lower()
        keys = (f"ip:{request.remote_addr}", f"email:{email}")
        if limiter.blocked(*keys):
            flash("Too many failed sign-ins. Wait a few minutes and try again.")
            return render_template("auth/login.html", form=form), 429
        with db.write() as conn:
            user = user_service.authenticate(conn, email, form.password.data)
            if user is not None:
                audit.record(conn, user.email, "login", user.email)
            else:
                user_service.audit_failed_login(conn, email)
        if user is not None:
            limiter.reset(f"email:{email}")
            session.clear()
            login_user(LoginUser(user))
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        limiter.fail(*keys)
        flash("Wrong email or password.")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    """Sign out."""
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
