"""Store towns: one idempotent upsert keyed on the town's name, on both databases.

Called by the upsert pipeline (``ctforeclosure.pipelines.upsert``) with ``TownItem``
dicts inside its transaction. A re-run of the towns crawl changes nothing but
``last_seen``: ``first_seen`` is kept and ``updated_at`` moves only when the county,
planning region or source changed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ctforeclosure import towns as reference
from ctforeclosure.db import towns

__all__ = ["upsert_towns"]

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_TRACKED = ("county", "planning_region", "source")


def _row(item: dict, now: datetime) -> dict:
    town = " ".join(item["town"].split())
    return {
        "town": town,
        "county": item["county"],
        "normalized_name": reference.normalize_key(town),
        "planning_region": item.get("planning_region"),
        "source": item.get("source") or "statelib",
        "first_seen": now,
        "last_seen": now,
        "updated_at": now,
    }


def upsert_towns(
    conn: sa.Connection, rows: list[dict], now: datetime | None = None
) -> dict[str, int]:
    """Insert or update towns; return counts of inserted, updated and unchanged."""
    if not rows:
        return {"inserted": 0, "updated": 0, "unchanged": 0}
    now = now or datetime.now(UTC)
    values = list({r["town"]: r for r in (_row(i, now) for i in rows)}.values())
    existing = {
        row.town: tuple(getattr(row, c) for c in _TRACKED)
        for row in conn.execute(
            sa.select(towns.c.town, *(towns.c[c] for c in _TRACKED)).where(
                towns.c.town.in_([v["town"] for v in values])
            )
        )
    }
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    for value in values:
        before = existing.get(value["town"])
        if before is None:
            counts["inserted"] += 1
        elif before != tuple(value[c] for c in _TRACKED):
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1

    insert = _INSERTS[conn.dialect.name]
    stmt = insert(towns)
    changed = sa.or_(*(towns.c[c].is_distinct_from(stmt.excluded[c]) for c in _TRACKED))
    stmt = stmt.on_conflict_do_update(
        index_elements=[towns.c.town],
        set_={
            "county": stmt.excluded.county,
            "planning_region": stmt.excluded.planning_region,
            "source": stmt.excluded.source,
            "normalized_name": stmt.excluded.normalized_name,
            "last_seen": stmt.excluded.last_seen,
            "updated_at": sa.case(
                (changed, stmt.excluded.updated_at), else_=towns.c.updated_at
            ),
        },
    )
    conn.execute(stmt, values)
    return counts
