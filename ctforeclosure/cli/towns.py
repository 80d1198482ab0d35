"""``ctforeclosure towns``: list the 169 towns, check what a spelling means, or
re-check the stored cases' towns against the list.

Listing and checking read the bundled reference list (``ctforeclosure.towns``), so
they work before any crawl and without a database; ``revalidate`` reads the cases
in ``DATABASE_URL`` (``ctforeclosure.store.town_check``).
"""

import click

from ctforeclosure import config, db
from ctforeclosure import towns as reference
from ctforeclosure.store import town_check

#: Exit status of ``revalidate`` (without ``--fix``) when something no longer
#: matches, so a cron line or a script notices.
EXIT_MISMATCHES = 3

#: Exit status when a name is not a town or county (click's usage-error status).
EXIT_UNKNOWN = 2


@click.group(invoke_without_command=True)
@click.option("--county", metavar="NAME", help='Only this county ("New Haven").')
@click.pass_context
def towns(ctx: click.Context, county: str | None) -> None:
    """List the towns and their counties (or see `towns check --help`)."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        listed = reference.towns_in_county(county) if county else reference.all_towns()
    except reference.UnknownCounty as exc:
        click.echo(str(exc), err=True)
        ctx.exit(EXIT_UNKNOWN)
    width = max(len(t.name) for t in listed)
    for town in listed:
        click.echo(f"{town.name:<{width}}  {town.county}")


@towns.command()
@click.argument("name")
@click.pass_context
def check(ctx: click.Context, name: str) -> None:
    """Print the town NAME means and its county, e.g. "E. HARTFORD"."""
    try:
        town = reference.canonical(name)
    except reference.UnknownTown as exc:
        click.echo(str(exc), err=True)
        ctx.exit(EXIT_UNKNOWN)
    click.echo(f"{town.name}, {town.county} County")


@towns.command()
@click.option("--fix", is_flag=True, help="Correct what can be, recording each change.")
@click.pass_context
def revalidate(ctx: click.Context, fix: bool) -> None:
    """Re-check every stored case's towns against the current towns list."""
    engine = db.make_engine(config.load().database_url)
    try:
        with engine.begin() as conn:
            found = town_check.check(conn)
            fixed = town_check.apply(conn, found) if fix else 0
    finally:
        engine.dispose()
    for m in found:
        new = m.new if m.fixable else "unknown to the towns list (not fixable)"
        click.echo(f"{m.docket_no}  {m.field}: {m.old!s} -> {new!s}")
    unfixable = sum(1 for m in found if not m.fixable)
    if fix:
        click.echo(f"{len(found)} mismatch(es); corrected {fixed} case(s)")
        if unfixable:
            click.echo(f"{unfixable} not fixable: see the lines above", err=True)
    else:
        click.echo(f"{len(found)} mismatch(es); run with --fix to correct them")
    if found and (not fix or unfixable):
        ctx.exit(EXIT_MISMATCHES)
