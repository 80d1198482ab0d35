"""The ``ctforeclosure`` group: one line, not a traceback, when the database is down.

Every command that reads or writes the database may meet a server that is down, a
wrong port or an unreadable SQLite file. The group catches that once, for all of
them, and prints ``database unavailable: <URL without its password>: <the driver's
first line>`` on stderr with exit status 1. Commands that explain a database error
themselves raise a ``click.ClickException``, which click prints as it is.
"""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

from ctforeclosure import config

#: Exit status when the database cannot be reached.
EXIT_DATABASE_UNAVAILABLE = 1


def unavailable_error(exc: BaseException) -> OperationalError | InterfaceError | None:
    """Return the connection error behind ``exc`` (itself, a cause, a context).

    Only errors on reaching the database count: raised while connecting (no SQL
    statement yet) or on a connection that dropped. SQLite's OperationalError for a
    statement ("no such table") is a schema problem, not an unavailable database.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, (OperationalError, InterfaceError)) and (
            current.statement is None or current.connection_invalidated
        ):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def unavailable_message(error: OperationalError | InterfaceError) -> str:
    """Return the one line to print: redacted URL and the driver's first line."""
    cfg = config.load()
    try:
        where = cfg.database_url_redacted
        password = make_url(cfg.database_url).password
    except ArgumentError:
        where, password = "the database in DATABASE_URL", None
    detail = str(error.orig if error.orig is not None else error).strip()
    first = detail.splitlines()[0] if detail else type(error).__name__
    if password:
        first = first.replace(str(password), "***")
    return f"database unavailable: {where}: {first}"


class DatabaseAwareGroup(click.Group):
    """A click group that reports an unreachable database in one line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except Exception as exc:
            error = unavailable_error(exc)
            if error is None:
                raise
            click.echo(unavailable_message(error), err=True)
            ctx.exit(EXIT_DATABASE_UNAVAILABLE)
