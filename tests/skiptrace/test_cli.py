"""``ctforeclosure skiptrace`` and ``ctforeclosure purge`` as an operator uses them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from click.testing import CliRunner

from ctforeclosure import db
from ctforeclosure.cli.app import main

from .conftest import seed_town


def _invoke(*args):
    return CliRunner().invoke(main, list(args))


def _count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(table).where(*where)
        ).scalar_one()


def test_skiptrace_without_yes_prints_the_quote_and_spends_nothing(
    migrated_db_url, migrated_engine, batchdata, configured, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    configured(batchdata)
    seeded = seed_town(migrated_engine, cases=3)
    result = _invoke("skiptrace", "--town", "Hartford")
    assert result.exit_code == 0, result.output
    assert f"To send: {len(seeded['eligible'])} records" in result.output
    assert "3 x not a defendant (plaintiff's side or other)" in result.output
    assert "3 x condominium or homeowners association" in result.output
    assert "3 x for notice only" in result.output
    assert "SANDBOX" in result.output
    assert "Nothing spent. Run again with --yes" in result.output
    assert batchdata.calls() == []
    assert _count(migrated_engine, db.skiptrace_results) == 0


def test_skiptrace_with_yes_spends_and_reports(
    migrated_db_url, migrated_engine, batchdata, configured, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    configured(batchdata)
    seeded = seed_town(migrated_engine, cases=3)
    result = _invoke("skiptrace", "--town", "Hartford", "--yes")
    assert result.exit_code == 0, result.output
    assert f"Sent {len(seeded['eligible'])} records" in result.output
    assert _count(migrated_engine, db.skiptrace_results) == len(seeded["eligible"])
    with migrated_engine.connect() as conn:
        actions = conn.execute(sa.select(db.audit_log.c.action)).scalars().all()
    assert "skiptrace.run" in actions
    for phone in _phones(migrated_engine):  # phones never printed
        assert phone[-10:] not in result.output


def _phones(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(sa.select(db.skiptrace_phones.c.number)).scalars().all()


def test_skiptrace_limit_and_docket_selection(
    migrated_db_url, migrated_engine, batchdata, configured, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    configured(batchdata)
    seed_town(migrated_engine, cases=4)
    result = _invoke("skiptrace", "--docket", "HHD-CV26-6000002-S", "--limit", "1")
    assert result.exit_code == 0, result.output
    assert "To send: 1 records" in result.output
    assert "over the limit of 1 records" in result.output


def test_skiptrace_needs_exactly_one_selection(migrated_db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    result = _invoke("skiptrace", "--town", "Hartford", "--pending")
    assert result.exit_code == 2
    assert "exactly one of" in result.output


def test_skiptrace_with_a_bad_key_fails_clearly(
    migrated_db_url, migrated_engine, batchdata, configured, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    configured(batchdata, key="not-the-key")
    seed_town(migrated_engine, cases=1)
    result = _invoke("skiptrace", "--pending", "--yes")
    assert result.exit_code == 1
    assert "BATCHDATA_API_KEY" in result.output
    assert batchdata.billed() == []


def test_skiptrace_unconfigured_refuses_to_spend(
    migrated_db_url, migrated_engine, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    seed_town(migrated_engine, cases=1)
    result = _invoke("skiptrace", "--pending", "--yes")
    assert result.exit_code == 1
    assert "skip tracing is off" in result.output


def test_purge_removes_expired_results_and_keeps_fresh_ones(
    migrated_db_url, migrated_engine, batchdata, configured, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    configured(batchdata)
    seed_town(migrated_engine, cases=3)
    assert _invoke("skiptrace", "--pending", "--yes").exit_code == 0
    total = _count(migrated_engine, db.skiptrace_results)
    r = db.skiptrace_results
    with migrated_engine.begin() as conn:
        first = conn.execute(sa.select(sa.func.min(r.c.id))).scalar_one()
        conn.execute(
            r.update()
            .where(r.c.id == first)
            .values(fetched_at=datetime.now(UTC) - timedelta(days=400))
        )
    result = _invoke("purge")
    assert result.exit_code == 0, result.output
    assert "Deleted 1 skip-trace results past retention (365 days)" in result.output
    assert _count(migrated_engine, r) == total - 1
    assert (
        _count(
            migrated_engine,
            db.skiptrace_phones,
            db.skiptrace_phones.c.result_id == first,
        )
        == 0
    )
    assert (
        _count(
            migrated_engine,
            db.audit_log,
            db.audit_log.c.action == "skiptrace.purge_expired",
        )
        == 1
    )


def test_purge_person_removes_everything_bought_about_them(
    migrated_db_url, migrated_engine, batchdata, configured, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    configured(batchdata)
    seed_town(migrated_engine, cases=4)
    assert _invoke("skiptrace", "--pending", "--yes").exit_code == 0
    with migrated_engine.connect() as conn:
        ids = (
            conn.execute(
                sa.select(db.parties.c.id).where(db.parties.c.name == "BLAKE TESTWORTH")
            )
            .scalars()
            .all()
        )
    assert ids
    before = _count(migrated_engine, db.skiptrace_results)
    result = _invoke("purge", "--person", "Blake Testworth")
    assert result.exit_code == 0, result.output
    assert (
        _count(
            migrated_engine,
            db.skiptrace_results,
            db.skiptrace_results.c.party_id.in_(ids),
        )
        == 0
    )
    assert _count(migrated_engine, db.skiptrace_results) == before - len(ids)
    with migrated_engine.connect() as conn:
        audit = conn.execute(
            sa.select(db.audit_log).where(
                db.audit_log.c.action == "skiptrace.purge_person"
            )
        ).one()
    assert "TESTWORTH" not in str(audit.target) + str(audit.details)
    # the court record itself stays
    assert _count(migrated_engine, db.parties, db.parties.c.id.in_(ids)) == len(ids)


def test_reconcile_lists_unknown_outcomes_and_retries_them(
    migrated_db_url, migrated_engine, batchdata_factory, configured, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    server = batchdata_factory(faults=frozenset({"malformed_json"}))
    configured(server)
    seeded = seed_town(migrated_engine, cases=1)
    assert _invoke("skiptrace", "--pending", "--yes").exit_code == 1  # stopped
    listing = _invoke("reconcile")
    assert listing.exit_code == 0, listing.output
    assert f"{len(seeded['eligible'])} skip-trace records with an unknown outcome" in (
        listing.output
    )
    assert "HHDCV266000001S D-01" in listing.output
    with migrated_engine.connect() as conn:
        ids = conn.execute(sa.select(db.skiptrace_results.c.id)).scalars().all()
    args = [a for i in ids for a in ("--retry", str(i))]
    settled = _invoke("reconcile", *args)
    assert f"retry: {len(ids)} of {len(ids)} records settled" in settled.output
    assert "0 skip-trace records" in _invoke("reconcile").output
    quote = _invoke("skiptrace", "--pending")
    assert f"To send: {len(seeded['eligible'])} records" in quote.output
