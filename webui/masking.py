"""Phones and emails as a given user may see them: viewers get them masked.

Applied on every path that shows contact data (pages, API, exports) so one rule
covers all of them.
"""

from __future__ import annotations

import re


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


def mask_phone(number: str | None) -> str:
    """Keep only the last two digits: "(***) ***-**23"."""
    if not number:
        return ""
    digits = re.sub(r"\D", "", number)
    return "(***) ***-**" + digits[-2:]


def mask_email(email: str | None) -> str:
    """Keep the first letter and the domain: "j***@example.com"."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def phone_for(number: str | None, *, visible: bool) -> str:
    return format_phone(number) if visible else mask_phone(number)


def email_for(email: str | None, *, visible: bool) -> str:
    return (email or "") if visible else mask_email(email)
