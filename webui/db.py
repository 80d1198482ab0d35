"""The web UI's database access: one engine per app, one connection per request.

The engine lives in ``app.extensions``; the app refuses to start on a schema that is
not at the migrations' head (run ``ctforeclosure db upgrade``).

On PostgreSQL the web UI's sessions get their own planner settings: the web UI runs
many small queries at once, so parallel workers only compete with the other requests
for the same cores, and the working set is cached, so index lookups cost about what
sequential reads do (the default ``random_page_cost`` of 4 made the text search
hash-join a sequential scan of every case, slower than the index lookups).
"""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa
from flask import current_app, g, request

from ctforeclosure.db import make_engine
from ctforeclosure.migrate import require_current

EXTENSION_KEY = "ctforeclosure_engine"


#: Session settings for the web UI's PostgreSQL connections (see the module docstring).
PG_OPTIONS = "-c max_parallel_workers_per_gather=0 -c random_page_cost=1.1"


def init_app(app) -> None:
    """Create the engine, check the schema and close connections after requests."""
    url = app.config["DATABASE_URL"]
    kwargs = {}
    if sa.make_url(url).get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"options": PG_OPTIONS}
        # No "SELECT 1" before every request's queries (a round trip, a noticeable
        # share of a page under load). After a database restart the first request to
        # meet a dead connection fails once; SQLAlchemy then drops the whole pool.
        kwargs["pool_pre_ping"] = False
        kwargs["pool_recycle"] = 1800
    # Room for a pooled connection per server thread and background job: overflow
    # connections are closed on return and opened again (a new server process) next
    # time, which SQLAlchemy's default of 5 did to 8 waitress threads. Connections
    # open only when needed, so a worker of 4 threads holds about 4.
    kwargs["pool_size"] = app.config.get("DB_POOL_SIZE", 16)
    engine = make_engine(url, **kwargs)
    require_current(engine)
    app.extensions[EXTENSION_KEY] = engine
    app.teardown_appcontext(close_conn)
    app.register_error_handler(sa.exc.OperationalError, database_unavailable)
    app.register_error_handler(sa.exc.InterfaceError, database_unavailable)


def get_engine() -> sa.Engine:
    return get_engine_of(current_app)


def get_engine_of(app) -> sa.Engine:
    return app.extensions[EXTENSION_KEY]


def get_conn() -> sa.Connection:
    """Return this request's read connection.

    In autocommit mode: it only reads (writes go through :func:`write`), and a
    transaction cost two more round trips per page (BEGIN, then ROLLBACK on return
    to the pool). Each query reads the data committed when it starts.
    """
    if "conn" not in g:
        g.conn = get_engine().connect().execution_options(isolation_level="AUTOCOMMIT")
    return g.conn


@contextmanager
def write():
    """Yield a connection in its own transaction (committed on success)."""
    with get_engine().begin() as conn:
        yield conn


def close_conn(_exc=None) -> None:
    conn = g.pop("conn", None)
    if conn is not None:
        conn.close()


# Operational errors are lost connections, but also a busy SQLite file or a deadlock:
# the text must be true of all of them.
UNAVAILABLE_TEXT = (
    "The database could not answer this request (it is restarting, down or busy). "
    "Nothing was changed. Try again in a moment; if it lasts, tell whoever runs "
    "ctforeclosure."
)


def database_unavailable(exc):
    """Answer a lost or unreachable database with 503 and a plain explanation.

    Not the generic 500 page: staff should know it is not their input, and that a
    retry is safe. A dead pooled connection (the database restarted) drops the
    whole pool, so the next request reconnects.
    """
    current_app.logger.warning(
        "database unavailable: %s", type(getattr(exc, "orig", exc)).__name__
    )
    headers = {"Retry-After": "5"}
    if request.path.startswith("/api/"):
        body = {"error": "database_unavailable", "message": UNAVAILABLE_TEXT}
        return body, 503, headers
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<title>Database unavailable - ctforeclosure</title>"
        f"<h1>Database unavailable</h1><p>{UNAVAILABLE_TEXT}</p>"
    )
    return page, 503, {**headers, "Content-Type": "text/html; charset=utf-8"}
