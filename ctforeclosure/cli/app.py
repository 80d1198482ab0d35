"""The ``ctforeclosure`` command: one click group, a module per area."""

import click

from ctforeclosure.cli.db import db
from ctforeclosure.cli.group import DatabaseAwareGroup
from ctforeclosure.cli.node import node
from ctforeclosure.cli.notify import notify
from ctforeclosure.cli.routines import backup, restore, routine_group
from ctforeclosure.cli.scrapyd import cancel, jobs, pause, resume, schedule
from ctforeclosure.cli.skiptrace import purge, reconcile, skiptrace
from ctforeclosure.cli.spool import spool
from ctforeclosure.cli.summary import summary
from ctforeclosure.cli.towns import towns
from ctforeclosure.cli.users import users
from ctforeclosure.cli.web import web


@click.group(cls=DatabaseAwareGroup)
@click.version_option(package_name="ctforeclosure")
def main() -> None:
    """ctforeclosure: Connecticut foreclosure cases, from the court to your desk."""


main.add_command(db)
main.add_command(summary)
main.add_command(towns)
main.add_command(users)
main.add_command(web)
main.add_command(schedule)
main.add_command(jobs)
main.add_command(cancel)
main.add_command(pause)
main.add_command(resume)
main.add_command(skiptrace)
main.add_command(purge)
main.add_command(reconcile)
main.add_command(spool)
main.add_command(node)
main.add_command(routine_group)
main.add_command(backup)
main.add_command(restore)
main.add_command(notify)
