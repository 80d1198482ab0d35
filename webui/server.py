"""The web UI's server processes: gunicorn workers, their threads and their hooks.

``ctforeclosure web`` parses its options and calls :func:`serve`; everything about
processes lives here.

Worker processes, not only threads: one process of Python threads uses one core (the
GIL), and the web UI's own CPU, not the database, was the limit (BENCHMARKS.md, web
UI). What every worker must see lives in the database: sessions are signed cookies
(each checked against its user's session version), and login throttling and
background jobs' progress have their tables (migrations 0012 and 0006).

Two threads per worker by default, not more: while one waits on the database the
other runs, and more threads only queue for the same interpreter lock (BENCHMARKS.md,
web UI, fifth pass). The price: a long export holds one of its worker's two threads
while it runs.

Keep-alive connections stay even between the workers (:class:`ConnectionBalance`).
A keep-alive connection stays with the worker that accepted it, and clients that
connect together are split between the workers by chance; the crowded worker's
clients then wait on its one interpreter while the other worker idles (BENCHMARKS.md,
fifth pass). Each worker publishes its number of open connections in a table shared
by all workers (made before they fork). Before a request, a worker holding more than
its fair share (plus one, so that an even split is left alone) answers it with
``Connection: close``: the client's next request opens a new connection, which the
less busy worker, waiting in ``accept`` while the crowded one computes, usually
takes. Closing a keep-alive connection after a response is ordinary HTTP; browsers
reconnect without a word.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import tempfile

from gunicorn.app.base import BaseApplication

__all__ = [
    "ConnectionBalance",
    "default_workers",
    "over_fair_share",
    "prepare",
    "serve",
]


def default_workers() -> int:
    """One worker per core available to this process, at least two."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(2, cores)


def prepare() -> str:
    """Set up logging and the metrics folder; call before the app is first built
    (prometheus_client picks its mode when imported). Return the folder."""
    from ctforeclosure import config
    from ctforeclosure.services import logs

    cfg = config.load()
    logs.configure(cfg.log_format)
    return _metrics_dir(cfg.metrics_dir)


def serve(host: str, port: int, workers: int, threads: int, metrics_dir: str) -> None:
    """Serve the web UI with gunicorn until stopped; each worker builds its app."""
    balance = ConnectionBalance(slots=2 * workers)  # room for restarted workers
    GunicornServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            # keep-alive connections stay with their worker's threads
            "keepalive": 5,
            "timeout": 60,
            "graceful_timeout": 30,
            # ...and a crowded worker hands some back (ConnectionBalance)
            "post_fork": balance.post_fork,
            "pre_request": balance.pre_request,
            "worker_exit": balance.worker_exit,
            "child_exit": _forget_worker,
        }
    ).run()
    shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_dir(given: str | None) -> str:
    """Make the folder where every worker keeps its metrics (prometheus_client's
    multiprocess mode), emptied: set before any worker imports the library."""
    path = given or tempfile.mkdtemp(prefix="ctforeclosure-metrics-")
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def _forget_worker(server, worker) -> None:
    """Drop a dead worker's live gauges (gunicorn's ``child_exit`` hook)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class GunicornServer(BaseApplication):
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def over_fair_share(mine: int, counts: list[int]) -> bool:
    """Whether a worker with ``mine`` connections, among workers with ``counts``
    (its own included), holds more than its fair share plus one."""
    if len(counts) < 2:
        return False
    return mine > math.ceil(sum(counts) / len(counts)) + 1


class ConnectionBalance:
    """The workers' connection counts, shared between gunicorn's worker processes.

    Made in the master process before the workers fork; each worker claims a slot
    (its pid) when it starts and frees it when it exits. A slot left by a killed
    worker is taken over by the next one to start.
    """

    def __init__(self, slots: int):
        self._pids = multiprocessing.RawArray("i", slots)
        self._conns = multiprocessing.RawArray("i", slots)
        self._lock = multiprocessing.Lock()
        self._slot: int | None = None  # this process's slot, once claimed

    def claim(self, pid: int) -> None:
        with self._lock:
            for i, owner in enumerate(self._pids):
                if owner == 0 or not _alive(owner):
                    self._pids[i], self._conns[i] = pid, 0
                    self._slot = i
                    return

    def release(self) -> None:
        if self._slot is not None:
            with self._lock:
                self._pids[self._slot], self._conns[self._slot] = 0, 0
            self._slot = None

    def crowded(self, connections: int) -> bool:
        """Publish this worker's open connections; return whether it holds more
        than its share."""
        if self._slot is None:
            return False
        self._conns[self._slot] = connections
        counts = [c for pid, c in zip(self._pids, self._conns, strict=True) if pid]
        return over_fair_share(connections, counts)

    # gunicorn server hooks (config "post_fork", "pre_request", "worker_exit")

    def post_fork(self, server, worker) -> None:
        self.claim(os.getpid())

    def pre_request(self, worker, req) -> None:
        connections = getattr(worker, "nr_conns", None)  # threaded workers keep it
        if connections is not None and self.crowded(connections):
            req.force_close()  # the response says "Connection: close"

    def worker_exit(self, server, worker) -> None:
        self.release()
