"""``ctforeclosure web``: serve the staff web UI with gunicorn (debug on request).

The server's processes, threads and hooks are in :mod:`webui.server`.
"""

from __future__ import annotations

import click


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
    from webui import create_app, server
    from webui.db import get_engine_of

    metrics_dir = None if debug else server.prepare()
    # Built here first so that a bad configuration (no secret key, a database not
    # migrated) stops the command with its own message, not a worker boot loop.
    app = create_app({"DEBUG_SERVER": debug})
    if debug:
        app.run(host=host, port=port, debug=True, use_reloader=False)
        return
    get_engine_of(app).dispose()  # each worker opens its own connections
    workers = workers or server.default_workers()
    click.echo(
        f"serving the web UI on http://{host}:{port}/ "
        f"({workers} workers x {threads} threads)"
    )
    server.serve(host, port, workers, threads, metrics_dir)
