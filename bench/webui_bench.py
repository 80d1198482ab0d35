"""Benchmark: the web UI's filtered cases list and case page under concurrent load.

Target (issue 8): PostgreSQL with 200,000 cases (about 1M parties, 4M docket
entries); the filtered cases list and the case page under 20 concurrent clients for
60 s: p95 < 100 ms, zero errors.

1. Create a throw-away PostgreSQL database, migrate it (so it has migrations 0003-4's
   indexes) and fill it with fake data by COPY: cases spread over the 169 towns,
   ``--parties`` parties and ``--entries`` docket entries per case, court dates,
   changes and skip-trace results for a tenth of the cases. ANALYZE.
2. Serve the app as production does: ``ctforeclosure web`` (gunicorn, a worker
   process per core, ``--threads`` each) in its own process.
3. ``--clients`` threads, each signed in as a manager with its own session, loop for
   ``--seconds``: a filtered list (town, county + status, judgment type + file-date
   range, party-name search (a surname drawn as the fake data's surnames are: 3,000
   of them, the commonest ~0.5%), address search, has-phones, law-day sort; and the
   outreach lists: lead status + assignee sorted by priority, assignee + tag by
   priority, a town by priority (a tenth of the cases are leads); random page 1-3)
   or a case page (random docket), half and half; and one request in
   ``FLOOR_SHARE`` is the floor, ``GET /auth/whoami``: an authenticated route that
   does no query beyond the session's user load, so what it costs is the stack's
   own (gunicorn, Flask, the session, the user's load). Latency is the wall time
   from sending to reading the whole body; any non-200 is an error.
4. Report, per request kind, p50/p95 and requests/s, and each kind's cost against
   the floor measured in the same run under the same load (issue 23): its p95 ÷ the
   floor's p95 (target: every list and the case page within 3x at 20 clients on
   200,000 cases), and the floor's requests/s ÷ its own, each as clients ÷ mean
   latency (what the clients would get doing only that kind).

    python bench/webui_bench.py                          # full size
    python bench/webui_bench.py --cases 20000 --seconds 20
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

import requests
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from floor import Ratio, load, machine, pct  # noqa: E402

from ctforeclosure import db, migrate, towns  # noqa: E402
from ctforeclosure.services import users as user_service  # noqa: E402
from ctforeclosure.store import cases as case_store  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench password long enough"  # noqa: S105 -- a throw-away user
#: Each client identifies itself as a browser does: the same User-Agent at sign-in
#: and after. (Flask-Login's session protection compares it with the sign-in's.)
USER_AGENT = "ctforeclosure-webui-bench/1 (a browser's stand-in)"
#: The share of requests that are the floor (``/auth/whoami``): enough for its p95.
FLOOR_SHARE = 0.1
#: Target (issue 23): each list kind's and the case page's p95 within 3x the floor's.
P95_TARGET = 3.0
FIRST = (
    "JOHN",
    "MARY",
    "ROBERT",
    "LINDA",
    "JAMES",
    "SUSAN",
    "MICHAEL",
    "KAREN",
    "DAVID",
    "NANCY",
    "JOSEPH",
    "LISA",
    "THOMAS",
    "BETTY",
    "CHARLES",
    "SANDRA",
)
LAST = (
    "SMITH",
    "JOHNSON",
    "WILLIAMS",
    "BROWN",
    "JONES",
    "GARCIA",
    "MILLER",
    "DAVIS",
    "RODRIGUEZ",
    "MARTINEZ",
    "HERNANDEZ",
    "LOPEZ",
    "GONZALEZ",
    "WILSON",
    "ANDERSON",
    "THOMAS",
    "TAYLOR",
    "MOORE",
    "JACKSON",
    "MARTIN",
    "LEE",
    "PEREZ",
    "THOMPSON",
    "WHITE",
    "HARRIS",
    "SANCHEZ",
    "CLARK",
    "RAMIREZ",
    "LEWIS",
    "ROBINSON",
)
STREETS = (
    "MAIN",
    "ELM",
    "OAK",
    "PARK",
    "MAPLE",
    "CEDAR",
    "PINE",
    "WASHINGTON",
    "LAKE",
    "HILL",
    "CHURCH",
    "HIGH",
    "SCHOOL",
    "CENTER",
    "RIVER",
    "SPRING",
)
SUFFIXES = ("STREET", "AVENUE", "ROAD", "LANE", "DRIVE", "COURT")
LENDERS = (
    "FIRST BANK",
    "SECOND TRUST",
    "HOMESTEAD MORTGAGE",
    "RIVER SAVINGS",
    "NUTMEG CREDIT UNION",
    "HARBOR LOAN SERVICING",
)
ENTRIES = (
    "SUMMONS",
    "COMPLAINT",
    "APPEARANCE",
    "MOTION FOR DEFAULT",
    "ORDER",
    "MOTION FOR JUDGMENT OF STRICT FORECLOSURE",
    "AFFIDAVIT OF DEBT",
    "APPRAISAL",
    "NOTICE OF LAW DAY",
    "RETURN OF SERVICE",
)
LOCATIONS = ("HHD", "NNH", "FST", "KNL", "TTD", "LLI", "WWM", "UWY", "MMX", "HHB")


SYLLABLES = (
    "AL",
    "BER",
    "CAR",
    "DEN",
    "EL",
    "FOR",
    "GAR",
    "HAL",
    "IN",
    "JOR",
    "KEL",
    "LAN",
    "MOR",
    "NOR",
    "OL",
    "PER",
    "QUIN",
    "ROS",
    "SAN",
    "TOR",
    "UL",
    "VAN",
    "WES",
    "YOR",
    "ZIM",
    "TON",
    "SON",
    "LEY",
    "MAN",
    "RICK",
)


def surname_pool(rng: random.Random, size: int = 3000) -> tuple[list[str], list[float]]:
    """Return fake surnames and weights shaped like real ones (the commonest ~0.5%).

    Weight 1/(rank + 50): a long tail, and no surname shared by more than ~0.5% of
    people, as with real US surnames (the commonest, SMITH, is ~0.8%).
    """
    names: set[str] = set(LAST)
    while len(names) < size:
        parts = rng.randint(2, 3)
        names.add("".join(rng.choice(SYLLABLES) for _ in range(parts)))
    ordered = sorted(names)
    rng.shuffle(ordered)
    return ordered, [1 / (rank + 50) for rank in range(len(ordered))]


SURNAMES, SURNAME_WEIGHTS = surname_pool(random.Random(7))


TOWNS_AND_COUNTIES = [(t.name, t.county) for t in towns.all_towns()]


def surname(rng: random.Random) -> str:
    return rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]


def docket(i: int) -> str:
    """Return a valid compact docket number, unique per i."""
    return f"{LOCATIONS[i % 10]}CV{15 + (i // 10) % 11:02d}{i:07d}S"


def fill(url: str, n_cases: int, parties_per: int, entries_per: int, seed: int):
    """COPY fake cases and their children into the database; return dockets."""
    import psycopg

    rng = random.Random(seed)
    raw = sa.make_url(url).set(drivername="postgresql")
    dsn = raw.render_as_string(hide_password=False)
    dockets_out = [docket(i) for i in range(n_cases)]
    stamp = _Stamp(now=datetime.now(UTC), today=date.today())
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO crawl_runs (spider, args, started_at, status, items_scraped, "
            "items_stored, items_dropped, items_spooled, requests, errors, "
            "robots_overridden, town_counts, checks, notes) VALUES ('cases', '{}', "
            "now(), 'finished', 0, 0, 0, 0, 0, '{}', false, '{}', '[]', '[]')"
        )
        # One generator drawn in this order, so a seed always gives the same data.
        _copy_cases(cur, rng, dockets_out, stamp)
        _copy_parties(cur, rng, dockets_out, parties_per, stamp)
        _copy_docket_entries(cur, rng, dockets_out, entries_per, stamp)
        _copy_court_dates_and_changes(cur, rng, dockets_out, stamp)
        _add_skiptrace_results(cur)
        _add_leads(cur)
        conn.commit()
        # what the store does when it writes cases (migration 0011's search text);
        # these rows went in around it
        engine = db.make_engine(url)
        with engine.begin() as sa_conn:
            case_store.refresh_search_text(sa_conn)
        engine.dispose()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    return dockets_out


class _Stamp(NamedTuple):
    """The load's clock: rows are seen now, dates fall around today."""

    now: datetime
    today: date


def _case_row(rng: random.Random, docket_no: str, stamp: _Stamp) -> tuple:
    """Return one fake case row, in a town drawn as cases are spread in life."""
    weighted = TOWNS_AND_COUNTIES
    today = stamp.today
    # a few big towns get most cases, as in life
    town, county = weighted[
        min(int(rng.paretovariate(1.2)) - 1, len(weighted) - 1)
        if rng.random() < 0.5
        else rng.randrange(len(weighted))
    ]
    name = f"{rng.choice(LENDERS)} v. {surname(rng)}, {rng.choice(FIRST)}"
    jt = rng.choice(("strict", "sale", None, None))
    filed = today - timedelta(days=rng.randrange(0, 3650))
    street = f"{rng.randrange(1, 999)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}"
    law_day = (
        today + timedelta(days=rng.randrange(-400, 120)) if jt == "strict" else None
    )
    sale_date = (
        today + timedelta(days=rng.randrange(-400, 120)) if jt == "sale" else None
    )
    active = rng.random() < 0.6
    return (
        *(docket_no, town, county, name, name + " Et Al", street, town, filed, jt),
        *(law_day, sale_date, active, "[]", True, stamp.now, stamp.now, stamp.now),
    )


def _copy_cases(cur, rng: random.Random, dockets_out: list[str], stamp: _Stamp):
    with cur.copy(
        "COPY cases (docket_no, search_town, county, case_name, caption, "
        "property_street, property_town, file_date, judgment_type, law_day, "
        "sale_date, is_active, flags, listed, first_seen, last_seen, last_changed)"
        " FROM STDIN"
    ) as copy:
        for d in dockets_out:
            copy.write_row(_case_row(rng, d, stamp))


def _copy_parties(cur, rng, dockets_out: list[str], parties_per: int, stamp: _Stamp):
    now = stamp.now
    with cur.copy(
        "COPY parties (docket_no, party_no, role, category, name, non_appearing, "
        "appearances, first_seen, last_seen) FROM STDIN"
    ) as copy:
        for d in dockets_out:
            lender = rng.choice(LENDERS)
            copy.write_row((d, "P-01", "P", "Plaintiff", lender, False, "[]", now, now))
            for k in range(1, parties_per):
                name = f"{surname(rng)}, {rng.choice(FIRST)}"
                absent = rng.random() < 0.3
                copy.write_row(
                    (d, f"D-{k:02d}", "D", "Defendant", name, absent, "[]", now, now)
                )


def _copy_docket_entries(cur, rng, dockets_out, entries_per: int, stamp: _Stamp):
    now = stamp.now
    with cur.copy(
        "COPY docket_entries (docket_no, entry_key, seq, entry_no, file_date, "
        "description, first_seen, last_seen) FROM STDIN"
    ) as copy:
        for d in dockets_out:
            start = stamp.today - timedelta(days=rng.randrange(30, 3650))
            for k in range(entries_per):
                desc = ENTRIES[k % len(ENTRIES)]
                copy.write_row(
                    (
                        d,
                        f"{100 + k}.00|{k}|{desc}",
                        k,
                        f"{100 + k}.00",
                        start + timedelta(days=k * 7),
                        desc,
                        now,
                        now,
                    )
                )


def _copy_court_dates_and_changes(cur, rng, dockets_out, stamp: _Stamp):
    now = stamp.now
    with cur.copy(
        "COPY court_dates (docket_no, date_key, court_date, description, "
        "first_seen, last_seen) FROM STDIN"
    ) as copy:
        for d in dockets_out:
            when = stamp.today + timedelta(days=rng.randrange(-200, 90))
            copy.write_row((d, f"{when}|mediation", when, "Mediation", now, now))
    with cur.copy(
        "COPY case_changes (docket_no, kind, field, new_value, seen_at) FROM STDIN"
    ) as copy:
        for d in dockets_out:
            copy.write_row((d, "new_case", None, None, now))
            copy.write_row((d, "docket_entry_added", "entries", '"ORDER"', now))


def _add_skiptrace_results(cur) -> None:
    """Give one defendant in 50 a matched result with a phone."""
    cur.execute(
        "INSERT INTO skiptrace_ledger (at, triggered_by, records_sent, "
        "records_matched, cost, sandbox, status) VALUES "
        "(now(), 'bench', 0, 0, 0, false, 'ok') RETURNING id"
    )
    ledger_id = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO skiptrace_results (party_id, person_key, status, persons, "
        "sandbox, ledger_id, fetched_at) SELECT id, md5(name), 'matched', '[]', "
        "false, %s, now() FROM parties WHERE party_no = 'D-01' AND id %% 50 = 2",
        (ledger_id,),
    )
    cur.execute(
        "INSERT INTO skiptrace_phones (result_id, number, type, dnc, tcpa, rank) "
        "SELECT id, '+1860555' || lpad((id % 10000)::text, 4, '0'), 'Mobile', "
        "id % 7 = 0, false, 1 FROM skiptrace_results"
    )
    # what the skip-trace store does when it stores phones (migration 0005's
    # flag); these rows went in around it
    cur.execute(
        "UPDATE cases SET has_phones = true WHERE docket_no IN (SELECT p.docket_no "
        "FROM parties p JOIN skiptrace_results r ON r.party_id = p.id "
        "JOIN skiptrace_phones ph ON ph.result_id = r.id)"
    )


#: Staff whose leads the outreach lists filter by (issue 19); a tenth of the
#: cases are leads, each with a status and, mostly, one of them as assignee.
STAFF = tuple(f"staff{n}@example.org" for n in range(1, 5))
LEAD_STATUSES = ("New", "Researching", "Contacting", "Appointment set", "Won")


def _add_leads(cur) -> None:
    """Give a tenth of the cases a lead (migration 0015's tables) and a tag."""
    for email in STAFF:
        cur.execute(
            "INSERT INTO users (email, password_hash, role, active, created_at) "
            "VALUES (%s, 'x', 'manager', true, now())",
            (email,),
        )
    cur.execute(
        "INSERT INTO leads (docket_no, status_id, assignee_id, follow_up, "
        "updated_at, updated_by) "
        "SELECT c.docket_no, 1 + abs(hashtext(c.docket_no)) % 5, "
        "(SELECT id FROM users WHERE email = 'staff' || "
        "(1 + abs(hashtext(c.docket_no || 'a')) % 4) || '@example.org'), "
        "current_date + abs(hashtext(c.docket_no || 'f')) % 30 - 10, now(), 'bench' "
        "FROM cases c WHERE abs(hashtext(c.docket_no)) % 10 = 0"
    )
    cur.execute(
        "INSERT INTO lead_tags (docket_no, tag) SELECT docket_no, 'callback' "
        "FROM leads WHERE abs(hashtext(docket_no || 't')) % 3 = 0"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    url: str, port: int, threads: int | None, workers: int | None
) -> subprocess.Popen:
    # The server's environment: this one, plus the bench database and a throw-away
    # session key (the web UI reads both through ctforeclosure.config).
    env = dict(os.environ, DATABASE_URL=url, CTF_SECRET_KEY=uuid.uuid4().hex)
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "ctforeclosure"),
            "web",
            "--port",
            str(port),
            *(["--threads", str(threads)] if threads else []),
            *(["--workers", str(workers)] if workers else []),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the web UI did not start")


def _session_cookie(response: requests.Response) -> str:
    return "session=" + re.search(r"session=([^;]+)", response.headers["Set-Cookie"])[1]


def signed_in(base: str, email: str) -> requests.Session:
    """Return a session signed in (the Secure cookie is sent by hand over HTTP)."""
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    first = s.get(f"{base}/auth/login", timeout=30)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', first.text).group(1)
    s.cookies.clear()
    s.headers["Cookie"] = _session_cookie(first)
    r = s.post(
        f"{base}/auth/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 302, r.status_code
    s.cookies.clear()
    s.headers["Cookie"] = _session_cookie(r)
    return s


def list_urls(rng: random.Random, town_names: list[str]) -> tuple[str, str]:
    page = rng.choice((1, 1, 2, 3))
    town = rng.choice(town_names)
    kind = rng.randrange(11)
    staff = rng.choice(STAFF)
    query = [
        f"town={town}",
        f"county={rng.choice(towns.counties())}&status=active",
        "judgment_type=strict&filed_from=2022-01-01&filed_to=2024-12-31",
        f"q={surname(rng).lower()}",
        f"q={rng.choice(STREETS).lower()}+{rng.choice(SUFFIXES).lower()}",
        f"town={town}&has_phones=1",
        "status=active&sort=law_day&order=asc",
        f"q={surname(rng).lower()}&town={town}",
        # the outreach lists (issue 19): by lead status and assignee, by priority
        f"lead_status={rng.choice(LEAD_STATUSES)}&assignee={staff}&sort=priority",
        f"assignee={staff}&tag=callback&sort=priority&order=desc",
        f"town={town}&sort=priority&order=desc",
    ][kind]
    return f"/cases/?{query}&page={page}", f"list:{kind}"


def _timed_get(conn: http.client.HTTPConnection, path: str, headers: dict):
    """GET a path; return the status, the body, the seconds from sending to reading
    the whole body, and the new session cookie the response set, if any."""
    t0 = time.perf_counter()
    conn.request("GET", quote(path, safe="/?&=+"), headers=headers)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - t0
    new_cookie = re.search(r"session=([^;]+)", response.getheader("Set-Cookie", ""))
    return response.status, body, elapsed, new_cookie[1] if new_cookie else None


def run_clients(base, sessions, dockets, seconds, seed):
    """Loop each signed-in client for ``seconds``; return latencies by kind, errors.

    Each client is one keep-alive ``http.client`` connection, as a browser holds
    one: ``requests`` costs more CPU per request, which the server under test then
    waited for (the load generator shares the machine).
    """
    town_names = [t.name for t in towns.all_towns()]
    host, port = base.removeprefix("http://").split(":")
    results: dict[str, list[float]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    cookies_set = [0]  # responses that changed the session cookie (racy count)

    def client(idx: int, session: requests.Session):
        rng = random.Random(seed + idx)
        headers = {"Cookie": session.headers["Cookie"], "User-Agent": USER_AGENT}
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        local: dict[str, list[float]] = {}
        while time.monotonic() < stop_at:
            draw = rng.random()
            if draw < FLOOR_SHARE:
                path, kind = "/auth/whoami", "floor"
            elif draw < FLOOR_SHARE + (1 - FLOOR_SHARE) / 2:
                path, kind = list_urls(rng, town_names)
            else:
                path, kind = f"/cases/{rng.choice(dockets)}", "case"
            try:
                status, body, elapsed, new_cookie = _timed_get(conn, path, headers)
                if new_cookie:  # keep the session's new cookie, as a browser does
                    headers["Cookie"] = f"session={new_cookie}"
                    cookies_set[0] += 1
                if status != 200 or not body:
                    with lock:
                        errors.append(f"{status} {path}")
                    continue
            except (OSError, http.client.HTTPException) as exc:
                conn.close()  # reconnects on the next request
                with lock:
                    errors.append(f"{type(exc).__name__} {path}")
                continue
            local.setdefault(kind, []).append(elapsed * 1000)
        conn.close()
        with lock:
            for k, v in local.items():
                results.setdefault(k, []).extend(v)

    threads = [
        threading.Thread(target=client, args=(i, s)) for i, s in enumerate(sessions)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"responses that set a new session cookie: {cookies_set[0]}")
    return results, errors


def main() -> None:
    args = _parse_args()
    print(machine(), flush=True)
    name = args.reuse or f"ctf_webui_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.pg_admin_url, isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = (
        sa.make_url(args.pg_admin_url)
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    try:
        dockets = _load(url, name, args)
        results, errors = _serve_and_measure(url, dockets, args)
    finally:
        if not (args.keep or args.reuse):
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    _report(results, errors, args)


def _parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=200_000)
    ap.add_argument("--parties", type=int, default=5)
    ap.add_argument("--entries", type=int, default=20)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument(
        "--threads", type=int, help="threads per worker (default: ctforeclosure web's)"
    )
    ap.add_argument(
        "--workers", type=int, help="worker processes (default: ctforeclosure web's)"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pg-admin-url", default=PG_ADMIN)
    ap.add_argument("--keep", action="store_true", help="keep the database")
    ap.add_argument(
        "--reuse", metavar="DB", help="use this already loaded database (kept)"
    )
    return ap.parse_args()


def _load(url: str, name: str, args: argparse.Namespace) -> list[str]:
    """Migrate and fill the database (or read a reused one's dockets)."""
    migrate.upgrade(url)
    t0 = time.monotonic()
    engine = db.make_engine(url)
    if args.reuse:
        with engine.connect() as conn:
            dockets = list(conn.execute(sa.select(db.cases.c.docket_no)).scalars())
    else:
        dockets = fill(url, args.cases, args.parties, args.entries, args.seed)
        with engine.begin() as conn:
            user_service.create_user(
                conn, "bench@example.org", PASSWORD, "manager", actor="bench"
            )
    load_s = time.monotonic() - t0
    with engine.begin() as conn:
        counts = {
            t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("cases", "parties", "docket_entries", "skiptrace_phones")
        }
    engine.dispose()
    print(f"{name}: {counts}, loaded in {load_s:.0f} s (COPY, VACUUM ANALYZE)")
    return dockets


def _serve_and_measure(url: str, dockets: list[str], args: argparse.Namespace):
    """Serve the web UI and load it with the clients; return latencies, errors."""
    port = free_port()
    proc = start_server(url, port, args.threads, args.workers)
    try:
        base = f"http://127.0.0.1:{port}"
        sessions = [signed_in(base, "bench@example.org") for _ in range(args.clients)]
        # warm-up: a few requests of each kind, not measured
        run_clients(base, sessions[:2], dockets, 3, args.seed + 1000)
        return run_clients(base, sessions, dockets, args.seconds, args.seed)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _report(results: dict, errors: list[str], args: argparse.Namespace) -> None:
    """Print the load, a Markdown table of latencies per kind against the floor."""
    print(
        f"\n{args.cases:,} cases; {args.clients} clients x {args.seconds:.0f} s, "
        f"`ctforeclosure web` ({args.workers or 'default'} workers, "
        f"{args.threads or 'default'} threads each); load average after: {load()}"
    )
    print(
        "| request | n | req/s | p50 ms | p95 ms | p99 ms | max ms "
        "| p95 ÷ floor's | floor's req/s ÷ its |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    groups = dict(sorted(results.items()))
    groups["all lists"] = [
        v for k, vs in results.items() if k.startswith("list") for v in vs
    ]
    groups["all"] = [v for vs in results.values() for v in vs]
    floor = results.get("floor") or [float("nan")]
    ratios = []
    for kind, values in groups.items():
        if not values:
            continue
        p95 = Ratio(f"{kind} p95", pct(values, 95), pct(floor, 95), "ms", P95_TARGET)
        rate = statistics.mean(values) / statistics.mean(floor)
        print(
            f"| {kind} | {len(values)} | {len(values) / args.seconds:.1f} | "
            f"{statistics.median(values):.1f} | {p95.figure:.1f} | "
            f"{pct(values, 99):.1f} | {max(values):.1f} | {p95.ratio:.2f} | "
            f"{rate:.2f} |"
        )
        if kind.startswith("list:") or kind == "case":
            ratios.append(p95)
    print(f"errors: {len(errors)} {errors[:5]}")
    worst = max(ratios, key=lambda r: r.ratio)
    met = all(r.met for r in ratios)
    print(
        f"target: every list kind and the case page p95 <= {P95_TARGET:g}x the "
        f"floor's: {'met' if met else 'NOT met'}; the worst, {worst}"
    )


if __name__ == "__main__":
    main()
