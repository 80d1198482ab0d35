"""Benchmark the sales spider against the replica with its politeness rules on.

Starts the offline replica (``python -m tests.replica``, its own process) with
``--cases`` cases, migrates a throw-away SQLite database (or ``--database-url``),
then runs ``scrapy crawl sales`` twice with the project's default politeness
(DOWNLOAD_DELAY, AutoThrottle, robots.txt obeyed), as the daily routine would:

1. a full crawl into the empty database: its elapsed time against the bound the
   politeness settings allow for the requests it needed, computed as the cases
   bench computes it (``requests x DOWNLOAD_DELAY``; the sales site has no NoBot
   postbacks, so that is the whole bound). Target (issue 17): within 1.1x;
2. the daily re-crawl with nothing changed: how many notice pages it read.
   Target: none (only the index and the town lists).

    python bench/sales_bench.py --cases 3000

Results go to BENCHMARKS.md (machine and date); nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cases_bench import free_port, start_replica, stats
from floor import Ratio, machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PYTHON = Path(sys.executable)
SCRAPY = PYTHON.with_name("scrapy")
CTF = PYTHON.with_name("ctforeclosure")
#: Target (issue 17): the full crawl within 1.1x the politeness bound.
POLITE_TARGET = 1.1


def crawl(env: dict, extra: list[str]) -> dict:
    """Run one sales crawl; return its Scrapy stats."""
    command = [str(SCRAPY), "crawl", "sales", "-s", "SITE_BUDGET_ENABLED=False"]
    for setting in extra:
        command += ["-s", setting]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    log = result.stdout + result.stderr
    if result.returncode != 0 or "Dumping Scrapy stats" not in log:
        raise SystemExit(log[-5000:])
    return stats(log)


def bound(requests: int, extra: list[str]) -> float:
    """Return requests x DOWNLOAD_DELAY: what the politeness rules allow at best."""
    from ctforeclosure import settings as defaults

    delay = defaults.DOWNLOAD_DELAY
    for item in extra:
        name, _, value = item.partition("=")
        if name == "DOWNLOAD_DELAY":
            delay = float(value)
    return requests * delay


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    print(machine(), flush=True)
    port = free_port()
    replica = start_replica(args.cases, port, fast=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db_url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
            env = {
                **os.environ,
                "CTJUD_SALES_BASE_URL": f"http://127.0.0.1:{port}"
                "/sales/foreclosures/Public",
                "DATABASE_URL": db_url,
                "CTF_DATA_DIR": tmp,
                "CONTACT": os.environ.get("CONTACT", "bench <bench@example.org>"),
            }
            subprocess.run([str(CTF), "db", "upgrade"], env=env, check=True, cwd=ROOT)
            first = crawl(env, args.set)
            requests = first["downloader/request_count"]
            elapsed = first["elapsed_time_seconds"]
            print(f"cases in replica: {args.cases}")
            print(f"sales stored: {first.get('item_scraped_count', 0)}")
            print(f"requests (robots.txt, index, lists, notices): {requests}")
            polite = Ratio(
                "full crawl vs politeness bound",
                elapsed,
                bound(requests, args.set),
                "s",
                POLITE_TARGET,
            )
            print(polite)
            again = crawl(env, args.set)
            notices = again.get("ctf/sales/list_only", 0)
            print(
                f"daily re-crawl: {again['downloader/request_count']} requests, "
                f"{notices} sales from their list rows, notice pages read: "
                f"{again.get('item_scraped_count', 0) - notices}; "
                f"{again['elapsed_time_seconds']:.1f} s"
            )
    finally:
        replica.kill()
        replica.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
