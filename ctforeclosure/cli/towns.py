"""``ctforeclosure towns``: list the 169 towns, or check what a spelling means.

Both read the bundled reference list (``ctforeclosure.towns``), so they work before
any crawl and without a database.
"""

import click

from ctforeclosure import towns as reference

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
