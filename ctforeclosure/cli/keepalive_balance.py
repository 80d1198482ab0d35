"""Keep gunicorn's worker processes' share of keep-alive connections even.

A keep-alive connection stays with the worker that accepted it, and clients that
connect together are split between the workers by chance: 15 of 20 on one worker
and 5 on the other was seen, and then the crowded worker's clients wait on its one
interpreter while the other worker idles (web UI benchmark: p95 137 ms against
88-95 ms for a 11/9 split; with this module, p95 20-35 ms lower in alternated runs,
BENCHMARKS.md, fifth pass).

Each worker publishes its number of open connections in a table shared by all
workers (made before they fork). Before a request, a worker holding more than its
fair share (plus one, so that an even split is left alone) answers it with
``Connection: close``: the client's next request opens a new connection, which the
less busy worker, waiting in ``accept`` while the crowded one computes, usually
takes. Closing a keep-alive connection after a response is ordinary HTTP; browsers
reconnect without a word.
"""

from __future__ import annotations

import math
import multiprocessing
import os


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
