"""Migration 0011 writes each stored case's search text and drops the parties'
copies, then goes back down, on SQLite and PostgreSQL, with no skip-trace result
lost on the way (a table rebuild on SQLite would delete them)."""

from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade
from tests.test_migrate_0009 import CASES, _seed

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _add_skiptrace_result(engine) -> None:
    with engine.begin() as conn:
        party_id = conn.execute(sa.text("SELECT min(id) FROM parties")).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO skiptrace_results (party_id, person_key, status, persons,"
                " sandbox, fetched_at) VALUES (:party, 'k', 'found', '[]', false, :now)"
            ),
            {"party": party_id, "now": NOW},
        )


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def _columns(engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table)}


def test_migration_0011_writes_search_texts_and_loses_no_rows_up_or_down(db_url):
    migrate.upgrade(db_url, "0010")
    engine = db.make_engine(db_url)
    try:
        _seed(engine)  # two cases, each with parties P-01 and D-01 named DOE, JANE
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE cases SET case_name = 'Example Bank v. Doe',"
                    " property_street = '12 Example Ave.'"
                    " WHERE docket_no = :docket"
                ),
                {"docket": CASES[0][0]},
            )
        _add_skiptrace_result(engine)

        migrate.upgrade(db_url, "0011")
        engine.dispose()  # SQLite: see the altered tables
        with engine.connect() as conn:
            texts = dict(
                conn.execute(sa.text("SELECT docket_no, search_text FROM cases")).all()
            )
        first, second = (docket for docket, _town, _filed in CASES)
        assert texts[first].split("\n") == [
            "EXAMPLE BANK V. DOE",
            "12 EXAMPLE AVE.",
            "",  # no street from the search grid
            "DOE, JANE",
            "DOE, JANE",
        ]
        assert texts[second].split("\n") == ["", "", "", "DOE, JANE", "DOE, JANE"]
        assert not _columns(engine, "parties") & {"case_file_date", "case_town"}
        assert _count(engine, "parties") == 4
        assert _count(engine, "skiptrace_results") == 1

        _downgrade(db_url, "0010")
        engine.dispose()
        assert "search_text" not in _columns(engine, "cases")
        with engine.connect() as conn:
            towns = conn.execute(sa.text("SELECT case_town FROM parties")).scalars()
            assert sorted(towns) == sorted(t for _d, t, _f in CASES for _p in "PD")
        assert _count(engine, "skiptrace_results") == 1
    finally:
        engine.dispose()
