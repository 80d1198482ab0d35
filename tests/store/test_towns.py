"""upsert_towns on SQLite and PostgreSQL: 169 rows, idempotent, honest timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ctforeclosure import towns as reference
from ctforeclosure.db import towns
from ctforeclosure.store.towns import upsert_towns

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)


def _items(source: str = "statelib") -> list[dict]:
    return [
        {
            "town": t.name,
            "county": t.county,
            "planning_region": t.planning_region,
            "source": source,
        }
        for t in reference.all_towns()
    ]


def _stored(engine) -> dict[str, sa.Row]:
    with engine.connect() as conn:
        return {r.town: r for r in conn.execute(sa.select(towns))}


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; compare instants."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_upsert_towns_stores_169_towns_in_8_counties(migrated_engine):
    with migrated_engine.begin() as conn:
        counts = upsert_towns(conn, _items(), now=T0)
    assert counts == {"inserted": 169, "updated": 0, "unchanged": 0}
    rows = _stored(migrated_engine)
    assert len(rows) == 169
    assert len({r.county for r in rows.values()}) == 8
    east = rows["East Hartford"]
    assert east.county == "Hartford"
    assert east.normalized_name == "east hartford"
    assert east.planning_region == "Capitol Planning Region"
    assert east.source == "statelib"
    assert _utc(east.first_seen) == _utc(east.last_seen) == _utc(east.updated_at) == T0


def test_upsert_towns_rerun_changes_nothing_but_last_seen(migrated_engine):
    with migrated_engine.begin() as conn:
        upsert_towns(conn, _items(), now=T0)
    before = _stored(migrated_engine)
    with migrated_engine.begin() as conn:
        counts = upsert_towns(conn, _items(), now=T1)
    assert counts == {"inserted": 0, "updated": 0, "unchanged": 169}
    after = _stored(migrated_engine)
    assert len(after) == 169
    for name, row in after.items():
        old = before[name]
        assert (row.id, row.county, row.planning_region, row.source) == (
            old.id,
            old.county,
            old.planning_region,
            old.source,
        )
        assert _utc(row.first_seen) == T0
        assert _utc(row.updated_at) == T0
        assert _utc(row.last_seen) == T1


def test_upsert_towns_moves_updated_at_only_for_changed_towns(migrated_engine):
    with migrated_engine.begin() as conn:
        upsert_towns(conn, _items(), now=T0)
    items = _items()
    for item in items:
        if item["town"] == "Bristol":
            item["source"] = "bundled"
        if item["town"] == "Kent":
            item["planning_region"] = None
    with migrated_engine.begin() as conn:
        counts = upsert_towns(conn, items, now=T1)
    assert counts == {"inserted": 0, "updated": 2, "unchanged": 167}
    rows = _stored(migrated_engine)
    assert rows["Bristol"].source == "bundled"
    assert _utc(rows["Bristol"].updated_at) == T1
    assert rows["Kent"].planning_region is None
    assert _utc(rows["Kent"].updated_at) == T1
    assert _utc(rows["Avon"].updated_at) == T0
    assert _utc(rows["Bristol"].first_seen) == T0


def test_upsert_towns_nothing_to_do(migrated_engine):
    with migrated_engine.begin() as conn:
        assert upsert_towns(conn, []) == {"inserted": 0, "updated": 0, "unchanged": 0}
    assert _stored(migrated_engine) == {}
