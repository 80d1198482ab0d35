"""Bulk writes: many rows in few round trips, one entry point for both databases.

The store writes batches of hundreds of cases with thousands of child rows, so every
write here is set-based. On SQLite an executemany of one prepared statement is
already in-process and fast. On PostgreSQL psycopg's executemany sends one statement
per row, so rows travel by COPY instead: straight into the table when nothing can
conflict, else into a temporary staging table followed by one ``INSERT ... SELECT
... ON CONFLICT`` or ``UPDATE ... FROM``. Same semantics on both: later values win
on a key conflict, ``keep`` columns keep their stored value.

Also here: :func:`chunks`, the slices of ``IN (...)`` lists every store module uses,
and :func:`assign_ids`, which numbers rows before they are inserted so that nothing
has to be read back.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

__all__ = [
    "CHUNK",
    "assign_ids",
    "chunks",
    "copy_rows",
    "insert_tuples",
    "update_many",
    "upsert",
]

#: Values per ``IN (...)`` list: well under every driver's bound-parameter limit.
CHUNK = 500

#: Names for the per-call staging tables (unique within a transaction).
_staging = itertools.count()


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """Yield consecutive slices of at most ``size`` values."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def one_per_key(items: Sequence[Any], key: str, fetched: str) -> list[Any]:
    """Keep one item per ``key`` (a docket, a posting): the last, unless only an
    earlier one read its page (its ``fetched`` attribute is true)."""
    chosen: dict[Any, Any] = {}
    for item in items:
        before = chosen.get(getattr(item, key))
        only_before_read = before is not None and getattr(before, fetched)
        if only_before_read and not getattr(item, fetched):
            continue
        chosen[getattr(item, key)] = item
    return list(chosen.values())


def upsert(
    conn,
    table,
    rows,
    keys: Sequence[str] = (),
    keep: Sequence[str] = (),
    upper: Sequence[str] = (),
):
    """Insert rows or update them on a key conflict (all columns but keys/keep).

    Without keys, a plain insert. Every row has the same columns as the first.
    ``upper`` names text columns the database upper-cases on the way in, with its
    own ``upper()``: the one the web UI's search applies to its pattern.
    """
    if not rows:
        return
    names = list(rows[0])
    updates = [n for n in names if n not in keys and n not in keep]
    if conn.dialect.name == "postgresql":
        _copy_upsert(conn, table, rows, names, keys, updates, upper)
        return
    stmt = sqlite.insert(table)
    if upper:  # a bound value under another name: a column's own name is reserved
        stmt = stmt.values({n: sa.func.upper(sa.bindparam(f"p_{n}")) for n in upper})
        rows = [
            {k: v for k, v in row.items() if k not in upper}
            | {f"p_{n}": row[n] for n in upper}
            for row in rows
        ]
    if keys:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={n: stmt.excluded[n] for n in updates}
        )
    conn.execute(stmt, rows)


def _copy_upsert(conn, table, rows, names, keys, updates, upper) -> None:
    """PostgreSQL: COPY the rows into a temporary table, then one INSERT ... SELECT."""
    if not keys and not upper:  # nothing to merge or compute: straight into the table
        copy_rows(conn, table, table.name, rows, names)
        return
    tmp = _stage(conn, table, rows, names)
    cols = ", ".join(f'"{n}"' for n in names)
    values = ", ".join(f'upper("{n}")' if n in upper else f'"{n}"' for n in names)
    sql = f'INSERT INTO "{table.name}" ({cols}) SELECT {values} FROM "{tmp}"'  # noqa: S608
    if keys:
        target = ", ".join(f'"{k}"' for k in keys)
        sets = ", ".join(f'"{n}" = EXCLUDED."{n}"' for n in updates)
        action = f"DO UPDATE SET {sets}" if updates else "DO NOTHING"
        sql += f" ON CONFLICT ({target}) {action}"
    conn.exec_driver_sql(sql)
    conn.exec_driver_sql(f'DROP TABLE "{tmp}"')


def update_many(conn, table, rows, keys: Sequence[str]) -> None:
    """Update existing rows, one per dict: match on ``keys``, set the other columns.

    SQLite: an executemany of ``UPDATE``; PostgreSQL: COPY into a temporary table
    and one ``UPDATE ... FROM`` (a per-row executemany there cost most of a refresh).
    """
    if not rows:
        return
    names = list(rows[0])
    sets = [n for n in names if n not in keys]
    if conn.dialect.name == "postgresql":
        tmp = _stage(conn, table, rows, names)
        assign = ", ".join(f'"{n}" = s."{n}"' for n in sets)
        match = " AND ".join(f't."{k}" = s."{k}"' for k in keys)
        conn.exec_driver_sql(
            f'UPDATE "{table.name}" AS t SET {assign} '  # noqa: S608
            f'FROM "{tmp}" AS s WHERE {match}'
        )
        conn.exec_driver_sql(f'DROP TABLE "{tmp}"')
        return
    # bindparam names may not be column names in an UPDATE's SET: prefix them.
    stmt = (
        table.update()
        .where(*(table.c[k] == sa.bindparam(f"p_{k}") for k in keys))
        .values({n: sa.bindparam(f"p_{n}") for n in sets})
    )
    conn.execute(stmt, [{f"p_{n}": row[n] for n in names} for row in rows])


def insert_tuples(conn, table, names: Sequence[str], rows: Iterable[tuple]) -> None:
    """Insert rows given as value tuples in ``names``' order, e.g. a generator.

    For rows that cannot conflict. On PostgreSQL the generator is consumed while the
    COPY runs, so the server stores the rows already sent while Python builds the
    next ones instead of waiting for all of them.
    """
    if conn.dialect.name == "postgresql":
        copy_rows(conn, table, table.name, rows, names, tuples=True)
        return
    batch = [dict(zip(names, row, strict=True)) for row in rows]
    if batch:
        conn.execute(table.insert(), batch)


def assign_ids(conn, table, rows: list[dict]) -> None:
    """PostgreSQL: give rows about to be inserted ids from the table's sequence.

    One query for the batch, so that the new rows' ids are known without reading
    them back. SQLite: nothing (its rows are read back).
    """
    if not rows or conn.dialect.name != "postgresql":
        return
    ids = conn.exec_driver_sql(
        "SELECT nextval(seq) FROM pg_get_serial_sequence(%(table)s, 'id') AS seq, "
        "generate_series(1, %(count)s)",
        {"table": table.name, "count": len(rows)},
    ).scalars()
    for row, id_ in zip(rows, ids, strict=True):
        row["id"] = id_


def _stage(conn, table, rows, names) -> str:
    """PostgreSQL: COPY rows into a new temporary table; return its name.

    The table has only the loaded columns, with the target's types and no
    constraints or defaults (no sequence is used); it is dropped at commit at the
    latest. Identifiers come from ctforeclosure.db's tables, never from data.
    """
    tmp = f"_ctf_stage_{table.name}_{next(_staging)}"
    cols = ", ".join(f'"{n}"' for n in names)
    conn.exec_driver_sql(
        f'CREATE TEMPORARY TABLE "{tmp}" ON COMMIT DROP AS '  # noqa: S608
        f'SELECT {cols} FROM "{table.name}" WITH NO DATA'
    )
    copy_rows(conn, table, tmp, rows, names)
    return tmp


def _special_columns(table, names) -> tuple[list[int], list[int]]:
    """Return the positions of the temporal and of the JSON columns among names."""
    temporal = [
        i
        for i, n in enumerate(names)
        if isinstance(table.c[n].type, (sa.Date, sa.DateTime))
    ]
    json = [i for i, n in enumerate(names) if isinstance(table.c[n].type, sa.JSON)]
    return temporal, json


def copy_rows(conn, table, target: str, rows, names, *, tuples=False) -> None:
    """PostgreSQL: COPY rows (dicts of ``table``'s columns) into ``target``.

    With ``tuples``, ``rows`` is any iterable of value sequences in ``names``'
    order, e.g. a generator, consumed while the server already stores the rows
    sent before.
    """
    from psycopg.types.json import Jsonb

    # Dates and times go as their ISO text, rendered once per distinct value: most
    # are the batch's ``now`` (first_seen, last_seen) or repeat (file dates), and
    # psycopg's own dumper is slower per value. The server parses the same text it
    # would get from psycopg (text COPY is untyped), so nothing stored changes.
    # JSON columns: psycopg would dump a list as an array; None stays JSON null, as
    # SQLAlchemy's JSON type stores it.
    temporal_at, json_at = _special_columns(table, names)
    rendered: dict[Any, str] = {}
    get = operator.itemgetter(*names)
    cols = ", ".join(f'"{n}"' for n in names)
    copy_sql = f'COPY "{target}" ({cols}) FROM STDIN'
    raw = conn.connection.driver_connection
    try:
        with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                if tuples:
                    values = list(row)
                else:
                    values = list(get(row)) if len(names) > 1 else [row[names[0]]]
                for i in temporal_at:
                    value = values[i]
                    if value is not None and value.__class__ is not str:
                        text = rendered.get(value)
                        if text is None:
                            text = rendered[value] = value.isoformat()
                        values[i] = text
                for i in json_at:
                    values[i] = Jsonb(values[i])
                copy.write_row(values)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _as_sqlalchemy_error(conn, raw, copy_sql, exc) from exc


def _as_sqlalchemy_error(conn, raw, statement: str, exc: Exception):
    """Return the driver's error as SQLAlchemy would raise it.

    The pipeline spools on ``DBAPIError``, and the pool must drop a connection the
    server closed.
    """
    disconnect = conn.dialect.is_disconnect(exc, raw, None)
    if disconnect:
        conn.invalidate(exc)
    return sa.exc.DBAPIError.instance(
        statement,
        None,
        exc,
        conn.dialect.loaded_dbapi.Error,
        dialect=conn.dialect,
        is_disconnect=disconnect,
    )
