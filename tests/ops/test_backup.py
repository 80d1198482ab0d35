"""Backups and restores on both databases: a crawled replica comes back whole.

What an operator would notice: every table's rows and content are the same after a
restore into a fresh database; a damaged backup, or a database that is not empty,
is refused; a backup that fails half-way leaves nothing that looks complete; old
backups go by the retention settings.
"""

from __future__ import annotations

import hashlib
import stat
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.ops import backup as backups
from tests.conftest import throwaway_database
from tests.pipelines.test_replica_crawl import crawl_cases


@pytest.fixture
def site(replica_factory):
    return replica_factory(cases=40, towns=("Bethel", "Bethany"), seed=5)


def _fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Return each table's row count and a hash of its rows, in key order."""
    engine = db.make_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    found = {}
    try:
        with engine.connect() as conn:
            for name, table in sorted(meta.tables.items()):
                rows = conn.execute(sa.select(table).order_by(*table.columns)).all()
                digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode())
                found[name] = (len(rows), digest.hexdigest())
    finally:
        engine.dispose()
    return found


@pytest.fixture
def fresh_url(db_url, tmp_path, request):
    """An empty database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    with throwaway_database(request.getfixturevalue("postgres_admin_url")) as url:
        yield url


async def test_backup_then_restore_into_a_fresh_database_equals_the_original(
    site, migrated_db_url, fresh_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    await crawl_cases(site)
    folder = tmp_path / "backups"
    path = backups.backup(migrated_db_url, folder)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
    original = _fingerprint(migrated_db_url)
    assert original["cases"][0] == 40 and original["parties"][0] > 0
    backups.restore(path, fresh_url)
    assert _fingerprint(fresh_url) == original
    with pytest.raises(backups.BackupRefused, match="not empty"):
        backups.restore(path, fresh_url)
    backups.restore(path, fresh_url, force=True)
    assert _fingerprint(fresh_url) == original


def test_a_damaged_backup_is_refused(migrated_db_url, fresh_url, tmp_path):
    path = backups.backup(migrated_db_url, tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(backups.BackupRefused, match="checksum does not match"):
        backups.restore(path, fresh_url)
    assert _fingerprint(fresh_url) == {}


def test_a_backup_failing_half_way_leaves_no_complete_looking_file(tmp_path):
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # nothing listens there
    with pytest.raises(backups.BackupRefused, match="pg_dump failed"):
        backups.backup(url, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_retention_keeps_the_newest_per_day_and_per_week(tmp_path):
    start = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    for hours in range(0, 24 * 30, 12):  # two backups a day for 30 days
        stamp = start + timedelta(hours=hours)
        path = tmp_path / f"ctforeclosure-{stamp:%Y%m%dT%H%M%SZ}.sqlite3"
        path.write_bytes(b"x")
        (tmp_path / f"{path.name}.sha256").write_text("x")
    backups.retain(tmp_path, keep_daily=7, keep_weekly=4)
    kept = backups.backups(tmp_path)
    days = {p.name[14:22] for p in kept}
    assert len(kept) == len(days)  # one per day
    assert {f"202611{d}" for d in range(24, 31)} <= days  # the last 7 days
    assert 7 <= len(kept) <= 11  # plus the newest of up to 4 earlier weeks
    assert all((tmp_path / f"{p.name}.sha256").exists() for p in kept)
