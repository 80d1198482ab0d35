"""The web server's workers keep an even share of keep-alive connections: a worker
holding more than its share answers with ``Connection: close``."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from webui.server import ConnectionBalance, over_fair_share


@pytest.mark.parametrize(
    ("mine", "counts", "crowded"),
    [
        (15, [15, 5], True),  # seen in the benchmark: its clients waited
        (12, [12, 8], True),
        (11, [11, 9], False),  # an even split within one: left alone
        (2, [2, 1], False),  # a few clients: nothing to gain
        (20, [20], False),  # one worker: nowhere to go
        (9, [9, 9, 2], True),
    ],
)
def test_a_worker_is_crowded_past_its_fair_share_plus_one(mine, counts, crowded):
    assert over_fair_share(mine, counts) is crowded


def _other_worker(balance, connections, ready, done):
    balance.claim(os.getpid())
    balance.crowded(connections)  # publishes its count
    ready.set()
    done.wait(30)  # exits without releasing its slot, as a killed worker would


class _Request:
    closed = False

    def force_close(self):
        self.closed = True


class _Worker:
    def __init__(self, nr_conns):
        self.nr_conns = nr_conns


def test_workers_see_each_others_connections_across_processes():
    fork = multiprocessing.get_context("fork")
    balance = ConnectionBalance(slots=2)
    ready, done = fork.Event(), fork.Event()
    other = fork.Process(target=_other_worker, args=(balance, 5, ready, done))
    other.start()
    try:
        assert ready.wait(30)
        balance.post_fork(None, None)  # this process is the second worker
        crowded, fair = _Request(), _Request()
        balance.pre_request(_Worker(nr_conns=15), crowded)
        balance.pre_request(_Worker(nr_conns=6), fair)
        assert crowded.closed and not fair.closed
    finally:
        done.set()
        other.join(30)
    # The other worker died holding its slot: a restarted worker takes it over (with
    # no free slot it could never be asked to close) and sees this worker's count.
    seen = fork.Value("b", 0)
    restarted = fork.Process(target=_restarted_worker, args=(balance, seen))
    restarted.start()
    restarted.join(30)
    assert seen.value == 1


def _restarted_worker(balance, seen):
    balance.post_fork(None, None)
    request = _Request()
    balance.pre_request(_Worker(nr_conns=15), request)  # against this test's 6
    seen.value = int(request.closed)


def test_a_worker_without_a_connection_count_is_never_asked_to_close():
    balance = ConnectionBalance(slots=2)
    balance.claim(os.getpid())
    request = _Request()
    balance.pre_request(object(), request)  # a worker class that keeps no count
    assert not request.closed
