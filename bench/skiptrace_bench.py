"""Benchmark: 10,000 eligible parties skip traced against the replica's BatchData.

Seeds a throw-away database (SQLite file, or PostgreSQL created and dropped here)
with cases whose defendants are invented people, a few of them the same person at the
same address in two cases (dedupe must send them once), plus bank and association
parties that must be skipped. Then, through the real service and client over HTTP to
the replica blueprint on 127.0.0.1:

1. quote (pending) — timed;
2. run — timed: records/s sent and parties/s stored;
3. the floor (issue 23): the BatchData stand-in's own time, summed over the run's
   calls (measured inside the server, around the Flask app); the run's time is
   reported as a multiple of it (no target: the rest is the client, the database
   and the thread hand-offs);
4. checks: billed records (the replica's ledger) == matched records, every billed
   person distinct, records sent == distinct eligible persons, and a second quote
   sends nothing.

    python bench/skiptrace_bench.py --parties 10000 --only sqlite
    python bench/skiptrace_bench.py --parties 10000 --only postgresql
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from floor import Ratio, machine

from ctforeclosure import db, migrate
from ctforeclosure.skiptrace.service import SkipTraceService
from ctforeclosure.skiptrace.settings import SkipTraceSettings
from tests.replica.batchdata import TEST_API_KEY, make_blueprint

PG_ADMIN_URL = os.environ.get(
    "CTF_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
FIRST = ["AVERY", "BLAKE", "CORA", "DEVON", "EMERY", "FINLEY", "GALE", "HARPER"]
LAST = [f"TESTNAME{chr(65 + a)}{chr(65 + b)}" for a in range(26) for b in range(26)]
DUP_EVERY = 20  # every 20th case repeats the previous case's owner and address


def seed(engine: sa.Engine, parties: int) -> int:
    """Insert cases with 2 eligible defendants each; return distinct persons."""
    now = datetime.now(UTC)
    cases, rows = [], []
    persons = set()
    n_cases = parties // 2
    for i in range(n_cases):
        docket = f"HHDCV26{i:07d}S"
        dup = i % DUP_EVERY == DUP_EVERY - 1
        street_no = i - 1 if dup else i
        cases.append(
            {
                "docket_no": docket,
                "search_town": "Hartford",
                "property_street": f"{street_no + 1} Benchmark Road",
                "property_town": "Hartford",
                "property_state": "CT",
                "property_zip": "06101",
                "first_seen": now,
                "last_seen": now,
                "last_changed": now,
                "listed": True,
                "flags": [],
            }
        )
        for j in range(2):
            k = (street_no * 2 + j) if dup else (i * 2 + j)
            name = f"{FIRST[k % len(FIRST)]} {LAST[(k // len(FIRST)) % len(LAST)]}"
            persons.add((name, street_no))
            rows.append((docket, f"D-0{j + 1}", "D", "Defendant", name))
        rows.append((docket, "P-01", "P", "Plaintiff", "EXAMPLE BANK, N.A."))
        rows.append((docket, "D-03", "D", "Defendant", "ELM CONDOMINIUM ASSOCIATION"))
    with engine.begin() as conn:
        conn.execute(db.cases.insert(), cases)
        conn.execute(
            db.parties.insert(),
            [
                {
                    "docket_no": d,
                    "party_no": no,
                    "role": role,
                    "category": cat,
                    "name": name,
                    "first_seen": now,
                    "last_seen": now,
                    "appearances": [],
                    "non_appearing": False,
                }
                for d, no, role, cat, name in rows
            ],
        )
    return len(persons)


class OwnTime:
    """WSGI middleware: the wrapped app's own time (call to body built), summed."""

    def __init__(self, app):
        self.app = app
        self.seconds = 0.0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        began = time.perf_counter()
        body = b"".join(self.app(environ, start_response))
        with self.lock:
            self.seconds += time.perf_counter() - began
        return [body]


def serve():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per call
    app = Flask("batchdata-bench")
    app.register_blueprint(make_blueprint(), url_prefix="/batchdata")
    app.wsgi_app = OwnTime(app.wsgi_app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def bench(url: str, parties: int) -> dict:
    import requests

    migrate.upgrade(url)
    engine = db.make_engine(url)
    server, root = serve()
    try:
        distinct = seed(engine, parties)
        os.environ["BATCHDATA_BASE_URL"] = f"{root}/batchdata/api/v1"
        os.environ["BATCHDATA_API_KEY"] = TEST_API_KEY
        settings = SkipTraceSettings(
            run_budget=Decimal("100000"), monthly_budget=Decimal("100000")
        )
        service = SkipTraceService.from_config(engine, settings)
        t0 = time.perf_counter()
        quote = service.quote(pending=True)
        t1 = time.perf_counter()
        own_before = server.app.wsgi_app.seconds
        result = service.run(quote, triggered_by="bench")
        t2 = time.perf_counter()
        standin_s = server.app.wsgi_app.seconds - own_before
        ledger = requests.get(f"{root}/batchdata/_ledger", timeout=30).json()
        billed = ledger["billed"]
        billed_keys = {
            (b["name"]["first"], b["name"]["last"], b["propertyAddress"]["street"])
            for b in billed
        }
        again = service.quote(pending=True)
        with engine.connect() as conn:
            stored = conn.execute(
                sa.select(sa.func.count()).select_from(db.skiptrace_results)
            ).scalar_one()
        return {
            "eligible_parties": sum(len(r.party_ids) for r in quote.records),
            "distinct_persons": distinct,
            "records_sent": result.sent,
            "matched": result.matched,
            "billed": len(billed),
            "billed_distinct": len(billed_keys),
            "calls": len(ledger["calls"]),
            "stored_results": stored,
            "second_quote_records": len(again.records),
            "quote_s": round(t1 - t0, 2),
            "run_s": round(t2 - t1, 2),
            "records_per_s": round(result.sent / (t2 - t1)),
            "parties_per_s": round(stored / (t2 - t1)),
            "standin_s": round(standin_s, 2),
            "run_vs_standin": Ratio("run", t2 - t1, standin_s, "s"),
            "ok": (
                result.sent == distinct
                and len(billed) == len(billed_keys) == result.matched
                and len(again.records) == 0
                and result.stopped is None
            ),
        }
    finally:
        server.shutdown()
        engine.dispose()


def report(label: str, figures: dict) -> None:
    """Print the figures, then the run against the stand-in's own time."""
    against = figures.pop("run_vs_standin")
    print(label, figures)
    print(f"{label}: {against} (the BatchData stand-in's own time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=10_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(machine())
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            report("sqlite", bench(f"sqlite:///{tmp}/bench.sqlite3", args.parties))
    if args.only in (None, "postgresql"):
        name = f"ctf_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            url = sa.make_url(PG_ADMIN_URL).set(database=name)
            report(
                "postgresql",
                bench(url.render_as_string(hide_password=False), args.parties),
            )
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
