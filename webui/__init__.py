"""The staff web UI: a Flask application factory in the flaskr style.

One blueprint per area, reading the crawl tables of :mod:`ctforeclosure.db`
read-only; users, tokens, audit records and skip-trace requests are written only
through the shared services (the same ones the CLI uses). No Scrapy import here.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from flask import Flask, request
from flask_wtf import CSRFProtect

from ctforeclosure import config
from ctforeclosure.services.alerts import AlertChannels

csrf = CSRFProtect()
#: API requests per token per minute, unless ``CTF_API_RATE_LIMIT`` says otherwise.
DEFAULT_API_RATE_LIMIT = 120


class ConfigurationError(RuntimeError):
    """The app cannot start with this configuration."""


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the web UI."""
    app = Flask(__name__)
    app.config.from_mapping(_settings(config.load()))
    if test_config:
        app.config.update(test_config)
    _check_secret_key(app)
    _check_api_rate_limit(app)
    _check_export_max_rows(app)
    if app.config["DEBUG_SERVER"]:
        app.config["SESSION_COOKIE_SECURE"] = False
        app.config["REMEMBER_COOKIE_SECURE"] = False
    _trust_proxies(app)
    _register(app)
    return app


def _settings(cfg: config.Config) -> dict:
    """Return the app's settings: the configuration's, and the web UI's own."""
    return dict(
        SECRET_KEY=cfg.secret_key,
        DATABASE_URL=cfg.database_url,
        CTJUD_BASE_URL=cfg.ctjud_base_url,
        DEBUG_SERVER=False,
        TRUSTED_PROXY_HOPS=cfg.trusted_proxy_hops,
        ALERT_CHANNELS=AlertChannels.from_config(cfg),
        # Cookies: not readable by scripts, not sent cross-site, HTTPS only.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=True,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=True,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        # The cookie is signed again only when the session changes (sign-in, a
        # message to show), not on every response, which would cost CPU on every
        # request: a sign-in lasts 8 hours from then, however busy.
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        # Login throttling (webui.ratelimit): this many failures are free per
        # (account, address) pair and per address, then each waits 1 s, doubling
        # up to the maximum; a counter quiet this long starts again. This many
        # failures on one account, from anywhere, alert the admins.
        LOGIN_MAX_FAILURES=5,
        LOGIN_MAX_ADDRESS_FAILURES=20,
        LOGIN_MAX_WAIT_SECONDS=15 * 60,
        LOGIN_FORGET_SECONDS=60 * 60,
        LOGIN_ALERT_FAILURES=20,
        # The most rows an export may hold (CTF_EXPORT_MAX_ROWS); None: any number.
        # Over it an export is refused up front, never cut (webui.streaming).
        EXPORT_MAX_ROWS=cfg.export_max_rows,
        # The API's rate limit: requests per token per window (CTF_API_RATE_LIMIT).
        API_RATE_LIMIT=cfg.api_rate_limit or DEFAULT_API_RATE_LIMIT,
        API_RATE_WINDOW_SECONDS=60,
        # Accounts (issue 24): the public address for emailed links (CTF_BASE_URL);
        # reset-by-email requests per hour, per email and per client address; the
        # clock of links and codes (tests move it).
        BASE_URL=cfg.base_url,
        # Hosts a subscription's webhook may reach over http:// or at a private
        # address (CTF_WEBHOOK_ALLOW_HOSTS; ctforeclosure.services.webhooks).
        WEBHOOK_ALLOW_HOSTS=cfg.webhook_allow_hosts,
        RESET_PER_EMAIL=3,
        RESET_PER_ADDRESS=10,
        ACCOUNT_CLOCK=_utcnow,
        # Unknown or revoked calendar-feed secrets an address may ask for before
        # each further one waits, as failed sign-ins do (webui.calendar).
        CALENDAR_FREE_MISSES=20,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _check_api_rate_limit(app: Flask) -> None:
    """Refuse to start with a rate limit that is not a whole number above 0."""
    value = str(app.config["API_RATE_LIMIT"]).strip()
    if not value.isdigit() or int(value) < 1:
        raise ConfigurationError(
            f"CTF_API_RATE_LIMIT must be a whole number of requests per minute, "
            f"at least 1 (not {value!r})"
        )
    app.config["API_RATE_LIMIT"] = int(value)


def _check_export_max_rows(app: Flask) -> None:
    """Refuse to start with an export maximum that is not a whole number above 0
    (unset: no maximum)."""
    value = app.config["EXPORT_MAX_ROWS"]
    if value is None:
        return
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(
            f"CTF_EXPORT_MAX_ROWS must be a whole number of rows, at least 1, or "
            f"unset for no maximum (not {value!r})"
        )
    app.config["EXPORT_MAX_ROWS"] = int(text)


def _check_secret_key(app: Flask) -> None:
    """Refuse to start without a secret key, except on the debug server."""
    if app.config["SECRET_KEY"]:
        return
    if not app.config["DEBUG_SERVER"]:
        raise ConfigurationError(
            "CTF_SECRET_KEY is not set: the web UI refuses to start without it "
            '(generate one with `python -c "import secrets; '
            'print(secrets.token_hex(32))"`)'
        )
    # Debug server only: sessions die with the process, which is fine there.
    app.config["SECRET_KEY"] = secrets.token_hex(32)


def _trust_proxies(app: Flask) -> None:
    """Take the client address and scheme from the reverse proxies in front (TLS),
    ``CTF_TRUSTED_PROXY_HOPS`` of them, so that login throttling counts clients,
    not the proxy. With none (the default) the forwarded headers are ignored: any
    client could write them."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    value = app.config["TRUSTED_PROXY_HOPS"]
    try:
        hops = int(value)
    except (TypeError, ValueError):
        hops = -1
    if hops < 0:
        raise ConfigurationError(
            f"CTF_TRUSTED_PROXY_HOPS must be a whole number of proxies, 0 or more, "
            f"not {value!r}"
        )
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _register(app: Flask) -> None:
    """Attach the parameter checks, the database, CSRF, login, filters, the
    blueprints and the headers."""
    from webui import db, params

    params.init_app(app)  # first: it bounds the ids of every route's URL
    db.init_app(app)
    csrf.init_app(app)

    from webui import auth, filters

    auth.init_app(app)
    filters.init_app(app)

    from webui import (
        account,
        admin,
        api,
        apidocs,
        calendar,
        cases,
        crawl_history,
        crawls,
        dashboard,
        exports,
        leads,
        links,
        notifications,
        quality,
        sales,
        saved_searches,
        second_factor,
        skiptrace,
        status,
        subscriptions,
        suppressions,
        towns,
    )

    for module in (dashboard, cases, sales, towns, crawls, skiptrace, exports, admin):
        app.register_blueprint(module.bp)
    for module in (leads, suppressions, account, links, second_factor, status, quality):
        app.register_blueprint(module.bp)
    for module in (crawl_history, saved_searches, subscriptions):
        app.register_blueprint(module.bp)
    notifications.init_app(app)  # the bell's count, and its page
    app.register_blueprint(calendar.bp)  # public: its secret is the credential
    from webui import kill_switch

    kill_switch.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(apidocs.bp)
    csrf.exempt(api.bp)  # bearer tokens, no cookies: CSRF cannot apply
    from webui import health, metrics, request_log

    health.init_app(app)
    metrics.init_app(app)
    request_log.init_app(app)
    app.after_request(_security_headers)
    app.after_request(_no_store)


#: What may be cached: static files (Swagger UI's too), and the blank sign-in form.
_CACHEABLE = frozenset(
    {
        ("static", "GET"),
        ("static", "HEAD"),
        ("apidocs.static", "GET"),
        ("auth.login", "GET"),
    }
)


def _no_store(response):
    """Forbid caching everything else: pages, exports and API answers carry
    personal data, which must not stay in a browser's or a proxy's cache.

    Adds ``no-store`` to what an endpoint set, so a stricter header stays. A
    failed sign-in (POST) answers with the typed email in the form: not cached.
    """
    if (request.endpoint, request.method) not in _CACHEABLE:
        response.cache_control.no_store = True
    return response


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    )
    return response
