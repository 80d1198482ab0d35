"""``ctforeclosure notify``: deliver what subscriptions on saved searches are due.

It matches the changes recorded since its last run to the subscriptions, then
sends the due emails (immediate ones, digests at their hour) and webhooks, and
retries the failed ones whose time has come (:mod:`ctforeclosure.services.notify`).
The end of every crawl runs it (:mod:`ctforeclosure.extensions.notify`), and a
systemd timer or cron line in ``deploy/`` every 5 minutes, for digests and retries.

It prints one line of counts (no addresses, no dockets). Exit status: 0 when the
run finished, deliveries waiting for a retry included, or when another run held
the lock (it does the work); 1 when it failed (the database unavailable, say),
with the failure alert of every routine.
"""

from __future__ import annotations

import click

from ctforeclosure import config, db
from ctforeclosure.cli.routines import routine
from ctforeclosure.services import notify as notifications
from webui.saved_queries import matching_dockets

__all__ = ["notify"]


@click.command()
@routine("notify")
def notify() -> None:
    """Match new changes to subscriptions and send the due emails and webhooks."""
    cfg = config.load()
    engine = db.make_engine(cfg.database_url)
    try:
        settings = notifications.SendSettings.from_config(cfg)
        summary = notifications.run(engine, matching_dockets, settings)
    except notifications.AlreadyRunning as exc:
        click.echo(f"notify: {exc}; nothing done")
        return
    finally:
        engine.dispose()
    click.echo(summary.line())
