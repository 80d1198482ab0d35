"""API tokens: issue, list, revoke and verify them; their scopes; their use.

The CLI (``ctforeclosure users token``) and the web UI's admin pages both call these
functions, as they do :mod:`ctforeclosure.services.users`. A token is a random string
shown once and stored only as a SHA-256 digest. It carries scopes, each one kind of
thing it may do through the API (:data:`SCOPES`), and never more than its user's
role allows (:data:`ROLE_SCOPES`): issuing more is refused, and at each request the
scopes are cut down to what the user's role allows *now*, so a demoted user's token
loses what the new role may not do. Every issue and revocation is audited.

Each API request leaves a row in ``api_token_uses`` (time, method, the route's
template, status; never the path's values or the query, which hold names): admins
see a token's recent use, and the API's rate limit counts the last window's rows,
which :func:`verify_token` reads with the token. Rows older than
:data:`USE_RETENTION` are pruned.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ctforeclosure.db import api_token_uses, api_tokens, aware, users
from ctforeclosure.services import audit
from ctforeclosure.services.users import (
    User,
    UserError,
    _normalise_email,
    _require_user,
    _row_to_user,
)

__all__ = [
    "DEFAULT_SCOPES",
    "ROLE_SCOPES",
    "SCOPES",
    "USE_RETENTION",
    "Bearer",
    "IssuedToken",
    "TokenInfo",
    "WindowUse",
    "get_token",
    "issue_token",
    "list_tokens",
    "parse_scopes",
    "prune_uses",
    "recent_uses",
    "record_use",
    "revoke_token",
    "verify_token",
]

#: What a token may do, each with what it covers. ``leads`` covers the writes of
#: lead status, notes and the do-not-contact list (and, later, saved searches and
#: subscriptions).
SCOPES = {
    "read": "cases, towns, sales, changes, defendants, crawl runs, skip-trace ledger",
    "contacts": "phones, emails and mailing addresses unmasked",
    "skiptrace": "quote and start skip traces (spends money)",
    "crawl": "start, cancel and pause crawls",
    "leads": "lead status, notes, suppressions, saved searches, subscriptions",
    "admin": "status, metrics, users",
}
#: The scopes each role's tokens may hold: the one map of role to scopes.
ROLE_SCOPES = {
    "admin": frozenset(SCOPES),
    "manager": frozenset({"read", "contacts", "skiptrace", "crawl", "leads"}),
    "viewer": frozenset({"read"}),
}
DEFAULT_SCOPES = ("read",)
#: How long a token's use is kept: the admin page shows recent use; the rate limit
#: needs a minute. At 120 requests a minute, a token busy day and night leaves at
#: most 5.2 million rows in that time.
USE_RETENTION = timedelta(days=30)
TOKEN_PREFIX = "ctf_"  # noqa: S105 -- lets secret scanners spot a leaked token


@dataclass(frozen=True)
class IssuedToken:
    """A new API token: ``secret`` is shown once and never stored."""

    id: int
    name: str
    secret: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES


@dataclass(frozen=True)
class TokenInfo:
    """A token as the admin pages and the CLI list it (never its digest)."""

    id: int
    email: str
    role: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class WindowUse:
    """A token's requests within the rate limit's window."""

    #: Requests answered (refusals for the rate limit not counted).
    count: int
    #: When the oldest of those was made (None when there were none).
    oldest: datetime | None
    #: Whether a refusal for the rate limit was recorded within the window.
    refused: bool


@dataclass(frozen=True)
class Bearer:
    """Who a verified token speaks for, and what it may do now."""

    token_id: int
    user: User
    #: The token's scopes that the user's current role still allows.
    scopes: frozenset[str]
    #: Its requests within the rate limit's window.
    window: WindowUse


def _now() -> datetime:
    return datetime.now(UTC)


def secret_digest(secret: str) -> str:
    """Return the stored form of a random secret (an API token, an account link, a
    recovery code, a calendar feed's address): its SHA-256, enough for a value too
    random to guess, where a slow password hash is for what people choose."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Return scope names, in :data:`SCOPES` order, from text or a list.

    Text is comma- or space-separated; an unknown name is refused, naming it.
    """
    if value is None:
        return DEFAULT_SCOPES
    names = value.replace(",", " ").split() if isinstance(value, str) else value
    wanted = {n.strip().lower() for n in names if n and n.strip()}
    if unknown := sorted(wanted - SCOPES.keys()):
        raise UserError(f"unknown scope {unknown[0]!r}: use any of {', '.join(SCOPES)}")
    if not wanted:
        raise UserError(f"a token needs at least one scope: {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in wanted)


def _allowed(scopes: Iterable[str], role: str) -> frozenset[str]:
    return frozenset(scopes) & ROLE_SCOPES.get(role, frozenset())


def issue_token(
    conn: sa.Connection,
    email: str,
    name: str,
    *,
    actor: str,
    scopes: str | Iterable[str] | None = None,
) -> IssuedToken:
    """Create an API token for an active user; return the secret (shown once).

    ``scopes`` defaults to ``read``; a scope the user's role does not allow is
    refused, naming it.
    """
    row = _require_user(conn, email)
    if not row.active:
        raise UserError(f"user is disabled: {row.email}")
    wanted = parse_scopes(scopes)
    if beyond := [s for s in wanted if s not in ROLE_SCOPES[row.role]]:
        raise UserError(
            f"a {row.role}'s token cannot have the {beyond[0]} scope "
            f"(a {row.role} may have: {', '.join(_ordered(ROLE_SCOPES[row.role]))})"
        )
    name = (name or "").strip() or "api"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = conn.execute(
        api_tokens.insert()
        .values(
            user_id=row.id,
            name=name[:80],
            token_hash=secret_digest(secret),
            created_at=_now(),
            scopes=",".join(wanted),
        )
        .returning(api_tokens.c.id)
    ).scalar_one()
    audit.record(
        conn,
        actor,
        "token.issue",
        row.email,
        {"token_id": token_id, "scopes": list(wanted)},
    )
    return IssuedToken(id=token_id, name=name, secret=secret, scopes=wanted)


def _ordered(scopes: Iterable[str]) -> list[str]:
    return [s for s in SCOPES if s in set(scopes)]


def _token_infos(conn: sa.Connection, *where) -> list[TokenInfo]:
    stmt = (
        sa.select(
            api_tokens.c.id,
            users.c.email,
            users.c.role,
            api_tokens.c.name,
            api_tokens.c.scopes,
            api_tokens.c.created_at,
            api_tokens.c.last_used_at,
            api_tokens.c.revoked_at,
        )
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(*where)
        .order_by(api_tokens.c.id)
    )
    return [
        TokenInfo(**{**row._asdict(), "scopes": tuple(_ordered(row.scopes.split(",")))})
        for row in conn.execute(stmt)
    ]


def list_tokens(conn: sa.Connection, email: str | None = None) -> list[TokenInfo]:
    """Return every token (or one user's), oldest first."""
    if email:
        return _token_infos(conn, users.c.email == _normalise_email(email))
    return _token_infos(conn)


def get_token(conn: sa.Connection, token_id: int) -> TokenInfo | None:
    """Return one token, or None."""
    found = _token_infos(conn, api_tokens.c.id == token_id)
    return found[0] if found else None


def revoke_token(conn: sa.Connection, token_id: int, *, actor: str) -> None:
    """Revoke one API token by id; audited."""
    row = conn.execute(
        sa.select(api_tokens.c.id, users.c.email)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.id == token_id)
    ).first()
    if row is None:
        raise UserError(f"no such token: {token_id}")
    conn.execute(
        api_tokens.update()
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    audit.record(conn, actor, "token.revoke", row.email, {"token_id": token_id})


def _window_counts(since):
    """Return the token's uses since ``since`` as three correlated subqueries:
    requests answered (refusals for the rate limit not counted), the oldest of
    them, and refusals."""
    uses = api_token_uses
    answered = uses.c.status != 429
    where = (uses.c.token_id == api_tokens.c.id, uses.c.at > since)

    def of(column, name):
        return sa.select(column).where(*where).scalar_subquery().label(name)

    return (
        of(sa.func.count().filter(answered), "window_count"),
        of(sa.func.min(uses.c.at).filter(answered), "window_oldest"),
        of(sa.func.count().filter(uses.c.status == 429), "window_refused"),
    )


#: Built once: the API verifies a token and counts its window on every request, in
#: one statement (one round trip; the window's rows through the token-time index).
_BEARER = (
    sa.select(
        api_tokens.c.id.label("token_id"),
        api_tokens.c.scopes,
        users.c.id,
        users.c.email,
        users.c.role,
        users.c.active,
        users.c.created_at,
        users.c.last_login_at,
        users.c.session_version,
        *_window_counts(sa.bindparam("since")),
    )
    .join(users, users.c.id == api_tokens.c.user_id)
    .where(
        api_tokens.c.token_hash == sa.bindparam("digest"),
        api_tokens.c.revoked_at.is_(None),
        users.c.active.is_(True),
    )
)


def verify_token(
    conn: sa.Connection, secret: str, window_since: datetime | None = None
) -> Bearer | None:
    """Return the :class:`Bearer` of an unrevoked token of an active user, else
    None, with its uses since ``window_since`` (default: the last minute).

    Only reads: :func:`record_use` stamps the token's last use.
    """
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    since = window_since or _now() - timedelta(minutes=1)
    row = conn.execute(
        _BEARER, {"digest": secret_digest(secret), "since": since}
    ).first()
    if row is None:
        return None
    user = _row_to_user(row)
    window = WindowUse(
        count=row.window_count,
        oldest=aware(row.window_oldest),
        refused=row.window_refused > 0,
    )
    return Bearer(row.token_id, user, _allowed(row.scopes.split(","), row.role), window)


def record_use(
    conn: sa.Connection,
    token_id: int,
    method: str,
    route: str,
    status: int,
    at: datetime | None = None,
) -> None:
    """Record one request made with a token (the route's template, not its path)
    and stamp the token's last use.

    On PostgreSQL the commit does not wait for the disk (``synchronous_commit``
    off, for this transaction only): a crash may lose the last moment's records,
    never corrupt them, and the request does not wait for a flush.
    """
    at = at or _now()
    if conn.dialect.name == "postgresql" and conn.in_transaction():
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
    conn.execute(
        api_token_uses.insert().values(
            token_id=token_id,
            at=at,
            method=method[:8],
            route=route[:200],
            status=status,
        )
    )
    conn.execute(
        api_tokens.update().where(api_tokens.c.id == token_id).values(last_used_at=at)
    )


def prune_uses(conn: sa.Connection, now: datetime | None = None) -> int:
    """Delete uses older than :data:`USE_RETENTION`; return how many went."""
    cutoff = (now or _now()) - USE_RETENTION
    return conn.execute(
        api_token_uses.delete().where(api_token_uses.c.at < cutoff)
    ).rowcount


def recent_uses(conn: sa.Connection, token_id: int, limit: int = 50) -> list:
    """Return a token's newest uses (at, method, route, status), newest first."""
    return conn.execute(
        sa.select(
            api_token_uses.c.at,
            api_token_uses.c.method,
            api_token_uses.c.route,
            api_token_uses.c.status,
        )
        .where(api_token_uses.c.token_id == token_id)
        .order_by(api_token_uses.c.at.desc(), api_token_uses.c.id.desc())
        .limit(limit)
    ).all()
