"""``ctforeclosure node``: start a scrapyd node only with real credentials."""

from __future__ import annotations

import click

from ctforeclosure import config
from ctforeclosure.jobs import node as scrapyd_node


def _refuse(exc: Exception) -> None:
    click.echo(f"refusing to start scrapyd: {exc}", err=True)
    raise SystemExit(1)


@click.group()
def node() -> None:
    """This machine as a scrapyd node: credential check, start, proxy htpasswd."""


@node.command()
def check() -> None:
    """Exit non-zero unless SCRAPYD_USERNAME/SCRAPYD_PASSWORD are real credentials."""
    try:
        scrapyd_node.require_credentials(config.load())
    except scrapyd_node.CredentialsRefused as exc:
        _refuse(exc)
    click.echo("scrapyd credentials: ok")


@node.command(context_settings={"ignore_unknown_options": True})
@click.argument("scrapyd_args", nargs=-1, type=click.UNPROCESSED)
def start(scrapyd_args: tuple[str, ...]) -> None:
    """Check the credentials, then run scrapyd with SCRAPYD_ARGS (e.g. --pidfile=)."""
    try:
        scrapyd_node.exec_scrapyd(config.load(), list(scrapyd_args))
    except scrapyd_node.CredentialsRefused as exc:
        _refuse(exc)


@node.command()
def htpasswd() -> None:
    """Print the reverse proxy's htpasswd line for scrapyd's credentials (bcrypt)."""
    try:
        click.echo(scrapyd_node.htpasswd_line(config.load()))
    except scrapyd_node.CredentialsRefused as exc:
        _refuse(exc)
