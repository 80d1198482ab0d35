"""Migration 0021 adds subscriptions, their delivery outbox (one row per
subscription, change and channel), the bell's notifications and the matcher's
state; all go with their saved search; down again keeps the saved searches, on
SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa

from ctforeclosure import db, migrate
from tests.test_migrate_0008 import _downgrade
from tests.test_migrate_0013 import _seed_token
from tests.test_migrate_0017 import NOW, _save
from tests.test_migrate_0019 import CASE, CHANGE

SUBSCRIBE = sa.text(
    "INSERT INTO subscriptions (user_id, saved_search_id, events, email_mode,"
    " digest_hour, created_at, updated_at)"
    " SELECT owner_id, id, :events, :mode, :hour, :now, :now FROM saved_searches"
)
OUTBOX = sa.text(
    "INSERT INTO notification_outbox (subscription_id, change_id, channel,"
    " delivery_id, next_attempt_at, created_at)"
    " SELECT s.id, c.id, :channel, :delivery, :now, :now"
    " FROM subscriptions s, case_changes c"
)
BELL = sa.text(
    "INSERT INTO notifications (user_id, subscription_id, change_id, created_at)"
    " SELECT s.user_id, s.id, c.id, :now FROM subscriptions s, case_changes c"
)


def _subscribe(conn, mode="immediate", hour=None):
    values = {"events": '["new_case"]', "mode": mode, "hour": hour, "now": NOW}
    conn.execute(SUBSCRIBE, values)


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def _seed(engine) -> None:
    _seed_token(engine)  # a user
    with engine.begin() as conn:
        _save(conn)
        conn.execute(CASE, {"now": NOW})
        conn.execute(CHANGE, {"now": NOW})


def _refused(engine, statement, values) -> None:
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(statement, values)


def test_migration_0021_up_and_down(db_url):
    migrate.upgrade(db_url, "0020")
    engine = db.make_engine(db_url)
    try:
        _seed(engine)
        migrate.upgrade(db_url, "0021")
        engine.dispose()
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            _subscribe(conn, "digest")  # a digest needs its hour
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            _subscribe(conn, "weekly")
        with engine.begin() as conn:
            _subscribe(conn, "digest", 7)
            conn.execute(OUTBOX, {"channel": "email", "delivery": "d-1", "now": NOW})
            conn.execute(BELL, {"now": NOW})
        # once per (subscription, change, channel); a delivery id once
        _refused(engine, OUTBOX, {"channel": "email", "delivery": "d-2", "now": NOW})
        _refused(engine, OUTBOX, {"channel": "webhook", "delivery": "d-1", "now": NOW})
        _refused(engine, OUTBOX, {"channel": "sms", "delivery": "d-3", "now": NOW})
        _refused(engine, BELL, {"now": NOW})
        with engine.connect() as conn:
            status = conn.execute(
                sa.text("SELECT status, attempts FROM notification_outbox")
            ).one()
        assert tuple(status) == ("pending", 0)
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM saved_searches"))
        for table in ("subscriptions", "notification_outbox", "notifications"):
            assert _count(engine, table) == 0, table  # gone with their search
        with engine.begin() as conn:
            _save(conn)
        _downgrade(db_url, "0020")
        engine.dispose()
        tables = set(sa.inspect(engine).get_table_names())
        assert not tables & {"subscriptions", "notification_outbox", "notify_state"}
        assert _count(engine, "saved_searches") == 1
    finally:
        engine.dispose()
