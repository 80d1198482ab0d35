"""``ctforeclosure web``: serve the staff web UI with gunicorn (debug on request).

Worker processes, not only threads: one process of Python threads uses one core (the
GIL), and the web UI's own CPU, not the database, was the limit (227 requests/s in
one waitress process, 280-300 in two worker processes on 2 cores, BENCHMARKS.md). What
every worker must see lives in the database: sessions are signed cookies, and login
throttling and background jobs' progress have their tables (migration 0006).

Two threads per worker, not more: while one waits on the database the other runs,
and more threads only queue for the same interpreter lock. At 20 busy clients,
2 x 2 gave a p95 25-40 ms below 2 x 4 at the same throughput, in interleaved runs
(BENCHMARKS.md, web UI, fifth pass). The price: a long export holds one of its
worker's two threads while it runs.
"""

from __future__ import annotations

import os

import click
from gunicorn.app.base import BaseApplication

from ctforeclosure.cli.keepalive_balance import ConnectionBalance


def default_workers() -> int:
    """One worker per core available to this process, at least two."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(2, cores)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Worker processes [default: one per core, at least 2].",
)
@click.option(
    "--threads",
    default=2,
    show_default=True,
    type=int,
    help="Threads per worker (each can wait on the database while another runs).",
)
@click.option(
    "--debug", is_flag=True, help="Flask's debug server (never in production)."
)
def web(host: str, port: int, workers: int | None, threads: int, debug: bool) -> None:
    """Serve the web UI for staff."""
    from webui import create_app
    from webui.db import get_engine_of

    # Built here first so that a bad configuration (no secret key, a database not
    # migrated) stops the command with its own message, not a worker boot loop.
    app = create_app({"DEBUG_SERVER": debug})
    if debug:
        app.run(host=host, port=port, debug=True, use_reloader=False)
        return
    get_engine_of(app).dispose()  # each worker opens its own connections
    workers = workers or default_workers()
    balance = ConnectionBalance(slots=2 * workers)  # room for restarted workers
    click.echo(
        f"serving the web UI on http://{host}:{port}/ "
        f"({workers} workers x {threads} threads)"
    )
    _Server(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            # keep-alive connections stay with their worker's threads
            "keepalive": 5,
            "timeout": 60,
            "graceful_timeout": 30,
            # ...and a crowded worker hands some back (keepalive_balance)
            "post_fork": balance.post_fork,
            "pre_request": balance.pre_request,
            "worker_exit": balance.worker_exit,
        }
    ).run()


class _Server(BaseApplication):
    """gunicorn's application interface: each worker builds its own app."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from webui import create_app

        return create_app()
