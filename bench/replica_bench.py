"""Benchmark: how fast the offline replica answers, at 50,000 cases.

The replica must answer a results page or a case page in well under 5 ms (median), so
crawler benchmarks measure the crawler, not the replica. The replica runs as
``python -m tests.replica`` (waitress, multi-threaded) in its own process; this
script is the client (plain ``http.client`` on a keep-alive connection, so client
overhead stays small) and measures, per request kind, the wall time from sending the
request to reading the whole body:

- search form (GET PropertyAddressSearch.aspx);
- results page 1 (the search POST, 200 rows a page when the town has that many);
- results page N (the paging POST);
- case page (GET CaseDetail/PublicCaseDetail.aspx, first visit: generated on demand);
- the floor (issue 23): the site's stylesheet (GET Civil_Inquiry.css, a fixed
  string), from the same server on the same connections, once per search session:
  what serving anything costs there. Each kind's median is reported as a multiple
  of the floor's, client and app alike (no target: the target is absolute).

Two times per kind: "client" (request sent to body read, as a crawler sees it, on
this shared machine) and "app" (the replica's own time, from its Server-Timing
header, enabled with --server-timing).

    python bench/replica_bench.py                  # 50,000 cases, 300 requests a kind
    python bench/replica_bench.py --cases 5000 --requests 100
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from floor import Ratio, machine

ROOT = Path(__file__).resolve().parent.parent
CHALLENGE = re.compile(r'"ChallengeScript":"~(\d+)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" id="[^"]*" value="([^"]*)"')
TOWNS = (
    "Hartford", "Bridgeport", "New Haven", "Waterbury", "Stamford", "New Britain",
    "Norwalk", "Danbury", "Meriden", "Bristol", "Manchester", "Middletown", "Norwich",
    "Hamden", "Torrington", "Enfield", "Milford", "Groton", "Vernon", "Windham",
)  # fmt: skip


class Conn:
    """A keep-alive connection that keeps the session cookie."""

    def __init__(self, port: int):
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""

    def request(self, method: str, path: str, body: dict | None = None):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        self.http.request(method, path, body=data, headers=headers)
        resp = self.http.getresponse()
        text = resp.read().decode("utf-8")
        elapsed = time.perf_counter() - started
        timing = resp.getheader("Server-Timing") or "dur=nan"
        self.app_time = float(timing.split("dur=")[1]) / 1000
        cookie = resp.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return resp.status, text, elapsed


def form(html: str) -> dict[str, str]:
    data = dict(HIDDEN.findall(html))
    data["ctl00$NoBot$NoBot_NoBotExtender_ClientState"] = str(
        ~int(CHALLENGE.search(html).group(1))
    )
    return data


def search_body(html: str, town: str) -> dict[str, str]:
    data = form(html)
    prefix = "ctl00$ContentPlaceHolder1$"
    data |= {
        prefix + "txtCityTown": town,
        prefix + "ddlCaseType": "FC",
        prefix + "ddlPropertyType": "ALL",
        prefix + "ddlCaseStatus": "ALL",
        prefix + "btnSubmit": "Submit",
    }
    return data


def summary(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return (
        f"median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, "
        f"max {ms[-1]:.2f} ms (n={len(ms)})"
    )


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit("replica exited early")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/_replica/info")
            info = json.loads(conn.getresponse().read())
            conn.close()
            return time.perf_counter() - started, info
        except OSError:
            time.sleep(0.05)
    raise SystemExit("replica did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--port", type=int, default=8871)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    calibration = machine()

    cmd = [
        sys.executable, "-m", "tests.replica", "--port", str(args.port),
        "--cases", str(args.cases), "--fast", "--threads", str(args.threads),
        "--server-timing",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        startup, info = wait_ready(args.port, proc)
        base = "/civilinquiry"
        rng = random.Random(0)
        kinds: dict[str, list[float]] = {
            k: [] for k in ("form", "page1", "pageN", "case", "static")
        }
        app: dict[str, list[float]] = {k: [] for k in kinds}
        dockets: list[str] = []
        n = args.requests
        while min(len(kinds["form"]), len(kinds["page1"]), len(kinds["pageN"])) < n:
            conn = Conn(args.port)
            status, _, t = conn.request("GET", f"{base}/Civil_Inquiry.css")
            assert status == 200, status
            kinds["static"].append(t)
            app["static"].append(conn.app_time)
            status, html, t = conn.request("GET", f"{base}/PropertyAddressSearch.aspx")
            kinds["form"].append(t)
            app["form"].append(conn.app_time)
            town = rng.choice(TOWNS)
            status, html, t = conn.request(
                "POST", f"{base}/PropertyAddressSearch.aspx", search_body(html, town)
            )
            assert status == 200 and "gvPropertyResults" in html, (status, town)
            kinds["page1"].append(t)
            app["page1"].append(conn.app_time)
            dockets += re.findall(r'href="LoadDocket\.aspx\?DocketNo=([^"]+)"', html)
            pages = re.findall(r"Page\$(\d+)", html)
            if pages:
                data = form(html) | {
                    "__EVENTTARGET": "ctl00$ContentPlaceHolder1$gvPropertyResults",
                    "__EVENTARGUMENT": f"Page${rng.choice(pages)}",
                }
                status, html, t = conn.request(
                    "POST", f"{base}/PropertyAddressSearchResults.aspx", data
                )
                assert status == 200 and "gvPropertyResults" in html, status
                kinds["pageN"].append(t)
                app["pageN"].append(conn.app_time)
            conn.http.close()
        conn = Conn(args.port)
        conn.request("GET", f"{base}/LoadDocket.aspx?DocketNo={dockets[0]}")
        for docket in rng.sample(sorted(set(dockets)), min(n, len(set(dockets)))):
            compact = docket.replace("-", "")
            status, html, t = conn.request(
                "GET", f"{base}/CaseDetail/PublicCaseDetail.aspx?DocketNo={compact}"
            )
            assert status == 200 and "gvDocuments" in html, status
            kinds["case"].append(t)
            app["case"].append(conn.app_time)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    print(f"# replica_bench\n{calibration}")
    print(
        f"cases: {info['cases']}, waitress threads: {args.threads}, "
        f"startup (generate + bind): {startup:.2f} s"
    )
    for kind, label in (
        ("form", "search form GET"),
        ("page1", "results page 1 POST (search)"),
        ("pageN", "results page N POST (paging)"),
        ("case", "case page GET (first visit)"),
        ("static", "floor: the stylesheet GET"),
    ):
        print(f"{label}: client {summary(kinds[kind])}")
        print(f"{' ' * len(label)}  app    {summary(app[kind])}")
    for kind in ("form", "page1", "pageN", "case"):
        for label, times in (("client", kinds), ("app", app)):
            median, floor = (
                statistics.median(times[k]) * 1000 for k in (kind, "static")
            )
            print(Ratio(f"{kind} {label} median", median, floor, "ms"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
