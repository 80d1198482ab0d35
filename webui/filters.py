"""Jinja filters and globals: dates, dockets, money, and role-aware contact masking."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlencode

from flask import current_app, request
from flask_login import current_user

from ctforeclosure import dockets
from webui import masking


def _sees_contacts() -> bool:
    return current_user.is_authenticated and current_user.sees_contacts


def fmt_date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def fmt_money(value) -> str:
    if value is None:
        return "$0.00"
    return f"${Decimal(value):,.2f}"


def docket_dashed(value: str) -> str:
    try:
        return dockets.dashed(value)
    except dockets.InvalidDocket:
        return value


def judiciary_url(docket_no: str) -> str:
    """Link to the case on the Judiciary site (LoadDocket works without a session)."""
    base = current_app.config["CTJUD_BASE_URL"].rstrip("/")
    query = urlencode({"DocketNo": docket_dashed(docket_no)})
    return f"{base}/LoadDocket.aspx?{query}"


def url_with(**changes) -> str:
    """Return the current URL with some query arguments replaced (shareable)."""
    args = request.args.to_dict(flat=True)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    query = urlencode(args)
    return request.path + (f"?{query}" if query else "")


def init_app(app) -> None:
    app.jinja_env.filters.update(
        date=fmt_date,
        money=fmt_money,
        dashed=docket_dashed,
        phone=lambda n: masking.phone_for(n, visible=_sees_contacts()),
        email=lambda e: masking.email_for(e, visible=_sees_contacts()),
    )
    app.jinja_env.globals.update(judiciary_url=judiciary_url, url_with=url_with)
