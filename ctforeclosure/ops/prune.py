"""The monthly purge: personal data and bulky records past their retention.

Skip-trace results past ``SKIPTRACE_RETENTION_DAYS`` (``ctforeclosure.skiptrace.
purge``), finished web jobs, sign-in failure counters, API token uses (30 days),
and the bulky ``stats`` of crawl records: the records stay (cases' changes refer to
them), their Scrapy stats are cleared after ``CTF_CRAWL_STATS_RETENTION_DAYS``. A
restore ends with this purge too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.ops.settings import OpsSettings
from ctforeclosure.services import tokens
from ctforeclosure.skiptrace import purge as skiptrace_purge

__all__ = ["purge_all"]


def purge_all(
    engine: sa.Engine,
    ops: OpsSettings,
    skiptrace_days: int,
    actor: str,
    now: datetime | None = None,
) -> dict[str, int]:
    """Delete what is past its retention; return how many rows of each kind."""
    now = now or datetime.now(UTC)
    counts = {
        "skiptrace_results": skiptrace_purge.purge_expired(
            engine, actor, retention_days=skiptrace_days, now=now
        )
    }
    jobs, failures, runs = db.web_jobs.c, db.login_failures.c, db.crawl_runs.c
    with engine.begin() as conn:
        counts["web_jobs"] = conn.execute(
            db.web_jobs.delete().where(
                jobs.state != "running",
                jobs.updated_at < now - timedelta(days=ops.web_jobs_days),
            )
        ).rowcount
        counts["login_failures"] = conn.execute(
            db.login_failures.delete().where(
                failures.last_at < now - timedelta(days=ops.login_failures_days)
            )
        ).rowcount
        counts["api_token_uses"] = tokens.prune_uses(conn) or 0
        counts["crawl_stats"] = conn.execute(
            db.crawl_runs.update()
            .where(
                runs.started_at < now - timedelta(days=ops.crawl_stats_days),
                runs.stats.is_not(None),
            )
            .values(stats=sa.null())
        ).rowcount
    return counts
