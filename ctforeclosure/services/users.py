"""Staff accounts: create, disable, enable, change role, reset password, sign in.

The CLI (``ctforeclosure users``) and the web UI's admin pages both call these
functions, so a rule (password strength, role names, audit records) lives in one place.
Passwords are stored as werkzeug scrypt hashes. Every change is audited. API tokens
are in :mod:`ctforeclosure.services.tokens`; disabling a user revokes theirs here.

Each user has a session version, which the web UI writes into a session at sign-in
and compares on every request: a password reset, a role change and disabling raise
it (so do ``ctforeclosure users ...`` commands, which call the same functions), and
so does signing out (:func:`end_sessions`), which ends every session of that user.
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from ctforeclosure.db import api_tokens, users
from ctforeclosure.services import audit

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "MIN_PASSWORD_SCORE",
    "ROLES",
    "UNKNOWN_ACCOUNT",
    "User",
    "UserError",
    "audit_failed_login",
    "authenticate",
    "change_password",
    "create_user",
    "disable_user",
    "enable_user",
    "end_sessions",
    "find_active_user",
    "get_user",
    "invite_user",
    "list_users",
    "reset_password",
    "set_own_password",
    "set_role",
]

#: Roles from most to least powerful.
ROLES = ("admin", "manager", "viewer")
MIN_PASSWORD_LENGTH = 12
# Longer is refused before any work: no one types more, and hashing or estimating
# a huge input would let one request hold a worker.
MAX_PASSWORD_LENGTH = 1024
# zxcvbn's scale runs 0-4; 3 is "safely unguessable" against an offline attack on
# a slow hash, which is what a leaked scrypt table would face.
MIN_PASSWORD_SCORE = 3
# zxcvbn's cost grows steeply with length (its own default refuses more than 72
# characters), so a longer password is judged by its first 72: that many
# characters of a strong password are already strong.
_ESTIMATED_LENGTH = 72
# zxcvbn keeps the user inputs of a call in a module-level dictionary, and the web
# UI's workers run threads: one estimate at a time, so no call sees another's inputs.
_ZXCVBN_LOCK = threading.Lock()
#: What a failed sign-in's audit record names when the email is no user's.
UNKNOWN_ACCOUNT = "(unknown account)"
PASSWORD_METHOD = "scrypt"  # noqa: S105 -- a hash method name; memory-hard
# A real hash to compare against when the email is unknown, so a wrong email and a
# wrong password take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=PASSWORD_METHOD)


class UserError(ValueError):
    """A request the rules refuse (unknown user, weak password, bad role...)."""


@dataclass(frozen=True)
class User:
    """A staff account as the front ends see it (never the password hash)."""

    id: int
    email: str
    role: str
    active: bool
    created_at: datetime | None = None
    last_login_at: datetime | None = None
    session_version: int = 0

    def can(self, role: str) -> bool:
        """Return True when this user's role is ``role`` or more powerful."""
        return ROLES.index(self.role) <= ROLES.index(role)


def _now() -> datetime:
    return datetime.now(UTC)


def _normalise_email(email: str) -> str:
    value = (email or "").strip().lower()
    if "@" not in value or value.startswith("@") or value.endswith("@"):
        raise UserError(f"not an email address: {email!r}")
    return value


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


def _check_password(password: str, email: str) -> None:
    """Refuse a password that is too short, too long or guessable (zxcvbn)."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"password too short: at least {MIN_PASSWORD_LENGTH} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")
    with _ZXCVBN_LOCK:
        result = zxcvbn(
            password[:_ESTIMATED_LENGTH], user_inputs=_personal_words(email)
        )
    if result["score"] < MIN_PASSWORD_SCORE:
        feedback = result["feedback"]
        hints = [feedback["warning"], *feedback["suggestions"]]
        why = " ".join(h for h in hints if h) or "it is too easy to guess."
        raise UserError(f"password too weak: {why}")


def _personal_words(email: str) -> list[str]:
    """Return the email and its parts, which a password should not be built on."""
    local, _, domain = email.partition("@")
    parts = re.split(r"[._+-]+", local)
    return [email, local, domain, "".join(parts), *parts]


def _row_to_user(row) -> User:
    return User(
        id=row.id,
        email=row.email,
        role=row.role,
        active=row.active,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
        session_version=row.session_version,
    )


def _require_user(conn: sa.Connection, email: str):
    row = conn.execute(
        sa.select(users).where(users.c.email == _normalise_email(email))
    ).first()
    if row is None:
        raise UserError(f"no such user: {email}")
    return row


def create_user(
    conn: sa.Connection, email: str, password: str, role: str, *, actor: str
) -> User:
    """Create an active user with a hashed password; audited."""
    email = _normalise_email(email)
    _check_password(password, email)
    return _insert_user(conn, email, password, role, actor=actor, action="user.create")


def _insert_user(
    conn: sa.Connection, email: str, password: str, role: str, *, actor, action
) -> User:
    """Store a new active user (the email normalised); audited as ``action``."""
    _check_role(role)
    exists = conn.execute(sa.select(users.c.id).where(users.c.email == email)).first()
    if exists:
        raise UserError(f"user already exists: {email}")
    user_id = conn.execute(
        users.insert()
        .values(
            email=email,
            password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
            role=role,
            active=True,
            created_at=_now(),
        )
        .returning(users.c.id)
    ).scalar_one()
    audit.record(conn, actor, action, email, {"role": role})
    return get_user(conn, user_id)


#: Built once: the web UI loads the signed-in user on every request.
_USER_BY_ID = sa.select(users).where(users.c.id == sa.bindparam("user_id"))


def get_user(conn: sa.Connection, user_id: int) -> User | None:
    """Return the user with this id, or None."""
    row = conn.execute(_USER_BY_ID, {"user_id": user_id}).first()
    return _row_to_user(row) if row else None


def find_active_user(conn: sa.Connection, email: str) -> User | None:
    """Return the active user with this email, or None (also for a non-email)."""
    try:
        email = _normalise_email(email)
    except UserError:
        return None
    row = conn.execute(
        sa.select(users).where(users.c.email == email, users.c.active.is_(True))
    ).first()
    return _row_to_user(row) if row else None


def list_users(conn: sa.Connection) -> list[User]:
    """Return every user, by email."""
    rows = conn.execute(sa.select(users).order_by(users.c.email)).all()
    return [_row_to_user(r) for r in rows]


def authenticate(conn: sa.Connection, email: str, password: str) -> User | None:
    """Return the active user whose password matches, else None; stamps the login."""
    try:
        email = _normalise_email(email)
    except UserError:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    row = conn.execute(sa.select(users).where(users.c.email == email)).first()
    if row is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(row.password_hash, password or "") or not row.active:
        return None
    conn.execute(
        users.update().where(users.c.id == row.id).values(last_login_at=_now())
    )
    return get_user(conn, row.id)


def audit_failed_login(conn: sa.Connection, email: str) -> int | None:
    """Audit a failed sign-in, naming the account only when it exists; return the
    account's user id, or None when the email is no user's.

    What was typed as the email may be a password typed into the wrong box or a
    stranger's address: neither belongs in the audit log.
    """
    try:
        email = _normalise_email(email)
    except UserError:
        email = None
    known = email is not None and (
        conn.execute(sa.select(users.c.id).where(users.c.email == email)).first()
    )
    audit.record(conn, "anonymous", "login.failed", email if known else UNKNOWN_ACCOUNT)
    return known.id if known else None


#: Ends every session of a user: sessions carry the version they began with.
_NEXT_SESSION_VERSION = {"session_version": users.c.session_version + 1}


def end_sessions(conn: sa.Connection, user_id: int) -> None:
    """End every web session of this user (on all devices)."""
    conn.execute(
        users.update().where(users.c.id == user_id).values(_NEXT_SESSION_VERSION)
    )


def disable_user(conn: sa.Connection, email: str, *, actor: str) -> User:
    """Disable a user, end their sessions and revoke their API tokens; audited."""
    row = _require_user(conn, email)
    conn.execute(
        users.update()
        .where(users.c.id == row.id)
        .values(active=False, **_NEXT_SESSION_VERSION)
    )
    conn.execute(
        api_tokens.update()
        .where(api_tokens.c.user_id == row.id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    audit.record(conn, actor, "user.disable", row.email)
    return get_user(conn, row.id)


def enable_user(conn: sa.Connection, email: str, *, actor: str) -> User:
    """Re-enable a disabled user; audited."""
    row = _require_user(conn, email)
    conn.execute(users.update().where(users.c.id == row.id).values(active=True))
    audit.record(conn, actor, "user.enable", row.email)
    return get_user(conn, row.id)


def set_role(conn: sa.Connection, email: str, role: str, *, actor: str) -> User:
    """Change a user's role and end their sessions; audited with the old and new
    role."""
    row = _require_user(conn, email)
    _check_role(role)
    conn.execute(
        users.update()
        .where(users.c.id == row.id)
        .values(role=role, **_NEXT_SESSION_VERSION)
    )
    audit.record(conn, actor, "user.role", row.email, {"old": row.role, "new": role})
    return get_user(conn, row.id)


def reset_password(conn: sa.Connection, email: str, password: str, *, actor: str):
    """Set a new password and end the user's sessions; audited (without the
    password)."""
    row = _require_user(conn, email)
    _check_password(password, row.email)
    _store_password(conn, row.id, password)
    audit.record(conn, actor, "user.reset_password", row.email)
    return get_user(conn, row.id)


def _store_password(conn: sa.Connection, user_id: int, password: str) -> None:
    """Store a new password hash and end every session of the user."""
    conn.execute(
        users.update()
        .where(users.c.id == user_id)
        .values(
            password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
            **_NEXT_SESSION_VERSION,
        )
    )


def change_password(conn: sa.Connection, user_id: int, current: str, new: str) -> User:
    """Change one's own password: the current one must be right and the new one
    strong; every session of the user ends (the caller starts the current one
    again). Audited, with the user as the actor."""
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).one()
    if not check_password_hash(row.password_hash, current or ""):
        raise UserError("the current password is wrong")
    _check_password(new, row.email)
    _store_password(conn, row.id, new)
    audit.record(conn, row.email, "user.change_password", row.email)
    return get_user(conn, row.id)


def set_own_password(
    conn: sa.Connection, user_id: int, password: str, *, action: str
) -> User:
    """Set the password a user chose through a single-use link (a reset by email,
    an invitation); every session of the user ends. Audited as ``action``."""
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).one()
    _check_password(password, row.email)
    _store_password(conn, row.id, password)
    audit.record(conn, row.email, action, row.email)
    return get_user(conn, row.id)


def invite_user(conn: sa.Connection, email: str, role: str, *, actor: str) -> User:
    """Create an active user who has no usable password yet (they choose it through
    an invitation link); audited."""
    # a random password nobody knows, until the invitation is accepted
    unknown = secrets.token_urlsafe(32)
    email = _normalise_email(email)
    return _insert_user(conn, email, unknown, role, actor=actor, action="user.invite")
