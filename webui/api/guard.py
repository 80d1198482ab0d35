"""What every API request passes before its view, and what it leaves after.

Before: the bearer token (401 without a valid one), the token's rate limit (429 with
``Retry-After``) and the scope the route declared (403 naming the missing scope).
After: one row of the token's use (``ctforeclosure.services.tokens.record_use``),
which admins see and the rate limit counts.

The rate limit is a sliding window over those rows, so every worker process of
``ctforeclosure web`` counts the same requests, with no other store (no Redis: the
``limits`` library keeps counters in memory, Redis, Memcached, MongoDB or etcd, and
a per-process memory would allow each worker the whole limit). A request is counted
once answered; requests in flight at the same moment may pass the limit by as many
as run at once. Refusals are not counted (a client that keeps asking still gets in
once its window has room), and only the first of a window is recorded.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app, g, request

from ctforeclosure.services import tokens
from webui.api.common import bp, error, required_scope
from webui.db import get_conn, write

#: Uses older than the retention are deleted at most this often, per process.
PRUNE_EVERY_SECONDS = 600
_PRUNE = {"next": 0.0}  # this process's next prune, on the monotonic clock


@bp.before_request
def _guard():
    """Answer 401, 429 or 403 before the view, or let the request through."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return error(401, "missing bearer token")
    now = datetime.now(UTC)
    window = timedelta(seconds=current_app.config["API_RATE_WINDOW_SECONDS"])
    # Reads only, on the request's autocommit connection: the one write is after.
    bearer = tokens.verify_token(get_conn(), secret.strip(), now - window)
    if bearer is None:
        return error(401, "invalid or revoked token")
    g.api_user, g.api_scopes = bearer.user, bearer.scopes
    g.api_token_id = bearer.token_id
    limit, used = current_app.config["API_RATE_LIMIT"], bearer.window
    if used.count >= limit:
        g.api_record_use = not used.refused  # the first refusal of a window
        return _too_many(limit, window, used.oldest or now, now)
    g.api_record_use = True
    needed = required_scope(current_app.view_functions.get(request.endpoint))
    if needed is None:  # fail closed: a test keeps every route declaring one
        return error(403, "this route declares no scope", missing_scope=None)
    if needed not in bearer.scopes:
        return error(403, f"this token lacks the {needed} scope", missing_scope=needed)
    return None


def _too_many(limit: int, window: timedelta, oldest: datetime, now: datetime):
    """Answer 429: when the oldest counted request leaves the window, one more fits."""
    wait = max(1, math.ceil((oldest + window - now).total_seconds()))
    seconds = int(window.total_seconds())
    response = error(
        429,
        f"rate limit: {limit} requests per {seconds} seconds for this token",
        limit=limit,
        window_seconds=seconds,
        retry_after=wait,
    )
    response.headers["Retry-After"] = str(wait)
    return response


@bp.after_request
def _record_use(response):
    """Record the request: its route's template, never its values or query."""
    if not g.pop("api_record_use", False):
        return response
    try:
        with write() as conn:
            tokens.record_use(
                conn,
                g.api_token_id,
                request.method,
                request.url_rule.rule if request.url_rule else "?",
                response.status_code,
            )
            if time.monotonic() >= _PRUNE["next"]:
                _PRUNE["next"] = time.monotonic() + PRUNE_EVERY_SECONDS
                tokens.prune_uses(conn)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        # The database went away during the view: its answer (often the 503
        # "database unavailable") still goes out, unrecorded.
        current_app.logger.warning(
            "API use not recorded: %s", type(getattr(exc, "orig", exc)).__name__
        )
    return response
