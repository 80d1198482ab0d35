"""Rows of ``crawl_runs``: one per crawl, opened as "running", completed at close.

Written by the crawl-run extension (``ctforeclosure.extensions.crawl_run``). When the
database is down at the end of a crawl, the closing values are saved next to the
spool (``pending_run_path``) and ``ctforeclosure spool replay`` applies them.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ctforeclosure.db import cases, crawl_runs

__all__ = [
    "beat",
    "finish_run",
    "mark_lost",
    "pending_run_path",
    "start_run",
    "stored_case_counts",
]

#: Columns the extension may set when a crawl closes.
FINISH_COLUMNS = (
    "finished_at",
    "status",
    "finish_reason",
    "items_scraped",
    "items_stored",
    "items_dropped",
    "items_spooled",
    "requests",
    "errors",
    "robots_overridden",
    "town_counts",
    "checks",
    "notes",
    "stats",
    "outcome",
    "incomplete_towns",
    "completed_towns",
)


def start_run(
    conn: sa.Connection,
    *,
    spider: str,
    args: dict[str, Any],
    started_at: datetime,
    job_id: str | None = None,
    node: str | None = None,
) -> int:
    """Insert a "running" row and return its id."""
    return conn.execute(
        crawl_runs.insert()
        .values(
            spider=spider,
            args=args,
            job_id=job_id,
            node=node,
            started_at=started_at,
            heartbeat_at=started_at,
            status="running",
            items_scraped=0,
            items_stored=0,
            items_dropped=0,
            items_spooled=0,
            requests=0,
            errors={},
            robots_overridden=False,
            town_counts={},
            checks=[],
            notes=[],
        )
        .returning(crawl_runs.c.id)
    ).scalar_one()


def finish_run(conn: sa.Connection, run_id: int, values: dict[str, Any]) -> None:
    """Write the closing values of a run."""
    unknown = set(values) - set(FINISH_COLUMNS)
    if unknown:
        raise ValueError(f"not closing columns: {sorted(unknown)}")
    conn.execute(crawl_runs.update().where(crawl_runs.c.id == run_id).values(**values))


def beat(
    conn: sa.Connection, run_id: int, at: datetime, completed_towns: list[str]
) -> None:
    """Write a running crawl's heartbeat and the towns it has finished so far."""
    conn.execute(
        crawl_runs.update()
        .where(crawl_runs.c.id == run_id, crawl_runs.c.status == "running")
        .values(heartbeat_at=at, completed_towns=completed_towns)
    )


def mark_lost(conn: sa.Connection, run_id: int, incomplete_towns: list[str]) -> bool:
    """Record a running crawl lost with its incomplete towns; False if it closed."""
    result = conn.execute(
        crawl_runs.update()
        .where(crawl_runs.c.id == run_id, crawl_runs.c.status == "running")
        .values(status="lost", outcome="lost", incomplete_towns=incomplete_towns)
    )
    return result.rowcount == 1


def stored_case_counts(
    conn: sa.Connection, towns: list[str], before: datetime
) -> dict[str, int]:
    """Return town -> number of stored cases first seen before ``before``."""
    if not towns:
        return {}
    rows = conn.execute(
        sa.select(cases.c.search_town, sa.func.count())
        .where(cases.c.search_town.in_(towns), cases.c.first_seen < before)
        .group_by(cases.c.search_town)
    ).all()
    return {town: count for town, count in rows}


def pending_run_path(spool_dir: Path, run_id: int) -> Path:
    """Where a run's closing values wait when the database is down at close."""
    return Path(spool_dir) / f"crawl-run-{run_id}.json"


def save_pending(spool_dir: Path, run_id: int, values: dict[str, Any]) -> Path:
    """Save a run's closing values for replay (owner-only, fsync'd)."""
    path = pending_run_path(spool_dir, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"run_id": run_id, "values": values}, fh, default=_default)
        fh.flush()
        os.fsync(fh.fileno())
    return path


def load_pending(path: Path) -> tuple[int, dict[str, Any]]:
    """Return (run id, closing values) saved by :func:`save_pending`."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    values = data["values"]
    if isinstance(values.get("finished_at"), str):
        values["finished_at"] = datetime.fromisoformat(values["finished_at"])
    return int(data["run_id"]), values


def _default(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)
