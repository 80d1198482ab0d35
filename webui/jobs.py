"""Background jobs for long work started from a page (skip traces): a thread each,
with progress the browser polls, so no web request waits on a vendor API.

Kept in memory in the web process (``ctforeclosure web`` runs one): a restart loses
the progress display, never the outcome, which the skip-trace service has already
written to the ledger, the results tables and the audit log batch by batch.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime


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


class JobRegistry:
    """Start jobs in daemon threads and look them up by id."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, owner: str, work) -> Job:
        """Run ``work(job)`` in a thread; it returns result lines or raises."""
        job = Job(uuid.uuid4().hex[:12], kind, owner, datetime.now(UTC))
        with self._lock:
            self._jobs[job.id] = job

        def run() -> None:
            try:
                job.lines = list(work(job))
                job.state = "finished"
            except Exception as exc:  # shown to the user; the service audited it
                job.error = str(exc)
                job.state = "failed"

        threading.Thread(target=run, name=f"job-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def recent(self, limit: int = 20) -> list[Job]:
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j.started_at, reverse=True)
        return jobs[:limit]
