"""A BatchData stand-in on 127.0.0.1 and a migrated database with seeded cases.

Each test that needs the vendor starts its own server (the replica's BatchData
blueprint alone, in a thread) with the faults it wants, and stops it afterwards.
Cases and parties are seeded with plain Core inserts; the names are invented.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from ctforeclosure import db
from tests.replica.batchdata import TEST_API_KEY, make_blueprint


class BatchDataServer:
    """A running replica BatchData API: its base URL and its billing ledger."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.base_url = f"{root}/batchdata/api/v1"

    def ledger(self) -> dict:
        return requests.get(f"{self.root}/batchdata/_ledger", timeout=5).json()

    def billed(self) -> list[dict]:
        return self.ledger()["billed"]

    def calls(self) -> list[dict]:
        return self.ledger()["calls"]

    def answered(self) -> list[str]:
        """The requestId of every record answered (sent), matched or not."""
        return self.ledger()["answered"]


@pytest.fixture
def batchdata_factory():
    """Start BatchData stand-ins with given options; stop them all after the test."""
    servers = []

    def start(**options) -> BatchDataServer:
        app = Flask("batchdata-test")
        app.register_blueprint(make_blueprint(**options), url_prefix="/batchdata")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return BatchDataServer(f"http://127.0.0.1:{server.server_port}")

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def batchdata(batchdata_factory):
    """A fault-free BatchData stand-in."""
    return batchdata_factory()


@pytest.fixture
def configured(monkeypatch):
    """Point the environment at a BatchData stand-in with fast retries."""

    def configure(server: BatchDataServer, key: str = TEST_API_KEY) -> None:
        monkeypatch.setenv("BATCHDATA_BASE_URL", server.base_url)
        monkeypatch.setenv("BATCHDATA_API_KEY", key)
        monkeypatch.setenv("SKIPTRACE_BACKOFF", "0.05")
        monkeypatch.setenv("SKIPTRACE_READ_TIMEOUT", "5")

    return configure


NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def add_case(conn, docket_no: str, town: str = "Hartford", **address) -> None:
    """Insert a case with a property address (defaults: a usable invented one)."""
    values = {
        "docket_no": docket_no,
        "search_town": town,
        "property_street": f"{int(docket_no[-8:-1]) % 900 + 10} Example Road",
        "property_town": town,
        "property_state": "CT",
        "property_zip": "06101",
        "first_seen": NOW,
        "last_seen": NOW,
        "last_changed": NOW,
        "listed": True,
        "flags": [],
    }
    values.update(address)
    conn.execute(db.cases.insert().values(**values))


def add_party(conn, docket_no: str, party_no: str, name: str, **extra) -> int:
    """Insert a party; return its id. Role and category follow the party number."""
    role = party_no[0]
    category = {"P": "Plaintiff", "D": "Defendant"}.get(
        role, "For Notice Only or Proposed Intervenor"
    )
    values = {
        "docket_no": docket_no,
        "party_no": party_no,
        "role": role,
        "category": category,
        "name": name,
        "first_seen": NOW,
        "last_seen": NOW,
        "appearances": [],
        "non_appearing": False,
    }
    values.update(extra)
    return conn.execute(db.parties.insert().values(**values)).inserted_primary_key[0]


#: Invented owners (no real person's name is committed).
FAKE_OWNERS = [
    "AVERY Q. EXAMPLE",
    "BLAKE TESTWORTH",
    "CORA SAMPLESON",
    "DEVON FICTIONAL",
    "EMERY PLACEHOLDT",
    "FINLEY MOCKINGTON",
    "GALE INVENTA",
    "HARPER MADEUP",
    "INDIGO NOTREAL",
    "JULES IMAGINARY",
]


def seed_town(engine, town: str = "Hartford", cases: int = 5, start: int = 1) -> dict:
    """Seed ``cases`` cases, each with a bank plaintiff, one or two owners and
    a notice-only party. Return {"eligible": [party ids], "others": [party ids]}."""
    eligible, others = [], []
    with engine.begin() as conn:
        for i in range(start, start + cases):
            docket = f"HHDCV26{6000000 + i:07d}S"
            add_case(conn, docket, town)
            others.append(add_party(conn, docket, "P-01", "WELLS FARGO BANK, N.A."))
            eligible.append(
                add_party(conn, docket, "D-01", FAKE_OWNERS[i % len(FAKE_OWNERS)])
            )
            if i % 2 == 0:
                eligible.append(
                    add_party(
                        conn, docket, "D-02", FAKE_OWNERS[(i + 3) % len(FAKE_OWNERS)]
                    )
                )
            others.append(
                add_party(
                    conn, docket, "D-03", "BERKELEY CONDOMINIUM ASSOCIATION, INC."
                )
            )
            others.append(
                add_party(conn, docket, "L-01", "CONNECTICUT HOUSING FINANCE AUTHORITY")
            )
    return {"eligible": eligible, "others": others}
