"""Retention: delete skip-trace results that are past their time, or on request.

Skip-trace results are personal data bought for a purpose; they are kept for
``SKIPTRACE_RETENTION_DAYS`` (each result's ``expires_at``) and then removed, and
everything bought about one person is removed when they ask. Court records (cases,
parties) are public records and stay. Every purge is in the audit trail, without the
person's name (a hash of it identifies the request).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.services import audit
from ctforeclosure.skiptrace import store
from ctforeclosure.skiptrace.normalize import split_name

__all__ = ["purge_expired", "purge_parties", "purge_person"]


def _delete_results(conn: sa.Connection, where) -> int:
    """Delete the results (with phones and emails), then recompute the cases'
    ``has_phones`` flag (another party's result may still have phones)."""
    r = db.skiptrace_results
    query = sa.select(r.c.id, db.parties.c.docket_no).join(
        db.parties, db.parties.c.id == r.c.party_id
    )
    found = conn.execute(query.where(where)).all()
    ids = [row.id for row in found]
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        # explicit child deletes: SQLite only cascades with foreign keys on
        for table in (db.skiptrace_phones, db.skiptrace_emails):
            conn.execute(table.delete().where(table.c.result_id.in_(chunk)))
        conn.execute(r.delete().where(r.c.id.in_(chunk)))
    store.refresh_has_phones(conn, {row.docket_no for row in found})
    return len(ids)


def purge_expired(
    engine: sa.Engine,
    actor: str,
    retention_days: int | None = None,
    now: datetime | None = None,
) -> int:
    """Delete results past their ``expires_at`` or older than ``retention_days``."""
    now = now or datetime.now(UTC)
    r = db.skiptrace_results.c
    where = r.expires_at < now
    if retention_days is not None:
        where = sa.or_(where, r.fetched_at < now - timedelta(days=retention_days))
    with engine.begin() as conn:
        count = _delete_results(conn, where)
        audit.record(
            conn,
            actor,
            "skiptrace.purge_expired",
            None,
            {"results_deleted": count, "retention_days": retention_days},
        )
    return count


def purge_parties(engine: sa.Engine, party_ids: Sequence[int], actor: str) -> int:
    """Delete every skip-trace result of these parties; return how many."""
    r = db.skiptrace_results.c
    with engine.begin() as conn:
        count = _delete_results(conn, r.party_id.in_(list(party_ids)))
        audit.record(
            conn,
            actor,
            "skiptrace.purge_party",
            ",".join(f"party:{p}" for p in party_ids)[:200],
            {"results_deleted": count},
        )
    return count


def purge_person(engine: sa.Engine, name: str, actor: str) -> tuple[int, int]:
    """Delete every result for parties with this person's name.

    Returns (parties matched, results deleted).
    """
    wanted = split_name(name)
    if wanted is None:
        raise ValueError("give the person's first and last name")
    p = db.parties.c
    with engine.begin() as conn:
        party_ids = [
            row.id
            for row in conn.execute(sa.select(p.id, p.name))
            if split_name(row.name) == wanted
        ]
        count = _delete_results(conn, db.skiptrace_results.c.party_id.in_(party_ids))
        digest = hashlib.sha256(f"{wanted.first} {wanted.last}".encode()).hexdigest()
        audit.record(
            conn,
            actor,
            "skiptrace.purge_person",
            f"person:{digest[:16]}",
            {"parties": len(party_ids), "results_deleted": count},
        )
    return len(party_ids), count
