"""Background jobs for long work started from a page (skip traces): a thread each,
with progress the browser polls, so no web request waits on a vendor API.

The thread runs in the worker process that started it; its progress is written to
the ``web_jobs`` table (migration 0006), so any worker of ``ctforeclosure web`` can
show it and a restart keeps the last state seen. A job whose process died stays
"running" with its last progress and ``updated_at``; its outcome is never lost, as
the skip-trace service writes the ledger, the results and the audit log batch by batch.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure.db import web_jobs

#: Progress is written at most this often (seconds); the end is always written.
PROGRESS_EVERY = 0.5


@dataclass
class Job:
    """One background job as the progress page shows it."""

    id: str
    kind: str
    owner: str
    started_at: datetime
    done: int = 0
    total: int = 0
    state: str = "running"  # running | finished | failed
    lines: list[str] = field(default_factory=list)
    error: str | None = None
    _registry: JobRegistry | None = field(default=None, repr=False, compare=False)
    _written_at: float = field(default=0.0, repr=False, compare=False)

    def progress(self, done: int, total: int) -> None:
        """Record how far the work is (written to the database now and then)."""
        self.done, self.total = done, total
        if self._registry is not None and time.monotonic() - self._written_at >= (
            PROGRESS_EVERY
        ):
            self._registry.save(self)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "started_at": self.started_at.isoformat(),
            "lines": list(self.lines),
            "error": self.error,
        }


def _row(job: Job) -> dict:
    return {
        "kind": job.kind,
        "owner": job.owner,
        "started_at": job.started_at,
        "updated_at": datetime.now(UTC),
        "state": job.state,
        "done": job.done,
        "total": job.total,
        "lines": list(job.lines),
        "error": job.error,
    }


def _job(row) -> Job:
    started = row.started_at
    if started.tzinfo is None:  # SQLite gives naive datetimes back
        started = started.replace(tzinfo=UTC)
    return Job(
        row.id,
        row.kind,
        row.owner,
        started,
        row.done,
        row.total,
        row.state,
        list(row.lines or []),
        row.error,
    )


class JobRegistry:
    """Start jobs in daemon threads; look them up by id from any process."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def start(self, kind: str, owner: str, work) -> Job:
        """Run ``work(job)`` in a thread; it returns result lines or raises."""
        job = Job(uuid.uuid4().hex[:12], kind, owner, datetime.now(UTC))
        job._registry = self
        with self.engine.begin() as conn:
            conn.execute(web_jobs.insert().values(id=job.id, **_row(job)))

        def run() -> None:
            try:
                job.lines = list(work(job))
                job.state = "finished"
            except Exception as exc:  # shown to the user; the service audited it
                job.error = str(exc)
                job.state = "failed"
            self.save(job)

        threading.Thread(target=run, name=f"job-{job.id}", daemon=True).start()
        return job

    def save(self, job: Job) -> None:
        job._written_at = time.monotonic()
        with self.engine.begin() as conn:
            conn.execute(
                web_jobs.update().where(web_jobs.c.id == job.id).values(**_row(job))
            )

    def get(self, job_id: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(web_jobs).where(web_jobs.c.id == job_id)
            ).first()
        return _job(row) if row else None

    def recent(self, limit: int = 20) -> list[Job]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(web_jobs).order_by(web_jobs.c.started_at.desc()).limit(limit)
            ).all()
        return [_job(r) for r in rows]
