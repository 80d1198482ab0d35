"""Migration 0014 adds the sales table and the cases' sale markers without touching a
stored case, then goes back down without losing one, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _seed_case(engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO cases (docket_no, search_town, listed, flags, first_seen,"
                " last_seen, last_changed) VALUES ('FBTCV256151688S', 'Fairfield',"
                " true, '[]', :now, :now, :now)"
            ),
            {"now": NOW},
        )


def test_migration_0014_adds_sales_and_goes_back_down(db_url):
    migrate.upgrade(db_url, "0013")
    engine = db.make_engine(db_url)
    try:
        _seed_case(engine)
        migrate.upgrade(db_url, "0014")
        engine.dispose()
        with engine.begin() as conn:
            row = conn.execute(
                sa.text("SELECT from_sale, notice_sale_date FROM cases")
            ).one()
            assert (bool(row.from_sale), row.notice_sale_date) == (False, None)
            conn.execute(
                sa.text(
                    "INSERT INTO sales (posting_id, docket_no, town, status, flags,"
                    " listed, first_seen, last_seen, last_changed) VALUES (61252,"
                    " 'FBTCV256151688S', 'Fairfield', 'scheduled', '[]', true,"
                    " :now, :now, :now)"
                ),
                {"now": NOW},
            )
        _downgrade(db_url, "0013")
        engine.dispose()
        inspector = sa.inspect(engine)
        assert "sales" not in inspector.get_table_names()
        columns = {c["name"] for c in inspector.get_columns("cases")}
        assert not {"from_sale", "notice_sale_date"} & columns
        with engine.connect() as conn:
            dockets = conn.execute(sa.text("SELECT docket_no FROM cases")).scalars()
            assert list(dockets) == ["FBTCV256151688S"]
    finally:
        engine.dispose()
