"""``ctforeclosure users``: manage staff accounts and API tokens from the shell.

Thin wrappers over :mod:`ctforeclosure.services.users` (the web UI's admin pages use
the same functions). Passwords are prompted for, or read from stdin with
``--password-stdin`` for scripts; they are never command-line arguments.
"""

import sys

import click

from ctforeclosure import config, db
from ctforeclosure.services import second_factor
from ctforeclosure.services import tokens as token_svc
from ctforeclosure.services import users as svc

ACTOR = "cli"


def _engine():
    return db.make_engine(config.load().database_url)


def _run(fn):
    """Run ``fn(conn)`` in one transaction; turn rule violations into usage errors."""
    engine = _engine()
    try:
        with engine.begin() as conn:
            return fn(conn)
    except svc.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group()
def users() -> None:
    """Manage staff accounts (admin, manager, viewer) and their API tokens."""


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(svc.ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def add(email: str, role: str, password_stdin: bool) -> None:
    """Create a user."""
    password = _read_password(password_stdin)
    user = _run(lambda c: svc.create_user(c, email, password, role, actor=ACTOR))
    click.echo(f"created {user.email} ({user.role})")


@users.command("list")
def list_() -> None:
    """List users with their role and state."""
    for user in _run(svc.list_users):
        state = "active" if user.active else "disabled"
        last = f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never"
        click.echo(f"{user.email}\t{user.role}\t{state}\tlast login {last}")


@users.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Disable a user and revoke their API tokens."""
    _run(lambda c: svc.disable_user(c, email, actor=ACTOR))
    click.echo(f"disabled {email}")


@users.command("enable")
@click.argument("email")
def enable(email: str) -> None:
    """Re-enable a disabled user."""
    _run(lambda c: svc.enable_user(c, email, actor=ACTOR))
    click.echo(f"enabled {email}")


@users.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(svc.ROLES))
def set_role(email: str, role: str) -> None:
    """Change a user's role."""
    _run(lambda c: svc.set_role(c, email, role, actor=ACTOR))
    click.echo(f"{email} is now {role}")


@users.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def reset_password(email: str, password_stdin: bool) -> None:
    """Set a new password for a user."""
    password = _read_password(password_stdin)
    _run(lambda c: svc.reset_password(c, email, password, actor=ACTOR))
    click.echo(f"password reset for {email}")


@users.command("reset-2fa")
@click.argument("email")
def reset_2fa(email: str) -> None:
    """Remove a user's second factor and recovery codes (a lost phone, or a changed
    CTF_SECRET_KEY); they enrol again at their next sign-in."""

    def reset(conn):
        user = svc.find_active_user(conn, email)
        if user is None:
            raise svc.UserError(f"no such active user: {email}")
        second_factor.reset(conn, user.id, actor=ACTOR)

    _run(reset)
    click.echo(f"second factor removed for {email}")


@users.group()
def token() -> None:
    """Issue, list and revoke API tokens."""


@token.command("issue")
@click.argument("email")
@click.option("--name", default="api", show_default=True)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(list(token_svc.SCOPES)),
    help="What the token may do; repeat for more. Default: read. "
    + "; ".join(f"{name}: {what}" for name, what in token_svc.SCOPES.items()),
)
def token_issue(email: str, name: str, scopes: tuple[str, ...]) -> None:
    """Issue an API token; the secret is printed once."""
    issued = _run(
        lambda c: token_svc.issue_token(
            c, email, name, actor=ACTOR, scopes=scopes or None
        )
    )
    scopes_text = ",".join(issued.scopes)
    click.echo(f"token {issued.id} ({issued.name}, {scopes_text}) for {email}:")
    click.echo(issued.secret)


@token.command("list")
@click.option("--email", default=None)
def token_list(email: str | None) -> None:
    """List API tokens (never their secrets): id, user, name, scopes, state."""
    for row in _run(lambda c: token_svc.list_tokens(c, email)):
        state = "revoked" if row.revoked_at else "active"
        scopes = ",".join(row.scopes)
        click.echo(f"{row.id}\t{row.email}\t{row.name}\t{scopes}\t{state}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke an API token by id."""
    _run(lambda c: token_svc.revoke_token(c, token_id, actor=ACTOR))
    click.echo(f"revoked token {token_id}")
