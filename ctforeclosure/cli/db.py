"""``ctforeclosure db``: create and migrate the database."""

import click

from ctforeclosure import config, migrate


@click.group()
def db() -> None:
    """Manage the database schema."""


@db.command()
def upgrade() -> None:
    """Migrate the database in DATABASE_URL (default: the embedded SQLite file)."""
    cfg = config.load()
    before, after = migrate.upgrade(cfg.database_url)
    where = cfg.database_url_redacted
    if before == after:
        click.echo(f"{where}: already at schema revision {after}; nothing to do.")
    else:
        click.echo(f"{where}: migrated from {before or 'empty'} to revision {after}.")


@db.command()
def status() -> None:
    """Print which database is configured and its schema revision."""
    from ctforeclosure.db import make_engine

    cfg = config.load()
    engine = make_engine(cfg.database_url)
    try:
        current = migrate.current_revision(engine)
    finally:
        engine.dispose()
    head = migrate.head_revision()
    state = "current" if current == head else "run `ctforeclosure db upgrade`"
    click.echo(
        f"{cfg.database_url_redacted}: revision {current or 'none'} "
        f"(head {head}; {state})"
    )
