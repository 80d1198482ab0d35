"""Benchmark: exporting every case as CSV and XLSX from the real web UI (issue 26).

1. Create a throw-away PostgreSQL database, migrate it and fill it by COPY with
   ``--cases`` cases (``webui_bench.fill``: two parties each, a plaintiff and one
   defendant, no docket entries; skip-trace phones for one defendant in 50).
2. Serve it with ``ctforeclosure web`` in its own process; sign in as a manager.
3. Download ``/exports/cases.csv`` and ``/exports/cases.xlsx`` once each: the time
   from sending to the last byte, the data rows received, and the peak resident
   memory (``VmHWM``) of the worker processes before and after (its growth is what
   the export cost in memory).
4. The floor (issue 23): PostgreSQL writing the same rows as CSV by itself
   (``COPY (SELECT ... cases joined to their defendants) TO STDOUT``, read by
   psycopg), timed in the same run. Each export is reported against it.

    python bench/export_bench.py                 # 150,000 cases
    python bench/export_bench.py --cases 20000
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
import zipfile
from pathlib import Path

import requests
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from floor import Ratio, load, machine  # noqa: E402
from webui_bench import (  # noqa: E402
    PASSWORD,
    PG_ADMIN,
    fill,
    free_port,
    signed_in,
    start_server,
)

from ctforeclosure import db, migrate  # noqa: E402
from ctforeclosure.services import users as user_service  # noqa: E402
from tests.conftest import throwaway_database  # noqa: E402

EMAIL = "bench@example.org"
#: The rows of an export, as PostgreSQL alone would write them (the floor).
FLOOR_QUERY = (
    "COPY (SELECT c.docket_no, c.search_town, c.county, c.case_name, "
    "c.property_street, c.file_date, c.judgment_type, c.law_day, c.sale_date, "
    "c.is_active, c.disposition, string_agg(p.name, '; ' ORDER BY p.party_no) "
    "FROM cases c LEFT JOIN parties p ON p.docket_no = c.docket_no AND p.role = 'D' "
    "GROUP BY c.docket_no ORDER BY c.file_date DESC NULLS LAST, c.docket_no) "
    "TO STDOUT (FORMAT csv)"
)


def peaks(server_pid: int) -> dict[int, int]:
    """Return each worker's peak resident memory (VmHWM, kB)."""
    task = Path(f"/proc/{server_pid}/task/{server_pid}/children")
    out = {}
    for pid in task.read_text().split():
        status = Path(f"/proc/{pid}/status").read_text()
        out[int(pid)] = int(status.split("VmHWM:")[1].split()[0])
    return out


def download(base: str, session: requests.Session, fmt: str, pid: int) -> dict:
    """Download one export; return seconds, rows, bytes and memory growth (MB)."""
    before = peaks(pid)
    began = time.perf_counter()
    body = io.BytesIO()
    with session.get(f"{base}/exports/cases.{fmt}", stream=True, timeout=900) as r:
        r.raise_for_status()
        for piece in r.iter_content(256 * 1024):
            body.write(piece)
    seconds = time.perf_counter() - began
    growth = max(kb - before.get(p, kb) for p, kb in peaks(pid).items()) / 1024
    if fmt == "csv":
        rows = sum(1 for _ in csv.reader(io.StringIO(body.getvalue().decode()))) - 1
    else:
        with zipfile.ZipFile(body) as archive:
            sheet = archive.read("xl/worksheets/sheet1.xml")
        rows = sheet.count(b"<row ") - 1
    return {"seconds": seconds, "rows": rows, "bytes": body.tell(), "growth": growth}


def copy_floor(url: str) -> float:
    """Return the seconds PostgreSQL takes to write the export's rows as CSV."""
    import psycopg

    dsn = sa.make_url(url).set(drivername="postgresql")
    with psycopg.connect(dsn.render_as_string(hide_password=False)) as conn:
        began = time.perf_counter()
        with conn.cursor().copy(FLOOR_QUERY) as copy:
            for _block in copy:
                pass
        return time.perf_counter() - began


def measure(url: str, args: argparse.Namespace) -> None:
    migrate.upgrade(url)
    began = time.monotonic()
    fill(url, args.cases, 2, 0, args.seed)
    engine = db.make_engine(url)
    with engine.begin() as conn:
        user_service.create_user(conn, EMAIL, PASSWORD, "manager", actor="bench")
    engine.dispose()
    print(f"{args.cases:,} cases loaded in {time.monotonic() - began:.0f} s")
    port = free_port()
    server = start_server(url, port, None, None)
    try:
        base = f"http://127.0.0.1:{port}"
        session = signed_in(base, EMAIL)
        results = {fmt: download(base, session, fmt, server.pid) for fmt in args.fmt}
    finally:
        server.terminate()
        server.wait(timeout=30)
    floor = copy_floor(url)
    print(f"floor: PostgreSQL's own COPY of the rows as CSV: {floor:.2f} s")
    for fmt, r in results.items():
        rate = r["rows"] / r["seconds"]
        print(
            f"{fmt}: {r['rows']:,} rows, {r['bytes'] / 1e6:.1f} MB in "
            f"{r['seconds']:.1f} s ({rate:,.0f} rows/s); worker peak memory grew "
            f"{r['growth']:.1f} MB"
        )
        print(f"{fmt}: {Ratio('export time', r['seconds'], floor, 's')}")
    print(f"load average after: {load()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=150_000)
    ap.add_argument("--fmt", nargs="+", default=["csv", "xlsx"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pg-admin-url", default=PG_ADMIN)
    args = ap.parse_args()
    print(machine(), flush=True)
    # the tests' throw-away database: created here, dropped after, connections and all
    with throwaway_database(args.pg_admin_url, prefix="ctf_export_bench") as url:
        measure(url, args)


if __name__ == "__main__":
    main()
