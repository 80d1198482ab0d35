"""Migration 0008 (docket entries keyed on docket and entry key) keeps every entry,
both ways, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from ctforeclosure import db, migrate

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ENTRIES = [("|2020-01-01|SUMMONS", 1), ("101.00|2020-01-09|APPEARANCE", 2)]
ENTRIES += [("101.00|2020-01-09|APPEARANCE#2", 3)]


def _seed(engine) -> None:
    """Store one case and its entries with plain SQL (the tables of revision 0007)."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO cases (docket_no, search_town, listed, flags, has_phones,"
                " first_seen, last_seen, last_changed) VALUES ('HHDCV206000001S',"
                " 'Hartford', true, '[]', false, :now, :now, :now)"
            ),
            {"now": NOW},
        )
        for key, seq in ENTRIES:
            conn.execute(
                sa.text(
                    "INSERT INTO docket_entries (docket_no, entry_key, seq,"
                    " description, first_seen, last_seen) VALUES"
                    " ('HHDCV206000001S', :key, :seq, 'X', :now, :now)"
                ),
                {"key": key, "seq": seq, "now": NOW},
            )


def _entries(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT docket_no, entry_key, seq FROM docket_entries ORDER BY seq")
        ).all()


def _downgrade(url: str, revision: str) -> None:
    engine = db.make_engine(url)
    try:
        cfg = migrate._alembic_config(url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)
    finally:
        engine.dispose()


def test_migration_0008_up_and_down_keeps_the_entries(db_url):
    migrate.upgrade(db_url, "0007")
    engine = db.make_engine(db_url)
    try:
        _seed(engine)
        expected = [("HHDCV206000001S", key, seq) for key, seq in ENTRIES]

        migrate.upgrade(db_url, "0008")
        assert _entries(engine) == expected
        table = sa.inspect(engine)
        assert table.get_pk_constraint("docket_entries")["constrained_columns"] == [
            "docket_no",
            "entry_key",
        ]
        assert "id" not in {c["name"] for c in table.get_columns("docket_entries")}
        # The primary key refuses a second entry under the same key.
        with engine.connect() as conn:
            insert = sa.insert(db.docket_entries).values(
                docket_no="HHDCV206000001S",
                entry_key=ENTRIES[0][0],
                seq=9,
                description="X",
                first_seen=NOW,
                last_seen=NOW,
            )
            try:
                conn.execute(insert)
            except sa.exc.IntegrityError:
                pass
            else:
                raise AssertionError("a duplicate entry key was accepted")

        _downgrade(db_url, "0007")
        engine.dispose()  # SQLite: see the rebuilt table
        assert _entries(engine) == expected
        with engine.connect() as conn:
            ids = conn.execute(sa.text("SELECT id FROM docket_entries")).scalars().all()
        assert len(set(ids)) == len(ENTRIES) and None not in ids
        table = sa.inspect(engine)
        assert table.get_pk_constraint("docket_entries")["constrained_columns"] == [
            "id"
        ]
        uniques = [
            u["column_names"] for u in table.get_unique_constraints("docket_entries")
        ]
        assert ["docket_no", "entry_key"] in uniques

        migrate.upgrade(db_url)
        engine.dispose()
        assert _entries(engine) == expected
    finally:
        engine.dispose()
