"""store.feed on SQLite and PostgreSQL: every change once, in order, page by page;
on PostgreSQL also the change of a transaction that commits after a later one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ctforeclosure import db
from ctforeclosure.store import feed
from ctforeclosure.store.feed import Cursor
from tests.skiptrace.conftest import add_case

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
HARTFORD, BETHEL = "HHDCV266000001S", "DBDCV266000002S"


def _add_change(conn, docket_no: str, kind: str = "law_day") -> int:
    """Insert one change; return its id."""
    values = {"docket_no": docket_no, "kind": kind, "field": kind, "seen_at": NOW}
    return conn.execute(db.case_changes.insert().values(**values)).inserted_primary_key[
        0
    ]


@pytest.fixture
def engine(migrated_engine):
    with migrated_engine.begin() as conn:
        add_case(conn, HARTFORD, county="Hartford")
        add_case(conn, BETHEL, town="Bethel", county="Fairfield")
    return migrated_engine


def _txid(conn) -> int:
    """Return the id of the connection's transaction (it has written already)."""
    return conn.exec_driver_sql("SELECT pg_current_xact_id()::text::bigint").scalar()


def _pending(cursor: Cursor) -> set[int]:
    """Return the transactions the cursor waits for (others of the cluster too)."""
    return {txid for txid, _ in cursor.pending}


def _read(engine, cursor: Cursor, limit: int = 100, **filters) -> feed.Page:
    with engine.connect() as conn:
        return feed.read_changes(conn, cursor, limit, feed.conditions(**filters))


def _read_all(engine, cursor: Cursor, limit: int, **filters) -> tuple[list, Cursor]:
    """Page through the feed from ``cursor``: the ids delivered and the last cursor."""
    ids: list[int] = []
    while True:
        page = _read(engine, cursor, limit, **filters)
        ids += [row.id for row in page.rows]
        cursor = page.next
        if not page.more:
            return ids, cursor


def test_paging_delivers_every_change_once_in_order(engine):
    with engine.begin() as conn:
        written = [_add_change(conn, HARTFORD) for _ in range(7)]
    ids, cursor = _read_all(engine, Cursor(), limit=3)
    assert ids == written
    assert _read(engine, cursor).rows == []
    with engine.begin() as conn:
        later = _add_change(conn, BETHEL, "judgment")
    page = _read(engine, cursor)
    assert [(r.id, r.kind, r.town, r.county) for r in page.rows] == [
        (later, "judgment", "Bethel", "Fairfield")
    ]
    assert page.more is False


def test_filters_narrow_the_rows_not_the_cursor(engine):
    with engine.begin() as conn:
        first = _add_change(conn, HARTFORD, "judgment")
        second = _add_change(conn, BETHEL, "judgment")
        third = _add_change(conn, HARTFORD, "phones_found")
        fourth = _add_change(conn, HARTFORD, "law_day")
    kinds = ["judgment", "phones_found"]
    assert _read_all(engine, Cursor(), 1, kinds=kinds)[0] == [first, second, third]
    assert _read_all(engine, Cursor(), 1, town="Hartford")[0] == [first, third, fourth]
    ids, cursor = _read_all(engine, Cursor(), 5, county="Fairfield")
    assert ids == [second]
    assert _read_all(engine, cursor, 5)[0] == [third, fourth]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not-base64!",
        "bm90IGpzb24",  # "not json"
        Cursor(1, 2).encode()[:-3],
        "eyJ0IjotMSwiaSI6MCwicCI6W119",  # {"t":-1,"i":0,"p":[]}
        "eyJ0IjowLCJpIjoiMSIsInAiOltdfQ",  # {"t":0,"i":"1","p":[]}
        "eyJ0IjowLCJpIjowLCJwIjpbWzFdXX0",  # {"t":0,"i":0,"p":[[1]]}
        "WzEsMl0",  # [1,2]
    ],
)
def test_a_cursor_not_from_the_feed_is_refused(text):
    with pytest.raises(feed.BadCursor):
        Cursor.decode(text)


def test_a_cursor_survives_its_text():
    cursor = Cursor(812, 40, ((790, 0), (801, 12)))
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.fixture
def pg_engine(postgres_url):
    from ctforeclosure import migrate

    migrate.upgrade(postgres_url)
    engine = db.make_engine(postgres_url)
    with engine.begin() as conn:
        add_case(conn, HARTFORD, county="Hartford")
    yield engine
    engine.dispose()


def test_a_change_committed_after_a_later_one_is_delivered_once(pg_engine):
    """Transaction A inserts a change and stays open; B inserts and commits; a read
    returns B; A commits; the next read returns A; nothing is repeated."""
    ids, cursor = _read_all(pg_engine, Cursor(), 10)
    assert ids == []
    with pg_engine.connect() as a:
        a.begin()
        change_a = _add_change(a, HARTFORD, "judgment")
        txid_a = _txid(a)
        with pg_engine.begin() as b:
            change_b = _add_change(b, HARTFORD, "phones_found")
        assert change_a < change_b

        page = _read(pg_engine, cursor)
        assert [row.id for row in page.rows] == [change_b]
        cursor = page.next
        assert txid_a in _pending(cursor)
        assert _read(pg_engine, cursor).rows == []  # A is still open
        a.commit()

    page = _read(pg_engine, cursor)
    assert [row.id for row in page.rows] == [change_a]
    cursor = page.next
    assert txid_a not in _pending(cursor)  # A ended and was delivered
    assert _read(pg_engine, cursor).rows == []


def test_a_long_open_transaction_is_delivered_a_page_at_a_time(pg_engine):
    """A crawl batch's many changes, committed after later ones, arrive in pages
    without a repeat; a rolled-back transaction leaves the cursor."""
    with pg_engine.connect() as batch, pg_engine.connect() as aborted:
        batch.begin()
        batched = [_add_change(batch, HARTFORD) for _ in range(5)]
        aborted.begin()
        _add_change(aborted, HARTFORD)
        waited_for = {_txid(batch), _txid(aborted)}
        with pg_engine.begin() as other:
            later = _add_change(other, HARTFORD)
        ids, cursor = _read_all(pg_engine, Cursor(), 2)
        assert ids == [later]
        assert waited_for <= _pending(cursor)
        batch.commit()
        aborted.rollback()
    ids, cursor = _read_all(pg_engine, cursor, 2)
    assert ids == batched
    assert not waited_for & _pending(cursor)
    with pg_engine.begin() as conn:
        last = _add_change(conn, HARTFORD)
    assert _read_all(pg_engine, cursor, 2)[0] == [last]
