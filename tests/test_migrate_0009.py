"""Migration 0009 fills the parties' copies of their case's filing date and town from
the cases already stored, and goes back down, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime

import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CASES = [
    ("HHDCV206000001S", "Hartford", date(2020, 6, 1)),
    ("NNHCV216000002S", "New Haven", None),
]


def _seed(engine) -> None:
    """Store two cases, two parties each, with plain SQL (revision 0008's tables)."""
    with engine.begin() as conn:
        for docket, town, filed in CASES:
            conn.execute(
                sa.text(
                    "INSERT INTO cases (docket_no, search_town, file_date, listed,"
                    " flags, has_phones, first_seen, last_seen, last_changed) VALUES"
                    " (:docket, :town, :filed, true, '[]', false, :now, :now, :now)"
                ),
                {"docket": docket, "town": town, "filed": filed, "now": NOW},
            )
            for party_no in ("P-01", "D-01"):
                conn.execute(
                    sa.text(
                        "INSERT INTO parties (docket_no, party_no, role, name,"
                        " non_appearing, appearances, first_seen, last_seen) VALUES"
                        " (:docket, :party_no, 'D', 'DOE, JANE', false, '[]', :now,"
                        " :now)"
                    ),
                    {"docket": docket, "party_no": party_no, "now": NOW},
                )


def test_migration_0009_copies_each_case_filing_date_and_town_onto_its_parties(
    db_url,
):
    migrate.upgrade(db_url, "0008")
    engine = db.make_engine(db_url)
    try:
        _seed(engine)
        migrate.upgrade(db_url, "0009")
        with engine.connect() as conn:
            p = sa.table(  # revision 0009's columns (migration 0011 drops the copies)
                "parties",
                sa.column("docket_no"),
                sa.column("party_no"),
                sa.column("case_file_date", sa.Date),
                sa.column("case_town"),
            ).c
            copies = conn.execute(
                sa.select(
                    p.docket_no, p.party_no, p.case_file_date, p.case_town
                ).order_by(p.docket_no, p.party_no)
            ).all()
        assert [tuple(row) for row in copies] == [
            (docket, party_no, filed, town)
            for docket, town, filed in CASES
            for party_no in ("D-01", "P-01")
        ]
        indexes = {i["name"] for i in sa.inspect(engine).get_indexes("parties")}
        assert "ix_parties_case_town" in indexes

        _downgrade(db_url, "0008")
        engine.dispose()  # SQLite: see the rebuilt table
        columns = {c["name"] for c in sa.inspect(engine).get_columns("parties")}
        assert not columns & {"case_file_date", "case_town"}
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM parties")).scalar() == 4
    finally:
        engine.dispose()
