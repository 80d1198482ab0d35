"""The kill switch's banner: while crawls are paused, every page says so, with who
paused them, when and why, so that nobody wonders why the data stopped coming.

A context processor reads the switch (one small query per page a signed-in user
sees; the sign-in page and anonymous visitors see no banner, so ask nothing). A
page shown while the database cannot answer (the 503 page) shows no banner rather
than fail.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask_login import current_user

from ctforeclosure.store.site_budget import SiteBudget
from webui.db import get_engine


def pause_state() -> dict | None:
    """Return the kill switch's state when it is on and someone signed in sees the
    page, else None."""
    if not current_user.is_authenticated:
        return None
    try:
        state = SiteBudget(get_engine()).pause_state()
    except sa.exc.SQLAlchemyError:
        return None
    return state if state and state.get("paused") else None


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"kill_switch": pause_state()})
