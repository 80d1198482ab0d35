"""The audit trail: who did what, when (logins, exports, skip traces, crawl starts,
user and role changes, purges). Never store phones or emails in ``details``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ctforeclosure.db import audit_log


def record(
    conn: sa.Connection,
    actor: str,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit record inside the caller's transaction."""
    conn.execute(
        audit_log.insert().values(
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            target=target,
            details=details,
        )
    )
