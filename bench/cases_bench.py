"""Benchmark the cases spider: case pages fetched + parsed + stored per second.

Starts the offline replica (``python -m tests.replica --fast``, waitress, its own
process) with ``--cases`` cases over the 169 towns, migrates a throw-away SQLite
database (or ``--database-url``), then runs ``scrapy crawl cases -a town=all`` with
the politeness settings off (no download delay, no AutoThrottle, NoBot limits off)
and the pipelines on, as an operator would, and reads the crawl's own stats:

- case pages/s = ``ctf/cases/detail`` / ``elapsed_time_seconds`` (whole crawl,
  searches included);
- crawl CPU = user+system seconds of the crawl process alone (the replica runs in
  another process on the same cores, so the crawler's own cost is shown apart);
- peak RSS = Scrapy's ``memusage/max`` (the crawl process);
- the parse floor (issue 23): the same pages (each searched town's results pages,
  its search form, every case page the crawl stored), fetched again from the
  replica after the crawl and parsed in this process by the project's own parser
  functions (``ctforeclosure.parsers.judiciary``, as the spider calls them), CPU
  time only. Crawl CPU per case page against it; target: <= 2.5x.

``--polite`` is the site-bound run: the replica keeps its real NoBot timing and the
crawl its default politeness settings. Its bound is what the rules allow for the
requests the crawl needed: every request (redirects included) at most one per
DOWNLOAD_DELAY, and the P search postbacks at most NOBOT_MAX_POSTBACKS per
NOBOT_WINDOW, the first NOBOT_MIN_DELAY after its page:
``max(requests x DOWNLOAD_DELAY, NOBOT_MIN_DELAY + floor((P-1)/max) x window)``
is a floor no schedule beats; ``schedule_bound`` is the better one: the fastest
schedule those rules allow for the searches and case pages the crawl needed (one
request per DOWNLOAD_DELAY slot, one search session at a time as the site budget
leases them, form GET -> NOBOT_MIN_DELAY -> postback, at most NOBOT_MAX_POSTBACKS
postbacks in any NOBOT_WINDOW, a town's case pages only after its search, case
pages in every slot a search does not need, the towns with the most case pages
searched first). The crawl is compared with it.

    python bench/cases_bench.py --cases 5000 [--mode http|browser] [--towns 20]

Results go to BENCHMARKS.md (machine and date); nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from floor import Ratio, machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
#: Target (issue 23): crawl CPU per case page within 2.5x the parse floor's.
PARSE_TARGET = 2.5
PYTHON = Path(sys.executable)
SCRAPY = PYTHON.with_name("scrapy")
CTF = PYTHON.with_name("ctforeclosure")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_replica(cases: int, port: int, fast: bool) -> subprocess.Popen:
    command = [str(PYTHON), "-m", "tests.replica", "--port", str(port)]
    command += ["--cases", str(cases)]
    if fast:
        command.append("--fast")
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_replica/info", timeout=2)
            return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("replica did not start")


def stats(log: str) -> dict:
    dump = log.split("Dumping Scrapy stats:\n", 1)[1]
    text = dump.split("\n2", 1)[0]
    text = re.sub(r"datetime\.datetime\([^)]*\)", "None", text)
    return ast.literal_eval(text)


def site_bound(requests: int, postbacks: int, extra: list[str]) -> tuple[float, float]:
    """Return (requests x DOWNLOAD_DELAY, NoBot window bound) in seconds."""
    from ctforeclosure import settings as defaults

    values = {
        name: getattr(defaults, name)
        for name in ("DOWNLOAD_DELAY", "NOBOT_MIN_DELAY", "NOBOT_MAX_POSTBACKS")
    }
    values["NOBOT_WINDOW"] = defaults.NOBOT_WINDOW
    for item in extra:
        name, _, value = item.partition("=")
        if name in values:
            values[name] = float(value)
    by_rate = requests * values["DOWNLOAD_DELAY"]
    per = int(values["NOBOT_MAX_POSTBACKS"]) or postbacks or 1
    windows = max(postbacks - 1, 0) // per
    by_nobot = values["NOBOT_MIN_DELAY"] + windows * values["NOBOT_WINDOW"]
    return by_rate, by_nobot


def schedule_bound(
    case_requests: list[int],
    delay: float,
    think: float,
    window: float,
    max_postbacks: int,
    largest_first: bool = True,
) -> float:
    """Return the makespan of the fastest schedule the rules allow (seconds).

    ``case_requests``: per search (one results page each), the requests its case
    pages need (LoadDocket plus its redirect). Slot 0 is robots.txt. Searches run
    largest first (the best order) or, ``largest_first=False``, in the given one.
    """
    pending = sorted(case_requests, reverse=True) if largest_first else [*case_requests]
    postbacks: list[float] = []
    backlog = 0
    current: int | None = None
    stage, next_at, last, slot = "", 0.0, 0.0, 1
    while pending or current is not None or backlog:
        now = slot * delay
        if current is None and pending:
            current, stage, next_at = pending.pop(0), "form", now
        busy = False
        if current is not None and now >= next_at:
            if stage == "form":
                stage, next_at, busy = "post", now + think, True
            else:
                opens = 0.0
                if max_postbacks > 0 and len(postbacks) >= max_postbacks:
                    opens = postbacks[-max_postbacks] + window
                if now >= opens:
                    postbacks.append(now)
                    backlog += current
                    current, busy = None, True
                else:
                    next_at = opens
        if not busy and backlog:
            backlog -= 1
            busy = True
        if busy:
            last = now
        slot += 1
    return last + delay


def polite_schedule_bound(
    s: dict, extra: list[str], largest_first: bool = True
) -> float | None:
    """Return ``schedule_bound`` for a finished crawl's stats (None: multi-page).

    The stats list the searches by name (a first crawl's order; later crawls
    search the towns with the most stored cases first). The model is an estimate
    (case requests shared out by rows listed): the floor is the strict bound.
    """
    from ctforeclosure import settings as defaults

    values = {
        name: float(getattr(defaults, name))
        for name in (
            "DOWNLOAD_DELAY",
            "NOBOT_MIN_DELAY",
            "NOBOT_WINDOW",
            "NOBOT_MAX_POSTBACKS",
        )
    }
    for item in extra:
        name, _, value = item.partition("=")
        if name in values:
            values[name] = float(value)
    rows = {
        key.split("/")[2]: value
        for key, value in s.items()
        if key.startswith("ctf/town/") and key.endswith("/rows_parsed")
    }
    postbacks = s.get("downloader/request_method_count/POST", 0)
    if not rows or postbacks != len(rows):
        return None  # paging or refused postbacks: not modelled
    # Every request that is not robots.txt, a form GET or a postback is for a
    # case page; share them out over the searches by the rows each listed.
    cases = s.get("downloader/request_count", 0) - 1 - 2 * postbacks
    listed = sum(rows.values()) or 1
    per_search = [round(cases * n / listed) for n in rows.values()]
    return schedule_bound(
        per_search,
        values["DOWNLOAD_DELAY"],
        values["NOBOT_MIN_DELAY"],
        values["NOBOT_WINDOW"],
        int(values["NOBOT_MAX_POSTBACKS"]),
        largest_first,
    )


def fetch_pages(root: str, db_url: str, towns: list[str]) -> tuple[list, list]:
    """Fetch the crawl's pages again: (search pages, case pages), (url, body) each.

    Search pages: each town's form, its results page 1 and the pages its pager
    offers. Case pages: every case the crawl stored details of, through LoadDocket
    as the crawl reads it. Not timed: only their parsing is.
    """
    import sqlalchemy as sa
    from replica_bench import Conn, form, search_body

    from ctforeclosure import db

    port = int(root.rsplit(":", 1)[1])
    form_path = "/civilinquiry/PropertyAddressSearch.aspx"
    searches: list[tuple[str, str]] = []
    for town in towns:
        conn = Conn(port)
        _, page, _ = conn.request("GET", form_path)
        searches.append((root + form_path, page))
        _, page, _ = conn.request("POST", form_path, search_body(page, town))
        searches.append((root + form_path, page))
        for number in sorted(set(re.findall(r"Page\$(\d+)", page)), key=int):
            data = form(page) | {
                "__EVENTTARGET": "ctl00$ContentPlaceHolder1$gvPropertyResults",
                "__EVENTARGUMENT": f"Page${number}",
            }
            path = "/civilinquiry/PropertyAddressSearchResults.aspx"
            searches.append((root + path, conn.request("POST", path, data)[1]))
        conn.http.close()
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(db.cases.c.docket_no).where(
                db.cases.c.detail_fetched_at.is_not(None)
            )
        ).scalars()
        docket_list = list(stored)
    engine.dispose()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    cases = []
    for docket in docket_list:
        url = f"{root}/civilinquiry/LoadDocket.aspx?DocketNo={docket}"
        with opener.open(url, timeout=30) as reply:
            cases.append((reply.url, reply.read()))
    return searches, cases


def parse_floor(searches: list, cases: list) -> float:
    """Return the CPU seconds the project's parsers take over the pages."""
    from scrapy.http import HtmlResponse

    from ctforeclosure.parsers import judiciary as j

    def parse_all() -> None:
        for url, text in searches:
            response = HtmlResponse(url, body=text.encode(), encoding="utf-8")
            j.read_search_page(response, url=url)
        for url, body in cases:
            text = HtmlResponse(url, body=body, encoding="utf-8").text
            if j.page_kind(text) == "case" and not j.truncated(text):
                j.parse_case(text, url=url)

    parse_all()  # warm-up: imports and caches, not measured
    began = time.process_time()
    parse_all()
    return time.process_time() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--mode", choices=("http", "browser"), default="http")
    parser.add_argument("--towns", type=int, default=0, help="first N towns only")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--polite",
        action="store_true",
        help="site-bound run: replica with real NoBot timing, default politeness",
    )
    parser.add_argument(
        "--no-pipelines", action="store_true", help="fetch and parse only (diagnosis)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra -s setting for the crawl (diagnosis; repeatable)",
    )
    parser.add_argument(
        "--log", default=None, help="keep the crawl's DEBUG log here (diagnosis)"
    )
    args = parser.parse_args()
    print(machine(), flush=True)

    port = free_port()
    replica = start_replica(args.cases, port, fast=not args.polite)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db_url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
            root = f"http://127.0.0.1:{port}"
            env = {
                **os.environ,
                "CTJUD_BASE_URL": root + "/civilinquiry",
                "DATABASE_URL": db_url,
                "CTF_DATA_DIR": tmp,
            }
            subprocess.run([str(CTF), "db", "upgrade"], env=env, check=True, cwd=ROOT)
            if args.towns:
                from ctforeclosure import towns

                names = ",".join(t.name for t in towns.all_towns()[: args.towns])
                target = f"towns={names}"
            else:
                target = "town=all"
            # details=all: every case page is read even into a database that has
            # them (a second site-bound run), which is what this bench measures.
            command = [str(SCRAPY), "crawl", "cases", "-a", target]
            command += ["-a", "details=all"]
            fast = (
                "DOWNLOAD_DELAY=0",
                "AUTOTHROTTLE_ENABLED=False",
                f"CONCURRENT_REQUESTS={args.concurrency}",
                f"CONCURRENT_REQUESTS_PER_DOMAIN={args.concurrency}",
                "NOBOT_MIN_DELAY=0",
                "NOBOT_MAX_POSTBACKS=0",
            )
            for setting in (
                *(() if args.polite else fast),
                "SITE_BUDGET_ENABLED=False",
                f"JUDICIARY_SEARCH_MODE={args.mode}",
                "LOG_LEVEL=DEBUG" if args.log else "LOG_LEVEL=INFO",
                *args.set,
            ):
                command += ["-s", setting]
            if args.no_pipelines:
                command += ["-s", "ITEM_PIPELINES={}"]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_before = before.ru_utime + before.ru_stime
            started = time.monotonic()
            result = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True
            )
            wall = time.monotonic() - started
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = usage.ru_utime + usage.ru_stime - cpu_before
            log = result.stdout + result.stderr
            if args.log:
                Path(args.log).write_text(log)
            if result.returncode != 0 or "Dumping Scrapy stats" not in log:
                print(log[-5000:])
                return 1
            s = stats(log)
            detail = s.get("ctf/cases/detail", 0)
            elapsed = s["elapsed_time_seconds"]
            searches = s.get("downloader/request_method_count/POST", 0)
            print(
                f"mode={args.mode} cases_in_replica={args.cases} target={target[:40]}"
            )
            print(f"case pages fetched+parsed+stored: {detail}")
            print(f"search postbacks: {searches}")
            print(f"requests to the site: {s.get('downloader/request_count')}")
            print(f"crawl elapsed: {elapsed:.1f} s (process wall {wall:.1f} s)")
            print(f"case pages/s: {detail / elapsed:.1f}")
            print(
                f"crawl process CPU: {cpu:.1f} s = "
                f"{cpu / max(detail, 1) * 1000:.1f} ms "
                f"per case page ({detail / cpu:.0f} case pages per CPU-second)"
            )
            print(f"peak RSS: {s.get('memusage/max', 0) / 2**20:.0f} MiB")
            if not (args.polite or args.no_pipelines):
                prefix, suffix = "ctf/town/", "/rows_parsed"
                searched = [
                    k.removeprefix(prefix).removesuffix(suffix)
                    for k in s
                    if k.startswith(prefix) and k.endswith(suffix)
                ]
                pages = fetch_pages(root, db_url, searched)
                floor = parse_floor(*pages) / max(detail, 1) * 1000
                crawl = cpu / max(detail, 1) * 1000
                print(
                    f"parse floor: {len(pages[0])} search and {len(pages[1])} case "
                    "pages parsed in-process by ctforeclosure.parsers.judiciary"
                )
                print(
                    Ratio("crawl CPU per case page", crawl, floor, "ms", PARSE_TARGET)
                )
            if args.polite:
                requests = s.get("downloader/request_count", 0)
                by_rate, by_nobot = site_bound(requests, searches, args.set)
                floor = max(by_rate, by_nobot)
                print(
                    f"floor: {floor:.1f} s (requests x delay {by_rate:.1f} s, "
                    f"NoBot window {by_nobot:.1f} s); crawl/floor = "
                    f"{elapsed / floor:.2f}x"
                )
                bound = polite_schedule_bound(s, args.set)
                in_order = polite_schedule_bound(s, args.set, largest_first=False)
                if bound and in_order:
                    print(
                        f"schedule bound, largest towns first: {bound:.1f} s; "
                        f"crawl/bound = {elapsed / bound:.2f}x"
                    )
                    print(
                        f"schedule bound, towns by name: {in_order:.1f} s;"
                        f" crawl/bound = {elapsed / in_order:.2f}x"
                    )
            print(
                f"items scraped: {s.get('item_scraped_count')}, "
                f"dropped: {s.get('item_dropped_count', 0)}"
            )
    finally:
        replica.terminate()
        replica.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
