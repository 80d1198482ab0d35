"""Jinja filters and globals: dates, dockets, money and phone numbers.

Which phones and emails a user may see is decided by
:mod:`ctforeclosure.services.contacts`, never here: the ``phone`` filter only formats
what that policy returned (a masked number stays as it is).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlencode

from flask import current_app, request

from ctforeclosure import dockets


def format_phone(number: str | None) -> str:
    """Return a US E.164 number as "(860) 555-0123"; other values unchanged."""
    if not number:
        return ""
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return number


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
        phone=format_phone,
    )
    app.jinja_env.globals.update(judiciary_url=judiciary_url, url_with=url_with)
