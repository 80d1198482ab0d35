"""store.spool and `ctforeclosure spool`: items kept on disk, replayed once."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime

from click.testing import CliRunner

from ctforeclosure import config
from ctforeclosure.cli.app import main
from ctforeclosure.db import make_engine
from ctforeclosure.items import TownItem
from ctforeclosure.store.cases import upsert_cases
from ctforeclosure.store.spool import (
    Spool,
    case_from_dict,
    count_records,
    read_lines,
    replay,
    spool_files,
)
from tests.store.factory import make_case, snapshot

AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def _spool(items, towns_done=()):
    spool_dir = config.load().spool_dir
    spool = Spool.for_crawl(spool_dir, "cases-1-test")
    spool.write_batch(items, list(towns_done), at=AT)
    spool.close()
    return spool_dir, spool.path


def test_spool_record_round_trips_a_case():
    case = make_case()
    spool_dir, path = _spool([case])
    record = json.loads(read_lines(path)[0])
    assert case_from_dict(record["data"]) == case
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert count_records(spool_dir) == 1


def test_replay_stores_like_a_direct_upsert_and_empties_the_spool(migrated_db_url):
    items = [make_case(), make_case("HHDCV246000002S", detail=False)]
    spool_dir, _ = _spool(items, [{"town": "Hartford", "dockets": ["HHDCV246000001S"]}])
    engine = make_engine(migrated_db_url)
    try:
        result = replay(engine, spool_dir, batch_size=1)
        assert (result.stored, result.unreadable) == (3, 0)
        assert spool_files(spool_dir) == []
        replayed = snapshot(engine)
    finally:
        engine.dispose()

    # The same items stored directly, in a second database of the same kind.
    direct_url = migrated_db_url.replace("test.sqlite3", "direct.sqlite3")
    if direct_url == migrated_db_url:  # PostgreSQL: reuse after clearing
        engine = make_engine(migrated_db_url)
        with engine.begin() as conn:
            for table in ("case_changes", "court_dates", "docket_entries", "parties"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
            conn.exec_driver_sql("DELETE FROM cases")
    else:
        from ctforeclosure import migrate

        migrate.upgrade(direct_url)
        engine = make_engine(direct_url)
    try:
        from ctforeclosure.store.cases import mark_town_listing

        with engine.begin() as conn:
            upsert_cases(conn, [make_case()], now=AT)
            upsert_cases(conn, [make_case("HHDCV246000002S", detail=False)], now=AT)
            mark_town_listing(conn, "Hartford", ["HHDCV246000001S"], now=AT)
        assert snapshot(engine) == replayed
    finally:
        engine.dispose()


def test_replay_twice_changes_nothing_and_keeps_unreadable_lines(migrated_engine):
    spool_dir, path = _spool(
        [make_case(), TownItem(town="Hartford", county="Hartford")]
    )
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"type": "case", "data": {"docket_no": \n')  # torn last write
    first = replay(migrated_engine, spool_dir)
    assert (first.stored, first.unreadable) == (2, 1)
    assert len(read_lines(path)) == 1  # only the torn line is left
    before = snapshot(migrated_engine)
    _spool([make_case()])
    second = replay(migrated_engine, spool_dir)
    assert second.stored == 1
    assert snapshot(migrated_engine) == before


def test_replay_resumes_after_the_lines_already_stored(migrated_engine):
    spool_dir, path = _spool([make_case(f"HHDCV24600000{n}S") for n in range(1, 4)])
    path.with_name(path.name + ".done").write_text("2")
    result = replay(migrated_engine, spool_dir)
    assert result.stored == 1
    assert [row[0] for row in snapshot(migrated_engine)["cases"]] == ["HHDCV246000003S"]


def test_spool_cli_status_and_replay(migrated_db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    _spool([make_case()])
    runner = CliRunner()
    status = runner.invoke(main, ["spool", "status"])
    assert status.exit_code == 0, status.output
    assert "cases-1-test.jsonl: 1 records waiting" in status.output
    done = runner.invoke(main, ["spool", "replay"])
    assert done.exit_code == 0, done.output
    assert "Replayed 1 records from 1 spool files." in done.output
    assert "empty, nothing to replay" in runner.invoke(main, ["spool", "status"]).output


def test_spool_cli_replay_refuses_an_unmigrated_database(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    spool_dir, _ = _spool([make_case()])
    result = CliRunner().invoke(main, ["spool", "replay"])
    assert result.exit_code != 0
    assert "db upgrade" in result.output and "spool is untouched" in result.output
    assert count_records(spool_dir) == 1
