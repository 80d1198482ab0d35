"""``ctforeclosure web``: serve the staff web UI with waitress (debug on request)."""

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option(
    "--debug", is_flag=True, help="Flask's debug server (never in production)."
)
def web(host: str, port: int, threads: int, debug: bool) -> None:
    """Serve the web UI for staff."""
    from webui import create_app

    app = create_app({"DEBUG_SERVER": debug})
    if debug:
        app.run(host=host, port=port, debug=True, use_reloader=False)
        return
    import waitress

    # One process on purpose: skip-trace progress (webui/jobs.py) lives in it, and on
    # the benchmark machine the cores, not the GIL, were the limit (BENCHMARKS.md).

    click.echo(f"serving the web UI on http://{host}:{port}/")
    waitress.serve(app, host=host, port=port, threads=threads)
