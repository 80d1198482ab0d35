"""Single-use links that let a person set their own password: a reset asked for by
email (good for 30 minutes) and an admin's invitation (72 hours).

The link carries a random secret; only its SHA-256 is stored, so whoever reads the
table (a backup, a leaked dump) cannot use a link. A link works once: redeeming it
is one ``UPDATE ... WHERE used_at IS NULL AND expires_at > now RETURNING``, so two
clicks racing each other cannot both win, and redeeming one also spends the user's
other open links for the same purpose. Times are passed in (``now``), so tests move
the clock instead of sleeping.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from ctforeclosure.db import account_links
from ctforeclosure.services.tokens import secret_digest

__all__ = ["LIFETIMES", "issue", "peek", "redeem"]

#: How long each kind of link works.
LIFETIMES = {"reset": timedelta(minutes=30), "invite": timedelta(hours=72)}


def issue(conn: sa.Connection, user_id: int, purpose: str, *, now: datetime) -> str:
    """Store a new link for this user and purpose; return its secret (shown or sent
    once, never stored)."""
    secret = secrets.token_urlsafe(32)
    conn.execute(
        account_links.insert().values(
            user_id=user_id,
            purpose=purpose,
            token_hash=secret_digest(secret),
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    return secret


def _open(secret: str, purpose: str, now: datetime):
    return sa.and_(
        account_links.c.token_hash == secret_digest(secret or ""),
        account_links.c.purpose == purpose,
        account_links.c.used_at.is_(None),
        account_links.c.expires_at > now,
    )


def peek(conn: sa.Connection, secret: str, purpose: str, *, now: datetime):
    """Return the user id of an unused, unexpired link, or None (nothing is spent)."""
    return conn.execute(
        sa.select(account_links.c.user_id).where(_open(secret, purpose, now))
    ).scalar()


def redeem(conn: sa.Connection, secret: str, purpose: str, *, now: datetime):
    """Spend the link (and the user's other open links of this purpose); return its
    user id, or None when it is unknown, used or expired."""
    user_id = conn.execute(
        account_links.update()
        .where(_open(secret, purpose, now))
        .values(used_at=now)
        .returning(account_links.c.user_id)
    ).scalar()
    if user_id is not None:
        conn.execute(
            account_links.update()
            .where(
                account_links.c.user_id == user_id,
                account_links.c.purpose == purpose,
                account_links.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
    return user_id
