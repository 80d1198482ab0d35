"""The system status page (admin): is everything healthy, and do alerts arrive?

The figures come from :mod:`ctforeclosure.ops.status` (the API's ``/status`` gives
the same as JSON); a scrapyd node that is down shows as unreachable, the page still
answers. The "send a test alert" button sends one alert on every configured channel
and says which worked.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from ctforeclosure import config
from ctforeclosure.ops import status as ops_status
from ctforeclosure.services import alerts, audit
from webui.auth import require_role
from webui.db import get_engine, write

bp = Blueprint("status", __name__, url_prefix="/status")


class TestAlertForm(FlaskForm):
    """The "send a test alert" button (a CSRF token only)."""


@bp.get("/")
@require_role("admin")
def index():
    """Show the system's status."""
    found = ops_status.snapshot(config.load(), get_engine())
    stale = [t for t in found["towns"] if t["stale"]]
    return render_template(
        "status/index.html", status=found, stale=stale, form=TestAlertForm()
    )


@bp.post("/test-alert")
@require_role("admin")
def test_alert():
    """Send a test alert on every configured channel."""
    if not TestAlertForm().validate_on_submit():
        flash("The form expired; try again.")
        return redirect(url_for("status.index"))
    channels = current_app.config["ALERT_CHANNELS"]
    delivered = alerts.test_alert(by=f"user:{current_user.id}", channels=channels)
    with write() as conn:
        audit.record(
            conn,
            current_user.email,
            "alert.test",
            None,
            {"delivered": ",".join(delivered)},
        )
    if delivered:
        flash(f"Test alert sent by {', '.join(delivered)}.")
    elif channels.webhook_url or channels.email_enabled:
        flash("The test alert failed on every channel; see the web UI's log.")
    else:
        flash("No alert channel is configured (ALERT_WEBHOOK_URL, SMTP_HOST).")
    return redirect(url_for("status.index"))
