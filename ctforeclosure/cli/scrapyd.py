"""``ctforeclosure schedule|jobs|cancel|pause|resume``: crawls on scrapyd nodes.

Thin wrappers over :mod:`ctforeclosure.jobs.scheduling` (scrapyd runs the crawls) and
the kill switch in :mod:`ctforeclosure.store.site_budget`.
"""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from ctforeclosure import config, db, towns
from ctforeclosure.cli.group import unavailable_error
from ctforeclosure.jobs import auto_retry, crawl_jobs, lost_jobs, scheduling
from ctforeclosure.jobs.scrapyd_api import ScrapydError
from ctforeclosure.store import site_budget


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _pairs(values, option: str) -> dict[str, str]:
    pairs = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint=option)
        pairs[name.strip()] = value
    return pairs


@click.command()
@click.option("--town", "town_names", multiple=True, help="A town (repeatable).")
@click.option("--county", help="Every town of a county.")
@click.option(
    "--all",
    "all_towns",
    is_flag=True,
    help="All 169 towns (--spider sales: one job, every town on its index).",
)
@click.option("--nodes", help="Comma-separated scrapyd URLs (default SCRAPYD_NODES).")
@click.option(
    "--batch-size", default=1, show_default=True, help="Towns per scrapyd job."
)
@click.option(
    "--stagger", default=0.0, show_default=True, help="Seconds between job posts."
)
@click.option("--spider", default="cases", show_default=True)
@click.option(
    "--arg",
    "spider_args",
    multiple=True,
    metavar="NAME=VALUE",
    help="A spider argument, e.g. status=all (never a secret: scrapyd shows these).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="A Scrapy setting for the jobs (never a secret: scrapyd shows these).",
)
def schedule(
    town_names,
    county,
    all_towns,
    nodes,
    batch_size,
    stagger,
    spider,
    spider_args,
    overrides,
):
    """Post crawl jobs, spread over the scrapyd nodes by their load; print job ids."""
    if sum([bool(town_names), bool(county), all_towns]) != 1:
        raise click.UsageError("give exactly one of --town, --county, --all")
    settings = _pairs(overrides, "--set")
    extra_args = _pairs(spider_args, "--arg")
    if {"town", "towns", "county"} & set(extra_args):
        raise click.BadParameter("use --town/--county/--all", param_hint="--arg")
    try:
        jobs = scheduling.schedule(
            towns=list(town_names) or None,
            county=county,
            all_towns=all_towns,
            nodes=_split(nodes),
            batch_size=batch_size,
            stagger=stagger,
            spider=spider,
            settings=settings,
            extra_args=extra_args,
        )
    except (towns.UnknownTown, towns.UnknownCounty, ValueError) as exc:
        raise click.BadParameter(str(exc)) from exc
    except (ScrapydError, scheduling.NoNodes) as exc:
        raise click.ClickException(str(exc)) from exc
    record_posted(jobs, spider=spider, args=extra_args)
    for job in jobs:
        click.echo(f"{job.job_id}\t{job.node}\t{', '.join(job.towns) or 'all towns'}")


def record_posted(jobs, *, spider: str, args: dict | None = None) -> None:
    """Record jobs just posted in ``crawl_jobs`` (with their towns and node), as the
    web UI does, so a job lost before any sync is still known. The jobs are posted
    either way: a database that cannot record them is said on stderr. Without a
    database here (no ``DATABASE_URL``, no embedded file) nothing is recorded: the
    sync of ``jobs --retry-failed`` records them when it finds them on a node."""
    cfg = config.load()
    if cfg.database_url_env is None and not cfg.default_database_path.exists():
        return
    engine = db.make_engine(cfg.database_url)
    try:
        with engine.begin() as conn:
            crawl_jobs.record(conn, jobs, spider=spider, args=args)
    except SQLAlchemyError as exc:
        click.echo(f"jobs not recorded: {_first_line(exc)}", err=True)
    finally:
        engine.dispose()


@click.command()
@click.option("--nodes", help="Comma-separated scrapyd URLs (default SCRAPYD_NODES).")
@click.option(
    "--alert-crashed",
    is_flag=True,
    help="Alert (once each) on jobs that crashed before Scrapy could alert.",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Record the jobs' states in the database, mark lost the crawls whose "
    "heartbeat is older than CTF_CRAWL_LOST_MINUTES and whose node does not run "
    "them, then post again the crawls that failed for a transient reason (up to 3 "
    "times, 5, 25 and 125 minutes after each failure; lost ones at once; partial "
    "and lost ones only their incomplete towns; never while paused). Prints what "
    "it found lost and what it retried.",
)
def jobs(nodes, alert_crashed, retry_failed):
    """List jobs on every node: state, times, finish reason, items, failure reason."""
    if retry_failed and not alert_crashed:
        _retry_failed(_split(nodes))  # reads only the logs of jobs not yet settled
        return
    listing = _list_jobs(_split(nodes))
    if alert_crashed:
        for job in scheduling.alert_crashed(listing):
            click.echo(f"alerted: {job.job_id} crashed on {job.node}", err=True)
    if retry_failed:
        _retry_failed(_split(nodes), listing)
        return
    click.echo(
        "state\tjob\tnode\tstart\tend\tfinish_reason\titems\terrors\treason"
        "\toutcome\tincomplete_towns"
    )
    for job in listing:
        fields = [
            job.state,
            job.job_id,
            job.node,
            job.start_time or "-",
            job.end_time or "-",
            job.finish_reason or "-",
            "-" if job.items_scraped is None else str(job.items_scraped),
            "-" if job.errors is None else str(job.errors),
            job.reason or "",
            job.outcome or "-",
            ", ".join(job.incomplete_towns),
        ]
        click.echo("\t".join(fields))


def _list_jobs(nodes: list[str] | None, settled=()) -> list[scheduling.Job]:
    try:
        return scheduling.list_jobs(nodes, settled)
    except scheduling.NoNodes as exc:
        raise click.ClickException(str(exc)) from exc


def _retry_failed(nodes: list[str] | None, listing=None) -> None:
    """Sync the jobs into ``crawl_jobs``, then retry the transient failures due."""
    cfg = config.load()
    engine = db.make_engine(cfg.database_url)
    try:
        with engine.begin() as conn:
            if listing is None:
                listing = _list_jobs(nodes, crawl_jobs.settled(conn))
            crawl_jobs.sync(conn, listing)
        paused = bool(
            (site_budget.SiteBudget(engine).pause_state() or {}).get("paused")
        )
        lost = lost_jobs.detect(engine, nodes=nodes)
        try:
            outcome = auto_retry.retry_due(engine, paused=paused)
        except (ScrapydError, scheduling.NoNodes) as exc:
            raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    for run in lost:
        towns_left = ", ".join(run.incomplete_towns) or "none"
        click.echo(f"lost {run.job_id} (crawl run #{run.run_id}): towns {towns_left}")
    for row, decision, posted in outcome:
        if posted:
            click.echo(f"retried {row.job_id} as {', '.join(posted)} ({decision.why})")
        elif decision.due_at is not None:
            click.echo(f"waiting {row.job_id}: {decision.why}")


def _record_cancelled(job_id: str) -> None:
    """Record the job cancelled in ``crawl_jobs``, as the web UI does, so the next
    sync does not read it as failed and retry it (a job no sync has recorded yet
    is not there to mark). The cancel itself is done: a database that cannot
    record it is said on stderr, not an error."""
    engine = db.make_engine(config.load().database_url)
    try:
        with engine.begin() as conn:
            crawl_jobs.record_cancelled(conn, job_id)
    except SQLAlchemyError as exc:
        click.echo(f"not recorded as cancelled: {_first_line(exc)}", err=True)
    finally:
        engine.dispose()


@click.command()
@click.argument("job_id")
@click.option("--node", help="The scrapyd URL that has the job (default: all).")
def cancel(job_id, node):
    """Cancel a pending or running job."""
    try:
        done = scheduling.cancel(job_id, node)
    except (ScrapydError, scheduling.NoNodes) as exc:
        raise click.ClickException(str(exc)) from exc
    if not done:
        raise click.ClickException(f"no pending or running job {job_id}")
    _record_cancelled(job_id)
    for url, previous in done:
        click.echo(f"cancelled {job_id} on {url} (was {previous})")


@click.command()
@click.option("--reason", help="Why (shown to other operators).")
def pause(reason):
    """Kill switch: running crawls stop sending requests to the court within seconds."""
    try:
        site_budget.pause(by="cli", reason=reason)
    except (LookupError, SQLAlchemyError) as exc:
        if unavailable_error(exc):
            raise  # the ctforeclosure group reports an unreachable database
        raise click.ClickException(f"cannot pause: {_first_line(exc)}") from exc
    click.echo("paused: crawls hold their requests to the court until `resume`")


@click.command()
def resume():
    """Turn the kill switch off; held crawls continue."""
    try:
        site_budget.resume()
    except SQLAlchemyError as exc:
        if unavailable_error(exc):
            raise  # the ctforeclosure group reports an unreachable database
        raise click.ClickException(f"cannot resume: {_first_line(exc)}") from exc
    click.echo("resumed")
