"""Skip-trace budgets under real concurrency, on SQLite and PostgreSQL.

Five runs started together (threads sharing one engine, and separate
``ctforeclosure skiptrace --yes`` processes, each with its own engine) against the
replica's BatchData, which holds every answer a moment so that batches overlap. A
sampler reads the ledger every few milliseconds: the month's spend (settled plus
reserved) and each run's never pass their cap, even for a moment.

Each run traces its own town (as a crawl, a manager and the CLI trace different
parties), so no run is slowed by meeting another's records in flight.

"The records that fit": the stand-in bills matched records only (about four in
five), and a batch's settled cost frees the room its no-match records had
reserved. So when every town holds more than the cap buys, the runs stop exactly
when one more record could pass the cap: the vendor bills floor(cap / unit cost)
records, the ledger says the same, nobody is sent twice, and what was not sent is
offered again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.skiptrace.service import BudgetExceeded, SkipTraceService

from .conftest import seed_town

UNIT = Decimal("0.07")
RUNS = 5
#: Every answer waits this long, so the runs' batches are in flight together.
HOLD_SECONDS = 0.2

#: A separate process: import everything, say it is ready (``<start>.<pid>``), wait
#: for the start file, then run the CLI.
RUNNER = """
import os, sys, time
import ctforeclosure.skiptrace.service
from ctforeclosure.cli.app import main
open(f"{sys.argv[1]}.{os.getpid()}", "w").close()
while not os.path.exists(sys.argv[1]):
    time.sleep(0.002)
main(sys.argv[2:], prog_name="ctforeclosure")
"""
TOWNS = ("Hartford", "Bristol", "Norwalk", "Stamford", "Danbury")


class LedgerSampler(threading.Thread):
    """Read the ledger's spend (total and per run) until stopped; keep the maxima."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = db.make_engine(url)
        self.done = threading.Event()
        self.samples = 0
        self.max_total = Decimal(0)
        self.max_per_run: dict[str, Decimal] = {}

    def run(self) -> None:
        ledger = db.skiptrace_ledger.c
        query = sa.select(ledger.triggered_by, sa.func.sum(ledger.cost)).group_by(
            ledger.triggered_by
        )
        while not self.done.is_set():
            with self.engine.connect() as conn:
                spent = {who: Decimal(str(cost)) for who, cost in conn.execute(query)}
            self.samples += 1
            self.max_total = max(self.max_total, sum(spent.values(), Decimal(0)))
            for who, cost in spent.items():
                self.max_per_run[who] = max(self.max_per_run.get(who, cost), cost)
            time.sleep(0.003)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)
        self.engine.dispose()


def _ledger(engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return conn.execute(sa.select(db.skiptrace_ledger)).all()


def _run_threads(engine) -> None:
    """Five runs in threads, started together, each quoting then spending."""
    barrier = threading.Barrier(RUNS)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            service = SkipTraceService.from_config(engine)
            barrier.wait(timeout=30)
            quote = service.quote(town=TOWNS[i])
            service.run(quote, triggered_by=f"cli:runner-{i}")
        except BudgetExceeded:
            pass  # a run that starts when the cap is already reached
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RUNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def _run_processes(tmp_path) -> None:
    """Five ``ctforeclosure skiptrace --pending --yes`` processes, started together."""
    start = tmp_path / "start"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(start), *_spend_on(TOWNS[i])],
            env={**os.environ, "LOGNAME": f"runner-{i}"},  # triggered_by cli:runner-i
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(RUNS)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("start.*"))) < RUNS and time.monotonic() < deadline:
        time.sleep(0.01)
    start.touch()
    for proc in procs:
        output, _ = proc.communicate(timeout=120)
        assert proc.returncode in (0, 1), output  # 1: stopped or refused by a cap
        assert "Traceback" not in output and "locked" not in output, output


def _spend_on(town: str) -> tuple[str, ...]:
    return ("skiptrace", "--town", town, "--yes")


def _seed_towns(engine, cases: int) -> int:
    """Seed ``cases`` cases in each town; return the eligible owners in all."""
    return sum(
        len(seed_town(engine, town, cases=cases, start=1 + n * cases)["eligible"])
        for n, town in enumerate(TOWNS)
    )


def _spend(mode, engine, url, tmp_path) -> LedgerSampler:
    sampler = LedgerSampler(url)
    sampler.start()
    try:
        if mode == "threads":
            _run_threads(engine)
        else:
            _run_processes(tmp_path)
    finally:
        sampler.stop()
    assert sampler.samples > 20, "the sampler hardly ran"
    return sampler


@pytest.fixture
def held_batchdata(batchdata_factory, configured, monkeypatch, migrated_db_url):
    """The BatchData stand-in holding each answer; the project pointed at it."""
    server = batchdata_factory(faults=frozenset({"slow"}), slow_seconds=HOLD_SECONDS)
    configured(server)
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    return server


def _limits(monkeypatch, **values) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"SKIPTRACE_{name.upper()}", str(value))


def _assert_sent_once_and_stored(engine, batchdata) -> None:
    """Nobody is sent twice, and every record sent has its stored result."""
    sent = batchdata.answered()
    assert len(sent) == len(set(sent)), "a person was sent twice"
    with engine.connect() as conn:
        r = db.skiptrace_results.c
        keys = conn.execute(
            sa.select(r.person_key).where(r.ledger_id.is_not(None)).distinct()
        ).scalars()
        assert sorted(k[:16] for k in keys) == sorted(sent)
        statuses = set(conn.execute(sa.select(r.status).distinct()).scalars())
    assert statuses <= {"matched", "no_match"}


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_concurrent_runs_never_pass_the_monthly_cap(
    mode, migrated_db_url, migrated_engine, held_batchdata, monkeypatch, tmp_path
):
    server = held_batchdata
    cap = UNIT * 25  # 2.5 batches of 10
    _limits(monkeypatch, batch_size=10, unit_cost=UNIT, monthly_budget=cap)
    # 36 owners per town: any one town holds more than the month's cap buys
    eligible = _seed_towns(migrated_engine, cases=24)

    sampler = _spend(mode, migrated_engine, migrated_db_url, tmp_path)

    ledger = _ledger(migrated_engine)
    assert sampler.max_total <= cap, f"the month's spend reached {sampler.max_total}"
    assert len(server.billed()) == int(cap / UNIT) == 25
    assert sum(r.cost for r in ledger) == cap
    assert {r.status for r in ledger} == {"ok"}
    _assert_sent_once_and_stored(migrated_engine, server)
    left = SkipTraceService.from_config(migrated_engine).quote(pending=True)
    assert len(left.records) == eligible - len(server.answered()) > 0


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_concurrent_runs_never_pass_the_per_run_cap(
    mode, migrated_db_url, migrated_engine, held_batchdata, monkeypatch, tmp_path
):
    server = held_batchdata
    cap = UNIT * 10  # 2.5 batches of 4
    _limits(monkeypatch, batch_size=4, unit_cost=UNIT, run_budget=cap)
    _seed_towns(migrated_engine, cases=14)  # 21 owners per town: more than a run buys

    sampler = _spend(mode, migrated_engine, migrated_db_url, tmp_path)

    runs = {f"cli:runner-{i}" for i in range(RUNS)}
    assert set(sampler.max_per_run) == runs
    assert max(sampler.max_per_run.values()) <= cap, sampler.max_per_run
    ledger = _ledger(migrated_engine)
    for run in runs:
        rows = [r for r in ledger if r.triggered_by == run]
        assert sum(r.cost for r in rows) == cap, run
        assert sum(r.records_matched for r in rows) == int(cap / UNIT) == 10
    assert len(server.billed()) == RUNS * 10
    _assert_sent_once_and_stored(migrated_engine, server)


def test_a_run_killed_after_reserving_leaves_a_reservation_reconcile_settles(
    migrated_db_url,
    migrated_engine,
    batchdata_factory,
    configured,
    monkeypatch,
    tmp_path,
):
    from click.testing import CliRunner

    from ctforeclosure.cli.app import main

    server = batchdata_factory(faults=frozenset({"slow"}), slow_seconds=30)
    configured(server)
    monkeypatch.setenv("SKIPTRACE_READ_TIMEOUT", "60")  # the run waits for the answer
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    seed_town(migrated_engine, cases=4)  # 6 owners, one batch
    start = tmp_path / "start"
    start.touch()
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(start), "skiptrace", "--pending", "--yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not server.answered() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.answered(), "the run never reached BatchData"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    billed = {b["requestId"] for b in server.billed()}
    assert 0 < len(billed) < 6  # some records matched (billed), some did not

    quote = CliRunner().invoke(main, ["skiptrace", "--pending"])
    assert "$0.42 of $500.00 spent this month" in quote.output  # reserved: 6 x $0.07
    assert "6 x awaiting reconcile" in quote.output
    listing = CliRunner().invoke(main, ["reconcile"])
    assert "6 skip-trace records with an unknown outcome" in listing.output

    # The operator checks the vendor's billing: billed records are skipped (paid
    # for), the others retried (not billed).
    r = db.skiptrace_results
    with migrated_engine.connect() as conn:
        unknown = conn.execute(sa.select(r.c.id, r.c.person_key)).all()
    args = []
    for result_id, key in unknown:
        args += ["--skip" if key[:16] in billed else "--retry", str(result_id)]
    settled = CliRunner().invoke(main, ["reconcile", *args])
    assert settled.exit_code == 0, settled.output

    ledger = _ledger(migrated_engine)
    assert sum(row.cost for row in ledger) == UNIT * len(billed)  # the vendor's bill
    assert [row.status for row in ledger] == ["ok"]
    assert "0 skip-trace records" in CliRunner().invoke(main, ["reconcile"]).output
    again = SkipTraceService.from_config(migrated_engine).quote(pending=True)
    assert {rec.person_key[:16] for rec in again.records} == {
        key[:16] for _, key in unknown
    } - billed
