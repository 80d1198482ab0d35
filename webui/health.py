"""Liveness and readiness, for load balancers and the container's health check.

``/healthz`` says only that the process answers. ``/readyz`` answers 200 when the
database answers and its schema is at the newest migration the code knows, and 503
with the reason otherwise (a database that went away, or one restored from an older
backup). Neither needs a login nor shows data.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app

from ctforeclosure import migrate
from webui.db import get_engine


def init_app(app: Flask) -> None:
    """Serve both at the root, outside every blueprint and login."""
    app.get("/healthz")(healthz)
    app.get("/readyz")(readyz)


def healthz():
    """Report that the process is up (no data)."""
    return {"status": "ok"}


def readyz():
    """Report whether the database answers at the newest schema revision."""
    head = current_app.config.setdefault("SCHEMA_HEAD", migrate.head_revision())
    try:
        current = migrate.current_revision(get_engine())
    except sa.exc.SQLAlchemyError as exc:
        reason = f"database unavailable: {type(getattr(exc, 'orig', exc)).__name__}"
        return {"status": "unavailable", "reason": reason}, 503
    if current != head:
        reason = (
            f"schema at revision {current or 'none'}, the code needs {head}: "
            "run `ctforeclosure db upgrade`"
        )
        return {"status": "unavailable", "reason": reason}, 503
    return {"status": "ready", "revision": current}
