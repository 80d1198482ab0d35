"""One log line per request: method, route pattern, status, duration, user id and
a request id.

Never the path's values, the query string or form values: they hold names (a
search for a defendant, a case's docket is fine but a name is not). The request id
comes from a proxy's ``X-Request-ID`` when it is a plain token, else a new one; it
is sent back in the answer and put on every line logged while the request is served
(``ctforeclosure.services.logs``; ``CTF_LOG_FORMAT=json`` makes those lines JSON).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request
from flask_login import current_user

from ctforeclosure.services import logs
from webui.metrics import route_of

logger = logging.getLogger("ctforeclosure.web.requests")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def init_app(app: Flask) -> None:
    """Give every request an id and log it when answered."""
    app.before_request(_begin)
    app.after_request(_log)
    app.teardown_request(_end)


def _begin() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    logs.request_fields.set({"request_id": g.request_id})


def _user_id() -> int | None:
    api_user = g.get("api_user")
    if api_user is not None:
        return api_user.id
    try:
        return current_user.id if current_user.is_authenticated else None
    except AttributeError:  # no login manager on this request
        return None


def _log(response):
    started = g.get("request_started")
    if started is None:
        return response
    response.headers["X-Request-ID"] = g.request_id
    logger.info(
        "%s %s %s",
        request.method,
        route_of(),
        response.status_code,
        extra={
            "method": request.method,
            "route": route_of(),
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "user_id": _user_id(),
            "request_id": g.request_id,
        },
    )
    return response


def _end(_exc=None) -> None:
    logs.request_fields.set(None)
