"""``ctforeclosure routine ...``, ``backup`` and ``restore``: what runs unattended.

Each routine is one command, run by a systemd timer or a cron line in ``deploy/``
(the README's table lists them). All are built the same way (:func:`routine`): on
failure one line on stderr, the failure alert on the configured channels, and a
non-zero exit status; a missing prerequisite has its own status, never a traceback:

====  ============================================================================
1     the routine failed (the database unavailable, a tool failed, the budget...)
3     no scrapyd node configured or answering
4     skip tracing is off (``SKIPTRACE_ENABLED`` unset, or no BatchData key): the
      hourly routine does nothing, on purpose, and sends no alert
5     no email channel for the report (``SMTP_HOST`` and ``ALERT_EMAIL_TO``)
6     a backup or restore refused (a damaged backup, a database that is not empty)
====  ============================================================================
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from ctforeclosure import config, db
from ctforeclosure.cli.group import unavailable_error, unavailable_message
from ctforeclosure.cli.progress import StepBar
from ctforeclosure.cli.scrapyd import record_posted
from ctforeclosure.ops import backup as backups
from ctforeclosure.ops.settings import OpsSettings
from ctforeclosure.services import alerts

__all__ = ["backup", "restore", "routine"]

EXIT_FAILED = 1
EXIT_NO_SCRAPYD = 3
EXIT_SKIPTRACE_OFF = 4
EXIT_NO_EMAIL = 5
EXIT_REFUSED = 6
ACTOR = "routine"


class RoutineError(Exception):
    """A routine that cannot run or did not finish: its exit status and reason."""

    def __init__(self, code: int, message: str, alert: bool = True):
        super().__init__(message)
        self.code, self.message, self.alert = code, message, alert


def _reason(exc: Exception) -> str:
    error = unavailable_error(exc)
    if error is not None:
        return unavailable_message(error)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def routine(name: str):
    """Run a command as routine ``name``: one line, an alert and a status on failure."""

    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except (click.ClickException, click.exceptions.Exit, SystemExit):
                raise
            except RoutineError as exc:
                code, message, alert = exc.code, exc.message, exc.alert
            except backups.BackupRefused as exc:
                code, message, alert = EXIT_REFUSED, str(exc), True
            except Exception as exc:
                code, message, alert = EXIT_FAILED, _reason(exc), True
            click.echo(f"routine {name} failed: {message}", err=True)
            if alert:
                alerts.routine_failed(routine=name, reason=message, code=code)
            raise SystemExit(code)

        return run

    return decorate


def _settings() -> tuple[config.Config, OpsSettings]:
    cfg = config.load()
    try:
        return cfg, OpsSettings.from_config(cfg)
    except ValueError as exc:
        raise RoutineError(EXIT_FAILED, str(exc)) from exc


@click.group(name="routine")
def routine_group() -> None:
    """Scheduled routines (systemd timers and cron lines in deploy/)."""


@click.command()
@routine("backup")
def backup() -> None:
    """Back up the database to CTF_BACKUP_DIR (checksum, retention)."""
    cfg, ops = _settings()
    with StepBar("backup") as progress:
        path = backups.backup(cfg.database_url, ops.backup_dir, progress=progress)
    deleted = backups.retain(ops.backup_dir, ops.keep_daily, ops.keep_weekly)
    click.echo(f"backup {path} written; {len(deleted)} old backups deleted")


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that holds tables.")
@routine("restore")
def restore(file: Path, force: bool) -> None:
    """Restore a backup into DATABASE_URL (empty unless --force), then purge."""
    cfg, ops = _settings()
    with StepBar("restore") as progress:
        backups.restore(file, cfg.database_url, force=force, progress=progress)
    counts = _purge(cfg, ops)
    click.echo(
        f"restored {file.name} into {cfg.database_url_redacted}; purged {counts}"
    )


def _purge(cfg: config.Config, ops: OpsSettings) -> dict[str, int]:
    from ctforeclosure.ops.prune import purge_all
    from ctforeclosure.skiptrace.settings import SkipTraceSettings

    days = SkipTraceSettings.from_config(cfg).retention_days
    engine = db.make_engine(cfg.database_url)
    try:
        return purge_all(engine, ops, days, ACTOR)
    finally:
        engine.dispose()


@routine_group.command()
@routine("purge")
def purge() -> None:
    """Delete skip-trace results and records past their retention settings."""
    cfg, ops = _settings()
    counts = _purge(cfg, ops)
    click.echo("purged: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@routine_group.command()
@routine("report")
def report() -> None:
    """Email the weekly report (counts only) to ALERT_EMAIL_TO."""
    from ctforeclosure.ops.report import weekly_report

    cfg, _ops = _settings()
    channels = alerts.AlertChannels.from_config(cfg)
    if not channels.email_enabled:
        raise RoutineError(EXIT_NO_EMAIL, "no email: set SMTP_HOST and ALERT_EMAIL_TO")
    engine = db.make_engine(cfg.database_url)
    try:
        subject, text = weekly_report(cfg, engine)
    finally:
        engine.dispose()
    alerts.send_report(subject, text, channels)
    click.echo(f"report sent to {len(channels.email_to)} recipient(s)")


routine_group.add_command(backup)


def _no_nodes(exc: Exception) -> RoutineError:
    return RoutineError(EXIT_NO_SCRAPYD, str(exc))


@routine_group.command()
@click.option("--stagger", default=5.0, show_default=True, help="Seconds between jobs.")
@routine("crawl")
def crawl(stagger: float) -> None:
    """Schedule the daily cases crawl of every town on the scrapyd nodes."""
    from ctforeclosure.jobs import scheduling

    try:
        jobs = scheduling.schedule(all_towns=True, stagger=stagger)
    except scheduling.NoNodes as exc:
        raise _no_nodes(exc) from exc
    record_posted(jobs, spider="cases")
    click.echo(f"{len(jobs)} crawl jobs scheduled")


@routine_group.command()
@routine("sales")
def sales() -> None:
    """Schedule the daily sales crawl: one job, every town on the pending-sales
    index (most towns have no sale)."""
    from ctforeclosure.jobs import scheduling

    try:
        jobs = scheduling.schedule(all_towns=True, spider="sales")
    except scheduling.NoNodes as exc:
        raise _no_nodes(exc) from exc
    record_posted(jobs, spider="sales")
    click.echo(f"{len(jobs)} sales crawl job scheduled")


@routine_group.command()
@routine("towns")
def towns() -> None:
    """Schedule the weekly refresh of the towns list on a scrapyd node."""
    from ctforeclosure.jobs.scheduling import PROJECT
    from ctforeclosure.jobs.scrapyd_api import ScrapydClient, ScrapydError

    cfg = config.load()
    if not cfg.scrapyd_nodes:
        raise RoutineError(EXIT_NO_SCRAPYD, "no scrapyd node: set SCRAPYD_NODES")
    errors = []
    for url in cfg.scrapyd_nodes:
        try:
            job = ScrapydClient.from_config(url, cfg).schedule(PROJECT, "towns")
        except ScrapydError as exc:
            errors.append(str(exc))
            continue
        click.echo(f"{job}\t{url}\ttowns")
        return
    raise RoutineError(
        EXIT_NO_SCRAPYD, "no scrapyd node answered: " + "; ".join(errors)
    )


@routine_group.command()
@click.option("--limit", default=200, show_default=True, help="Records per run.")
@routine("skiptrace")
def skiptrace(limit: int) -> None:
    """Skip trace pending parties, inside the budget caps (SKIPTRACE_ENABLED=1)."""
    from ctforeclosure.skiptrace.service import SkipTraceService

    cfg = config.load()
    if not cfg.skiptrace_enabled:
        # A key kept for deliberate manual traces must not start spending alone.
        raise RoutineError(
            EXIT_SKIPTRACE_OFF,
            "skip tracing is off (SKIPTRACE_ENABLED is not 1)",
            alert=False,
        )
    engine = db.make_engine(cfg.database_url)
    try:
        service = SkipTraceService.from_config(engine)
        if not service.configured:
            raise RoutineError(
                EXIT_SKIPTRACE_OFF, "no BATCHDATA_BASE_URL / BATCHDATA_API_KEY"
            )
        quote = service.quote(pending=True, limit=limit)
        if not quote.records:
            click.echo("nothing pending")
            return
        result = service.run(quote, triggered_by=f"{ACTOR}:skiptrace")
    finally:
        engine.dispose()
    for line in result.lines():
        click.echo(line)
    if result.stopped:
        raise RoutineError(EXIT_FAILED, "the skip-trace run stopped early")
