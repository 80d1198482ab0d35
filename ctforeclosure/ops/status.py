"""Is the system healthy? One answer for the status page, the API and the metrics.

Each part reads its own source and answers on its own: a scrapyd node that is down
is reported as unreachable, never an error of the whole status, and the figures the
metrics read (:func:`figures`) do not ask scrapyd at all. Counts and dates only: no
names, no contacts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ctforeclosure import config, db, migrate
from ctforeclosure.jobs.scrapyd_api import ScrapydClient, ScrapydError
from ctforeclosure.ops.settings import OpsSettings
from ctforeclosure.services.alerts import AlertChannels
from ctforeclosure.skiptrace import store as skiptrace_store
from ctforeclosure.skiptrace.settings import SkipTraceSettings
from ctforeclosure.store import spool
from ctforeclosure.store.site_budget import SiteBudget

__all__ = ["figures", "last_crawls", "snapshot", "unfinished_crawls"]

#: Seconds to wait for each scrapyd node: the page must answer while one hangs.
NODE_TIMEOUT = 3.0


def _iso(value: datetime | None) -> str | None:
    return db.aware(value).isoformat(timespec="seconds") if value else None


def last_crawls(conn: sa.Connection, now: datetime, stale_hours: int) -> list[dict]:
    """Return each town's last successful cases crawl, stale ones marked."""
    runs = db.crawl_runs.c
    rows = conn.execute(
        sa.select(runs.finished_at, runs.town_counts, runs.incomplete_towns)
        .where(runs.spider == "cases", runs.status == "finished")
        .order_by(runs.finished_at.desc())
        .limit(2000)
    ).all()
    last: dict[str, datetime] = {}
    for row in rows:
        incomplete = set(row.incomplete_towns or ())  # a partial crawl's misses
        for town in row.town_counts or {}:
            if town not in incomplete:
                last.setdefault(town, db.aware(row.finished_at))
    towns = conn.execute(sa.select(db.towns.c.town).order_by(db.towns.c.town))
    stale_before = now - timedelta(hours=stale_hours)
    return [
        {
            "town": town,
            "last_success": _iso(last.get(town)),
            "age_hours": None
            if town not in last
            else round((now - last[town]).total_seconds() / 3600, 1),
            "stale": town not in last or last[town] < stale_before,
        }
        for (town,) in towns
    ]


#: How far back the status shows partial and lost crawls.
UNFINISHED_DAYS = 7


def unfinished_crawls(conn: sa.Connection, now: datetime) -> list[dict]:
    """Return the partial and lost crawls of the last days, newest first, with the
    towns each did not finish (their retries, if any, are on the crawls page)."""
    runs = db.crawl_runs.c
    rows = conn.execute(
        sa.select(
            runs.id,
            runs.spider,
            runs.outcome,
            runs.incomplete_towns,
            runs.job_id,
            runs.node,
            runs.started_at,
            runs.heartbeat_at,
        )
        .where(
            runs.outcome.in_(("partial", "lost")),
            runs.started_at >= now - timedelta(days=UNFINISHED_DAYS),
        )
        .order_by(runs.id.desc())
        .limit(100)
    ).all()
    return [
        {
            "id": r.id,
            "spider": r.spider,
            "outcome": r.outcome,
            "incomplete_towns": list(r.incomplete_towns or ()),
            "job_id": r.job_id,
            "node": r.node,
            "started_at": _iso(r.started_at),
            "heartbeat_at": _iso(r.heartbeat_at),
        }
        for r in rows
    ]


def _skiptrace(conn: sa.Connection, cfg: config.Config, now: datetime) -> dict:
    """Return this month's skip-trace spend against the monthly budget."""
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    spent = skiptrace_store.spent_since(conn, month, cfg.batchdata_is_sandbox)
    try:
        budget = SkipTraceSettings.from_config(cfg).monthly_budget
    except ValueError as exc:
        return {"spent": float(spent), "budget": None, "left": None, "error": str(exc)}
    return {
        "spent": float(spent),
        "budget": float(budget),
        "left": float(max(budget - spent, 0)),
        "enabled": cfg.skiptrace_enabled,
    }


def _court_last_hour(conn: sa.Connection, now: datetime) -> int:
    """Return the court requests of crawls that ended in the last hour."""
    runs = db.crawl_runs.c
    return conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(runs.requests), 0)).where(
            runs.finished_at >= now - timedelta(hours=1)
        )
    ).scalar_one()


def figures(cfg: config.Config, engine: sa.Engine, now: datetime | None = None):
    """Return what the database and the spool say (no scrapyd): the metrics' gauges."""
    now = now or datetime.now(UTC)
    ops = OpsSettings.from_config(cfg)
    cases = db.cases.c
    with engine.connect() as conn:
        by_status = dict(
            conn.execute(
                sa.select(cases.is_active, sa.func.count()).group_by(cases.is_active)
            ).all()
        )
        changes = conn.execute(
            sa.select(sa.func.count()).where(
                db.case_changes.c.seen_at >= now - timedelta(days=1)
            )
        ).scalar_one()
        return {
            "cases": {
                "active": by_status.get(True, 0),
                "inactive": by_status.get(False, 0),
            },
            "changes_last_day": changes,
            "towns": last_crawls(conn, now, ops.stale_hours),
            "unfinished_crawls": unfinished_crawls(conn, now),
            "spool_backlog": spool.count_records(cfg.spool_dir),
            "skiptrace": _skiptrace(conn, cfg, now),
            "court_requests_last_hour": _court_last_hour(conn, now),
        }


def _nodes(cfg: config.Config) -> list[dict]:
    """Return each scrapyd node: reachable, running and pending jobs."""
    answers = []
    for url in cfg.scrapyd_nodes:
        client = ScrapydClient.from_config(url, cfg)
        client.timeout = NODE_TIMEOUT
        try:
            status = client.daemon_status()
        except ScrapydError as exc:
            answers.append({"node": url, "reachable": False, "error": str(exc)})
            continue
        answers.append(
            {
                "node": url,
                "reachable": True,
                "running": int(status.get("running", 0)),
                "pending": int(status.get("pending", 0)),
            }
        )
    return answers


def _database(engine: sa.Engine) -> dict:
    head = migrate.head_revision()
    current = migrate.current_revision(engine)
    return {"revision": current, "head": head, "current": current == head}


def snapshot(cfg: config.Config, engine: sa.Engine) -> dict:
    """Return the whole status: database, nodes, kill switch, budgets, towns."""
    channels = AlertChannels.from_config(cfg)
    pause = SiteBudget(engine).pause_state() or {"paused": False}
    return {
        "database": {"url": cfg.database_url_redacted, **_database(engine)},
        "scrapyd_nodes": _nodes(cfg),
        "kill_switch": {
            "paused": bool(pause.get("paused")),
            "paused_at": _iso(pause.get("paused_at")),
            "reason": pause.get("pause_reason"),
        },
        "crawl_window": cfg.crawl_window or None,
        "alert_channels": {
            "webhook": bool(channels.webhook_url),
            "email": channels.email_enabled,
        },
        **figures(cfg, engine),
    }
