"""Web UI fixtures: a migrated database (SQLite, then PostgreSQL) seeded with plain
Core inserts, one user per role, and a logged-in test client per role."""

from __future__ import annotations

import re
import socket
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from email.policy import default

import pyotp
import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.services import second_factor
from ctforeclosure.services import tokens as token_service
from ctforeclosure.services import users as user_service
from ctforeclosure.services.alerts import AlertChannels
from ctforeclosure.skiptrace import store
from ctforeclosure.store import cases as case_store
from tests.scrapyd import cluster as scrapyd_cluster

# The BatchData stand-in and its environment, shared with the skip-trace tests.
from tests.skiptrace.conftest import (  # noqa: F401 -- fixtures, used by name
    batchdata,
    batchdata_factory,
    configured,
)

PASSWORD = "correct horse battery staple"
EMAILS = {
    "admin": "admin@example.org",
    "manager": "manager@example.org",
    "viewer": "viewer@example.org",
}
XSS_NAME = "<script>alert('x')</script> Doe"
FORMULA_NAME = '=HYPERLINK("http://evil.example/","click")'
PHONE_OK = "+18605550123"
PHONE_DNC = "+18605550199"
PHONE_SANDBOX = "+18605550177"
EMAIL = "jdoe@example.com"
DOCKET_HARTFORD = "HHDCV226160660S"
DOCKET_NEW_HAVEN = "NNHCV236012345S"
DOCKET_OLD = "HHDCV196001234S"
SECRET_KEY = "test-secret-key-not-for-production"
#: The seeded admin's authenticator secret (base32), and the second step's page.
ADMIN_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CODE_STEP = "/auth/2fa/code"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _insert(conn, table, rows) -> None:
    """Insert rows one by one (they set different columns)."""
    for row in rows:
        conn.execute(table.insert().values(**row))


def _seed(conn) -> dict:
    now = datetime.now(UTC)
    today = date.today()
    _insert(
        conn,
        db.crawl_runs,
        [
            {
                "id": 1,
                "spider": "cases",
                "args": {"town": "Hartford"},
                "job_id": "job-abc",
                "started_at": now - timedelta(hours=2),
                "finished_at": now - timedelta(hours=1),
                "status": "finished",
                "finish_reason": "finished",
                "items_stored": 3,
                "errors": {},
                "town_counts": {},
                "checks": [],
                "notes": [],
            }
        ],
    )
    base = {
        "listed": True,
        "flags": [],
        "first_seen": now,
        "last_seen": now,
        "last_changed": now,
    }
    _insert(
        conn,
        db.cases,
        [
            {
                **base,
                "docket_no": DOCKET_HARTFORD,
                "search_town": "Hartford",
                "county": "Hartford",
                "case_name": "FIRST BANK v. DOE, JOHN",
                "caption": "FIRST BANK v. DOE, JOHN Et Al",
                "property_street": "12 Elm Street",
                "property_town": "Hartford",
                "file_date": today - timedelta(days=3),
                "judgment_type": "strict",
                "law_day": today + timedelta(days=10),
                "is_active": True,
            },
            {
                **base,
                "docket_no": DOCKET_NEW_HAVEN,
                "search_town": "New Haven",
                "county": "New Haven",
                "case_name": "SECOND TRUST v. ROE, JANE",
                "property_street": "400 Chapel Street",
                "file_date": today - timedelta(days=60),
                "judgment_type": "sale",
                "sale_date": today + timedelta(days=20),
                "is_active": False,
                "disposition": "Judgment of foreclosure by sale",
            },
            {
                **base,
                "docket_no": DOCKET_OLD,
                "search_town": "Hartford",
                "county": "Hartford",
                "case_name": "THIRD LENDER v. POE, EDGAR",
                "property_street": "7 Oak Avenue",
                "file_date": date(2019, 5, 1),
                "is_active": True,
            },
        ],
    )
    seen = {"first_seen": now, "last_seen": now}
    _insert(
        conn,
        db.parties,
        [
            {
                **seen,
                "id": 1,
                "docket_no": DOCKET_HARTFORD,
                "party_no": "P-01",
                "role": "P",
                "category": "Plaintiff",
                "name": "FIRST BANK",
            },
            {
                **seen,
                "id": 2,
                "docket_no": DOCKET_HARTFORD,
                "party_no": "D-01",
                "role": "D",
                "category": "Defendant",
                "name": XSS_NAME,
            },
            {
                **seen,
                "id": 3,
                "docket_no": DOCKET_NEW_HAVEN,
                "party_no": "D-01",
                "role": "D",
                "category": "Defendant",
                "name": FORMULA_NAME,
            },
            {
                **seen,
                "id": 4,
                "docket_no": DOCKET_OLD,
                "party_no": "D-01",
                "role": "D",
                "category": "Defendant",
                "name": "POE, EDGAR",
            },
        ],
    )
    _insert(
        conn,
        db.docket_entries,
        [
            {
                **seen,
                "docket_no": DOCKET_HARTFORD,
                "entry_key": "100.30|x|Summons",
                "seq": 1,
                "entry_no": "100.30",
                "file_date": today - timedelta(days=3),
                "description": "SUMMONS",
            },
            {
                **seen,
                "docket_no": DOCKET_HARTFORD,
                "entry_key": "101.00|x|Complaint",
                "seq": 2,
                "entry_no": "101.00",
                "file_date": today - timedelta(days=3),
                "description": "COMPLAINT",
            },
        ],
    )
    _insert(
        conn,
        db.court_dates,
        [
            {
                **seen,
                "docket_no": DOCKET_HARTFORD,
                "date_key": "k1",
                "court_date": today + timedelta(days=10),
                "court_time": "9:30 AM",
                "description": "Foreclosure mediation",
            }
        ],
    )
    _insert(
        conn,
        db.case_changes,
        [
            {
                "docket_no": DOCKET_HARTFORD,
                "kind": "law_day",
                "field": "law_day",
                "old_value": None,
                "new_value": "2026-12-04",
                "seen_at": now,
                "crawl_id": 1,
            }
        ],
    )
    _insert(
        conn,
        db.skiptrace_ledger,
        [
            {
                "id": 1,
                "at": now,
                "triggered_by": "manager@example.org",
                "records_sent": 2,
                "records_matched": 1,
                "cost": Decimal("0.2500"),
                "sandbox": False,
                "status": "ok",
            },
            {
                "id": 2,
                "at": now,
                "triggered_by": "cli",
                "records_sent": 1,
                "records_matched": 1,
                "cost": Decimal("0"),
                "sandbox": True,
                "status": "ok",
            },
        ],
    )
    _insert(
        conn,
        db.skiptrace_results,
        [
            {
                "id": 1,
                "party_id": 2,
                "person_key": "k2",
                "status": "matched",
                "persons": [],
                "sandbox": False,
                "ledger_id": 1,
                "fetched_at": now,
            },
            {
                "id": 2,
                "party_id": 3,
                "person_key": "k3",
                "status": "matched",
                "persons": [],
                "sandbox": True,
                "ledger_id": 2,
                "fetched_at": now,
            },
        ],
    )
    _insert(
        conn,
        db.skiptrace_phones,
        [
            {
                "result_id": 1,
                "number": PHONE_OK,
                "type": "Mobile",
                "dnc": False,
                "tcpa": False,
                "rank": 1,
            },
            {
                "result_id": 1,
                "number": PHONE_DNC,
                "type": "Land Line",
                "dnc": True,
                "tcpa": False,
                "rank": 2,
            },
            {
                "result_id": 2,
                "number": PHONE_SANDBOX,
                "type": "Mobile",
                "dnc": False,
                "tcpa": False,
                "rank": 1,
            },
        ],
    )
    _insert(conn, db.skiptrace_emails, [{"result_id": 1, "email": EMAIL, "rank": 1}])
    # the parties and phones went in by plain inserts, around the store that keeps
    # the cases' search text and phones flag
    case_store.refresh_search_text(conn)
    store.refresh_has_phones(conn)
    for role, email in EMAILS.items():
        user_service.create_user(conn, email, PASSWORD, role, actor="test")
    _enrol(conn, EMAILS["admin"], ADMIN_TOTP_SECRET)
    return {}


def _enrol(conn, email: str, secret: str) -> None:
    """Give a user a second factor with a known secret (admins must have one),
    confirmed with a code of a minute ago so that the current codes stay unused."""
    user_id = user_service.find_active_user(conn, email).id
    second_factor.start_enrolment(conn, user_id, SECRET_KEY, secret)
    earlier = datetime.now(UTC) - timedelta(seconds=90)
    code = pyotp.TOTP(secret).at(earlier)
    second_factor.confirm_enrolment(
        conn, user_id, code, SECRET_KEY, actor="test", now=earlier
    )


@pytest.fixture
def seeded_db_url(migrated_db_url):
    """A migrated database (SQLite, then PostgreSQL) holding the seed data."""
    engine = db.make_engine(migrated_db_url)
    try:
        with engine.begin() as conn:
            _seed(conn)
            if engine.dialect.name == "postgresql":
                # explicit ids above leave the sequences behind
                for table in (
                    "crawl_runs",
                    "parties",
                    "skiptrace_ledger",
                    "skiptrace_results",
                ):
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
    finally:
        engine.dispose()
    return migrated_db_url


@pytest.fixture
def app(seeded_db_url):
    from webui import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": seeded_db_url,
            "CTJUD_BASE_URL": "http://127.0.0.1:9/jud",
        }
    )
    yield app
    app.extensions["ctforeclosure_engine"].dispose()


def csrf_token(client, path: str = "/auth/login") -> str:
    """Return a CSRF token from a page's form."""
    match = CSRF_RE.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, role: str):
    """Sign in as the seeded user with this role (the admin answers the second
    step with a code of its authenticator); return the last response."""
    token = csrf_token(client)
    response = client.post(
        "/auth/login",
        data={"email": EMAILS[role], "password": PASSWORD, "csrf_token": token},
    )
    return answer_code_step(client, response)


def answer_code_step(client, response, **request_options):
    """Answer the sign-in's second step with the seeded admin's next unused code
    when ``response`` sends there; return the last response."""
    if not response.location or not response.location.endswith(CODE_STEP):
        return response
    return client.post(
        CODE_STEP,
        data={
            "code": admin_code(client.application),
            "csrf_token": csrf_token(client, CODE_STEP),
        },
        **request_options,
    )


def admin_code(app) -> str:
    """Return the seeded admin's next unused code."""
    return next_code(app, EMAILS["admin"], ADMIN_TOTP_SECRET)


def next_code(app, email: str, secret: str) -> str:
    """Return the next code of this user's authenticator that the account has not
    used: a code works once, so a second sign-in within the same 30 seconds takes
    the next step's code (the server accepts one step ahead)."""
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        last = conn.execute(
            sa.select(db.users.c.totp_last_step).where(db.users.c.email == email)
        ).scalar()
    now = int(time.time()) // 30
    step = max(now, (last or 0) + 1)
    assert step <= now + 1, "more than two sign-ins of one user within 30 seconds"
    return pyotp.TOTP(secret).at(step * 30)


@pytest.fixture
def mail(app):
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives, set
    as the app's mail server, with a public address for the links."""
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(message_from_bytes(envelope.content, policy=default))
            return "250 OK"

        def wait_for(self, count: int, timeout: float = 10.0) -> list:
            """Return the messages once ``count`` have arrived."""
            deadline = time.monotonic() + timeout
            while len(self.messages) < count and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(self.messages) >= count, self.messages
            return self.messages

    inbox = Inbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config["ALERT_CHANNELS"] = AlertChannels(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        email_from="ctforeclosure@example.org",
    )
    app.config["BASE_URL"] = "http://ctf.example.org"
    yield inbox
    controller.stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def as_role(app):
    """Return a function giving a test client signed in with a role."""

    def make(role: str):
        c = app.test_client()
        response = login(c, role)
        assert response.status_code == 302, response.get_data(as_text=True)
        return c

    return make


def api_token(app, role: str, scopes=None) -> str:
    """Issue a token for the seeded user with this role: with ``scopes``, or every
    scope the role allows."""
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        return token_service.issue_token(
            conn,
            EMAILS[role],
            "test",
            actor="test",
            scopes=scopes or token_service.ROLE_SCOPES[role],
        ).secret


def save_search(
    app, owner: str, name: str, query: dict, shared=False, list_="cases", at=None
) -> int:
    """Store a saved search of ``owner`` (a role) as if saved at ``at`` (now);
    return its id."""
    at = at or datetime.now(UTC)
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        owner_id = conn.execute(
            sa.select(db.users.c.id).where(db.users.c.email == EMAILS[owner])
        ).scalar_one()
        row = {
            "owner_id": owner_id,
            "name": name,
            "list": list_,
            "query": query,
            "shared": shared,
            "created_at": at,
            "updated_at": at,
        }
        inserted = conn.execute(db.saved_searches.insert().values(**row))
        return inserted.inserted_primary_key[0]


@pytest.fixture(scope="module")
def frozen_node(tmp_path_factory):
    """A scrapyd node with the project deployed that polls its queue once an hour."""
    root = tmp_path_factory.mktemp("webui-scrapyd")
    with scrapyd_cluster.pending_only_node(root / "node", "webui1") as node:
        yield node


@pytest.fixture
def scrapyd_env(frozen_node, monkeypatch):
    monkeypatch.setenv("SCRAPYD_NODES", frozen_node.url)
    monkeypatch.setenv("SCRAPYD_USERNAME", scrapyd_cluster.USERNAME)
    monkeypatch.setenv("SCRAPYD_PASSWORD", scrapyd_cluster.PASSWORD)
    return frozen_node
