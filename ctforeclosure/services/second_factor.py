"""The second factor: TOTP codes from an authenticator app, and one-time recovery
codes for the day the phone is lost.

Why: a stolen password was all an attacker needed to export a town's traced phones
(issue 24). Admins must have a second factor; managers must when an admin turns on
``require_2fa_managers`` (:func:`required_for`); anyone may enrol.

- The TOTP secret is stored encrypted with Fernet (``cryptography``) under a key
  derived (HKDF-SHA256) from the web UI's ``CTF_SECRET_KEY``
  (:mod:`ctforeclosure.services.encryption`): a database dump alone
  does not give the codes. Changing ``CTF_SECRET_KEY`` makes the stored secrets
  unreadable: every enrolled user must then be reset (the admin page or
  ``ctforeclosure users reset-2fa``) and enrol again.
- Codes follow RFC 6238 (``pyotp``: 6 digits, 30-second steps), one step of clock
  drift either way; a step once accepted is refused after (``totp_last_step``), so
  an overheard code cannot be replayed.
- Ten recovery codes (64 random bits each) are shown once at enrolment and stored
  as SHA-256 digests; each works once.
- The QR code of the enrolment page is drawn here as inline SVG (``segno``): the
  secret never leaves the server for a QR service.

Enrolment is two steps: :func:`start_enrolment` stores a new secret (not yet in
force), :func:`confirm_enrolment` puts it in force when the user types a code it
produced, and returns the recovery codes.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
import sqlalchemy as sa

from ctforeclosure.db import account_settings, recovery_codes, users
from ctforeclosure.services import audit, encryption
from ctforeclosure.services import users as user_service
from ctforeclosure.services.tokens import secret_digest

__all__ = [
    "ISSUER",
    "RECOVERY_CODE_COUNT",
    "REQUIRE_MANAGERS",
    "Status",
    "confirm_enrolment",
    "enrolled_user_ids",
    "pending_secret",
    "qr_svg",
    "require_managers",
    "required_for",
    "reset",
    "set_require_managers",
    "start_enrolment",
    "status",
    "verify",
]

ISSUER = "CT Foreclosures"
RECOVERY_CODE_COUNT = 10
#: The account setting that makes managers need a second factor ("1" or "0").
REQUIRE_MANAGERS = "require_2fa_managers"
STEP_SECONDS = 30
_DIGITS = re.compile(r"\d{6}")


@dataclass(frozen=True)
class Status:
    """What a user's second factor looks like."""

    enrolled: bool
    recovery_codes_left: int


#: The encryption purpose of TOTP secrets (part of their key's derivation).
TOTP_PURPOSE = "totp secret"


def _clean(code: str) -> str:
    """Return a typed code without spaces and dashes, lower case."""
    return re.sub(r"[\s-]+", "", code or "").lower()


def _row(conn: sa.Connection, user_id: int):
    return conn.execute(
        sa.select(
            users.c.totp_secret, users.c.totp_enabled_at, users.c.totp_last_step
        ).where(users.c.id == user_id)
    ).one()


def status(conn: sa.Connection, user_id: int) -> Status:
    """Return whether the user is enrolled, and how many recovery codes are left."""
    left = conn.execute(
        sa.select(sa.func.count())
        .select_from(recovery_codes)
        .where(recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None))
    ).scalar_one()
    return Status(_row(conn, user_id).totp_enabled_at is not None, left)


def enrolled_user_ids(conn: sa.Connection) -> set[int]:
    """Return the ids of the users who have a second factor in force."""
    query = sa.select(users.c.id).where(users.c.totp_enabled_at.is_not(None))
    return set(conn.execute(query).scalars())


def start_enrolment(
    conn: sa.Connection, user_id: int, secret_key: str, secret: str | None = None
) -> str:
    """Store a new secret awaiting confirmation (a random one unless ``secret``, a
    base32 secret from elsewhere, is given); return it.

    Refused for an enrolled user: an admin resets the second factor first."""
    if _row(conn, user_id).totp_enabled_at is not None:
        raise user_service.UserError("a second factor is already set up")
    secret = secret or pyotp.random_base32()
    encrypted = encryption.encrypt(secret_key, TOTP_PURPOSE, secret)
    conn.execute(
        users.update().where(users.c.id == user_id).values(totp_secret=encrypted)
    )
    return secret


def _secret(row, secret_key: str) -> str | None:
    if row.totp_secret is None:
        return None
    try:
        return encryption.decrypt(secret_key, TOTP_PURPOSE, row.totp_secret)
    except encryption.InvalidToken:
        return None  # CTF_SECRET_KEY changed: see the module docstring


def pending_secret(conn: sa.Connection, user_id: int, secret_key: str) -> str | None:
    """Return the secret awaiting confirmation, or None."""
    row = _row(conn, user_id)
    return None if row.totp_enabled_at else _secret(row, secret_key)


def qr_svg(secret: str, email: str) -> str:
    """Return the enrolment QR code (an ``otpauth://`` URI) as inline SVG."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    return segno.make(uri, error="m").svg_inline(scale=4, title="Authenticator QR")


def _accepted_step(secret: str, code: str, last_step, now: datetime) -> int | None:
    """Return the step a TOTP code belongs to (this one or either neighbour), if it
    is later than the last accepted one."""
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _take_step(conn: sa.Connection, user_id: int, step: int) -> bool:
    """Record the accepted step; False if another request took it (or a later one)."""
    taken = conn.execute(
        users.update()
        .where(
            users.c.id == user_id,
            sa.or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return taken.rowcount == 1


def confirm_enrolment(
    conn: sa.Connection,
    user_id: int,
    code: str,
    secret_key: str,
    *,
    actor: str,
    now: datetime,
) -> list[str] | None:
    """Put the pending secret in force when ``code`` is right; return the new
    recovery codes (to show once), or None when the code is wrong. Audited."""
    row = _row(conn, user_id)
    secret = None if row.totp_enabled_at else _secret(row, secret_key)
    code = _clean(code)
    good = secret and _DIGITS.fullmatch(code)
    step = good and _accepted_step(secret, code, None, now)
    if not step:
        return None
    conn.execute(
        users.update()
        .where(users.c.id == user_id)
        .values(totp_enabled_at=now, totp_last_step=step)
    )
    codes = _new_recovery_codes(conn, user_id)
    audit.record(conn, actor, "user.2fa_enrol", _email(conn, user_id))
    return codes


def _new_recovery_codes(conn: sa.Connection, user_id: int) -> list[str]:
    conn.execute(recovery_codes.delete().where(recovery_codes.c.user_id == user_id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(8)
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
        conn.execute(
            recovery_codes.insert().values(
                user_id=user_id, code_hash=secret_digest(raw)
            )
        )
    return codes


def verify(
    conn: sa.Connection, user_id: int, code: str, secret_key: str, *, now: datetime
) -> str | None:
    """Check a sign-in's second step; return "totp" or "recovery" (that recovery
    code is now spent), or None when the code is wrong."""
    row = _row(conn, user_id)
    if row.totp_enabled_at is None:
        return None
    code = _clean(code)
    if _DIGITS.fullmatch(code):
        secret = _secret(row, secret_key)
        step = secret and _accepted_step(secret, code, row.totp_last_step, now)
        return "totp" if step and _take_step(conn, user_id, step) else None
    spent = conn.execute(
        recovery_codes.update()
        .where(
            recovery_codes.c.user_id == user_id,
            recovery_codes.c.code_hash == secret_digest(code),
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return "recovery" if spent.rowcount == 1 else None


def _email(conn: sa.Connection, user_id: int) -> str:
    return conn.execute(
        sa.select(users.c.email).where(users.c.id == user_id)
    ).scalar_one()


def reset(conn: sa.Connection, user_id: int, *, actor: str) -> None:
    """Remove a user's second factor and recovery codes and end their sessions;
    audited. They enrol again at their next sign-in if their role needs it."""
    conn.execute(
        users.update()
        .where(users.c.id == user_id)
        .values(
            totp_secret=None,
            totp_enabled_at=None,
            totp_last_step=None,
            session_version=users.c.session_version + 1,
        )
    )
    conn.execute(recovery_codes.delete().where(recovery_codes.c.user_id == user_id))
    audit.record(conn, actor, "user.2fa_reset", _email(conn, user_id))


def require_managers(conn: sa.Connection) -> bool:
    """Return whether an admin made the second factor compulsory for managers."""
    value = conn.execute(
        sa.select(account_settings.c.value).where(
            account_settings.c.name == REQUIRE_MANAGERS
        )
    ).scalar()
    return value == "1"


def required_for(conn: sa.Connection, role: str) -> bool:
    """Return whether a user with this role must have a second factor."""
    return role == "admin" or (role == "manager" and require_managers(conn))


def set_require_managers(
    conn: sa.Connection, on: bool, *, actor: str, now: datetime
) -> None:
    """Turn the managers' requirement on or off; audited. Turning it on ends the
    sessions of managers without a second factor: they enrol at their next sign-in."""
    conn.execute(
        account_settings.delete().where(account_settings.c.name == REQUIRE_MANAGERS)
    )
    conn.execute(
        account_settings.insert().values(
            name=REQUIRE_MANAGERS,
            value="1" if on else "0",
            updated_at=now,
            updated_by=actor,
        )
    )
    if on:
        conn.execute(
            users.update()
            .where(users.c.role == "manager", users.c.totp_enabled_at.is_(None))
            .values(session_version=users.c.session_version + 1)
        )
    audit.record(conn, actor, "settings.require_2fa_managers", None, {"on": on})
