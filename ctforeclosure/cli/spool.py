"""``ctforeclosure spool``: see and load the items a crawl could not store.

When the database fails mid-crawl, the upsert pipeline writes every later batch to
the spool (``$CTF_DATA_DIR/spool``) and the crawl keeps going. Once the database is
back, ``ctforeclosure spool replay`` loads them, idempotently, oldest first, and
skip traces the parties it stored when skip tracing is on (``SKIPTRACE_ENABLED``
and BatchData configured), as the crawl would have: an outage changes when parties
are traced, not whether.
"""

from __future__ import annotations

import click

from ctforeclosure import config


@click.group()
def spool() -> None:
    """Items waiting for the database after a failure during a crawl."""


@spool.command()
def status() -> None:
    """Print the spool files and how many records each still holds."""
    from ctforeclosure.store.spool import (
        load_untraced,
        read_lines,
        spool_files,
        stored_count,
        untraced_files,
    )

    cfg = config.load()
    files = spool_files(cfg.spool_dir)
    runs = (
        sorted(cfg.spool_dir.glob("crawl-run-*.json"))
        if files or cfg.spool_dir.is_dir()
        else []
    )
    untraced = untraced_files(cfg.spool_dir)
    if not files and not runs and not untraced:
        click.echo(f"Spool {cfg.spool_dir}: empty, nothing to replay.")
        return
    total = 0
    for path in files:
        waiting = max(0, len(read_lines(path)) - stored_count(path))
        total += waiting
        click.echo(f"{path.name}: {waiting} records waiting")
    for path in runs:
        click.echo(f"{path.name}: closing values of a crawl run")
    for path in untraced:
        click.echo(f"{path.name}: {len(load_untraced(path))} parties to skip trace")
    click.echo(
        f"Spool {cfg.spool_dir}: {total} records in {len(files)} files; "
        "load them with `ctforeclosure spool replay`."
    )


@spool.command()
@click.option(
    "--batch-size", default=500, show_default=True, help="Records per transaction."
)
def replay(batch_size: int) -> None:
    """Load the spooled items into the database; remove only what was stored."""
    import sqlalchemy as sa

    from ctforeclosure.cli import progress
    from ctforeclosure.cli.group import unavailable_error
    from ctforeclosure.db import make_engine
    from ctforeclosure.migrate import SchemaNotCurrent, require_current
    from ctforeclosure.store import spool as store_spool

    cfg = config.load()
    waiting = store_spool.count_records(cfg.spool_dir)
    engine = make_engine(cfg.database_url)
    try:
        try:
            require_current(engine)
        except (SchemaNotCurrent, sa.exc.SQLAlchemyError) as exc:
            if unavailable_error(exc):
                raise  # the ctforeclosure group reports an unreachable database
            raise click.ClickException(
                f"database {cfg.database_url_redacted} cannot be used: "
                f"{str(exc).splitlines()[0]}. The spool is untouched."
            ) from exc
        with progress.bar(total=waiting, unit="record", desc="replay") as bar:
            try:
                result = store_spool.replay(
                    engine, cfg.spool_dir, batch_size=batch_size, progress=bar.update
                )
            except sa.exc.SQLAlchemyError as exc:
                raise click.ClickException(
                    "the database failed during the replay "
                    f"({str(getattr(exc, 'orig', exc)).splitlines()[0]}); what was "
                    "stored is recorded, run the replay again to continue."
                ) from exc
        traced = _trace_new_parties(cfg, engine, result.new_parties)
    finally:
        engine.dispose()
    click.echo(
        f"Replayed {result.stored} records from {result.files} spool files"
        + (
            f"; {result.runs_completed} crawl runs completed"
            if result.runs_completed
            else ""
        )
        + (f"; {result.unreadable} unreadable lines kept" if result.unreadable else "")
        + "."
    )
    for line in traced:
        click.echo(line)
    if result.unreadable:
        raise SystemExit(1)


def _trace_new_parties(cfg, engine, new_parties: list[dict]) -> list[str]:
    """Skip trace the defendants a replay stored, as the crawl would have, and those
    whose trace the outage cut off during the crawl.

    Off unless ``SKIPTRACE_ENABLED``; returns the lines to print (counts only).
    """
    from ctforeclosure.skiptrace.client import AuthError
    from ctforeclosure.skiptrace.service import (
        BudgetExceeded,
        SkipTraceService,
        new_defendants,
    )
    from ctforeclosure.store.spool import load_untraced, untraced_files

    files = untraced_files(cfg.spool_dir)
    cut_off = [i for path in files for i in load_untraced(path)]
    party_ids = sorted(set(new_defendants(new_parties)) | set(cut_off))
    if not cfg.skiptrace_enabled or not party_ids:
        return []
    later = "; trace them with `ctforeclosure skiptrace --pending`."
    service = SkipTraceService.from_config(engine)
    if not service.configured:
        return [
            f"Skip tracing is on but BATCHDATA_BASE_URL or BATCHDATA_API_KEY is "
            f"not set: {len(party_ids)} new defendants not traced{later}"
        ]
    try:
        run = service.trace_parties(party_ids, triggered_by="cli:spool-replay")
    except (AuthError, BudgetExceeded) as exc:
        return [f"Skip trace of {len(party_ids)} new defendants not done: {exc}{later}"]
    for path in files:
        path.unlink(missing_ok=True)
    if run is None:
        return [f"Skip trace: none of the {len(party_ids)} new defendants to send."]
    lines = ["Skip trace of the replayed parties:", *(f"  {x}" for x in run.lines())]
    return lines + ([f"  The rest wait{later}"] if run.stopped else [])
