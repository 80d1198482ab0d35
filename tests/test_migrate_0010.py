"""Migration 0010: on PostgreSQL the list indexes include the status and judgment
type (so counts are index-only scans), and go back without them; SQLite keeps its
plain indexes."""

import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade

LIST_INDEXES = (
    "ix_cases_search_town_newest",
    "ix_cases_county_newest",
    "ix_cases_newest",
)


def _definitions(engine) -> dict[str, str]:
    if engine.dialect.name != "postgresql":
        return {
            i["name"]: str(i["column_names"])
            for i in sa.inspect(engine).get_indexes("cases")
        }
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases'"
            )
        ).all()
    return dict(rows)


def test_migration_0010_puts_status_and_judgment_type_in_the_list_indexes(db_url):
    migrate.upgrade(db_url, "0009")
    engine = db.make_engine(db_url)
    try:
        before = _definitions(engine)
        migrate.upgrade(db_url, "0010")
        after = _definitions(engine)
        assert set(after) == set(before)  # the same indexes, by name
        for name in LIST_INDEXES:
            if engine.dialect.name == "postgresql":
                assert "INCLUDE (is_active, judgment_type)" in after[name]
                assert "INCLUDE" not in before[name]
                assert after[name].split(" INCLUDE")[0] == before[name]
            else:
                assert after[name] == before[name]

        _downgrade(db_url, "0009")
        assert _definitions(engine) == before
    finally:
        engine.dispose()
