"""``ctforeclosure skiptrace`` and ``ctforeclosure purge``: spend deliberately, keep
personal data no longer than needed.

``skiptrace`` always prints the quote first (records, worst-case cost, what is
skipped and why) and spends only with ``--yes``. ``purge`` removes skip-trace results
past the retention setting, or everything bought about one person on request. Both
go through :mod:`ctforeclosure.skiptrace` (the same service the crawl and the web UI
use) and land in the audit trail. Output shows counts, dockets and party numbers:
never phones or emails.
"""

from __future__ import annotations

import getpass

import click

from ctforeclosure import config, db, dockets

__all__ = ["purge", "reconcile", "skiptrace"]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry in some containers
        return "cli"


@click.command()
@click.option("--docket", "docket_nos", multiple=True, help="A docket number (repeat).")
@click.option("--town", help="Every case searched under this town.")
@click.option("--pending", is_flag=True, help="Every listed case not yet traced.")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most N records.")
@click.option("--yes", is_flag=True, help="Spend: without it only the quote is shown.")
def skiptrace(docket_nos, town, pending, limit, yes) -> None:
    """Quote, and with --yes run, a BatchData skip trace of eligible defendants."""
    from ctforeclosure.skiptrace.client import AuthError
    from ctforeclosure.skiptrace.service import (
        BudgetExceeded,
        NotConfiguredError,
        SkipTraceService,
    )

    chosen = sum(bool(x) for x in (docket_nos, town, pending))
    if chosen != 1:
        raise click.UsageError("give exactly one of --docket, --town or --pending")
    try:
        compact = [dockets.compact(d) for d in docket_nos] if docket_nos else None
    except dockets.InvalidDocket as exc:
        raise click.UsageError(str(exc)) from exc
    cfg = config.load()
    engine = db.make_engine(cfg.database_url)
    try:
        service = SkipTraceService.from_config(engine)
        quote = service.quote(
            docket_nos=compact, town=town, pending=pending, limit=limit
        )
        for line in quote.lines():
            click.echo(line)
        if not yes:
            if quote.records or quote.reuse or quote.review:
                click.echo(
                    f"Nothing spent. Run again with --yes to trace {len(quote.records)}"
                    f" records for at most ${quote.max_cost:.2f}."
                )
            return
        if not service.configured:
            raise click.ClickException(
                "skip tracing is off: set BATCHDATA_BASE_URL and BATCHDATA_API_KEY"
            )
        result = _run_with_progress(service, quote)
    except (AuthError, BudgetExceeded, NotConfiguredError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    for line in result.lines():
        click.echo(line)
    if result.stopped:
        raise SystemExit(1)


def _run_with_progress(service, quote):
    from ctforeclosure.cli.progress import bar as progress_bar

    total = len(quote.records)
    with progress_bar(hide=total < 200, total=total, unit="rec") as bar:

        def progress(done: int, _total: int) -> None:
            bar.update(done - bar.n)

        return service.run(quote, triggered_by=_actor(), progress=progress)


@click.command()
@click.option("--party-id", "party_ids", type=int, multiple=True, help="(repeat)")
@click.option("--person", help="Everything bought about this person (first last).")
def purge(party_ids, person) -> None:
    """Delete expired skip-trace results, or a party's or a person's on request.

    Without options: results older than SKIPTRACE_RETENTION_DAYS (or past the
    expiry stamped when they were bought).
    """
    from ctforeclosure.skiptrace import purge as purging
    from ctforeclosure.skiptrace.settings import SkipTraceSettings

    if party_ids and person:
        raise click.UsageError("give --party-id or --person, not both")
    cfg = config.load()
    engine = db.make_engine(cfg.database_url)
    try:
        if party_ids:
            count = purging.purge_parties(engine, party_ids, _actor())
            click.echo(
                f"Deleted {count} skip-trace results of {len(party_ids)} parties."
            )
        elif person:
            try:
                parties, count = purging.purge_person(engine, person, _actor())
            except ValueError as exc:
                raise click.UsageError(str(exc)) from exc
            click.echo(f"Deleted {count} skip-trace results of {parties} parties.")
        else:
            try:
                days = SkipTraceSettings.from_config(cfg).retention_days
            except ValueError as exc:
                raise click.ClickException(str(exc)) from exc
            count = purging.purge_expired(engine, _actor(), retention_days=days)
            click.echo(
                f"Deleted {count} skip-trace results past retention ({days} days)."
            )
    finally:
        engine.dispose()


@click.command()
@click.option(
    "--retry", "retry_ids", type=int, multiple=True, help="Result id (repeat)."
)
@click.option("--skip", "skip_ids", type=int, multiple=True, help="Result id (repeat).")
def reconcile(retry_ids, skip_ids) -> None:
    """List skip-trace records whose outcome is unknown, or settle them.

    Check the vendor's billing first. --retry: they were not billed, trace them again
    next time (their reserved cost is released). --skip: keep them out of automatic
    traces (review list); their reserved cost stays counted as spent.
    """
    from ctforeclosure.skiptrace.service import SkipTraceService

    cfg = config.load()
    engine = db.make_engine(cfg.database_url)
    try:
        service = SkipTraceService.from_config(engine)
        if not retry_ids and not skip_ids:
            rows = service.needs_attention("unknown_reconcile")
            click.echo(f"{len(rows)} skip-trace records with an unknown outcome:")
            for row in rows:
                click.echo(
                    f"  result {row.result_id}: {row.docket_no} {row.party_no}, "
                    f"sent {row.fetched_at:%Y-%m-%d %H:%M} (ledger #{row.ledger_id})"
                )
            return
        for ids, decision in ((retry_ids, "retry"), (skip_ids, "skip")):
            if ids:
                changed = service.reconcile(ids, decision, decided_by=_actor())
                click.echo(f"{decision}: {changed} of {len(ids)} records settled.")
    finally:
        engine.dispose()
