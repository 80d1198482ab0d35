"""The cases spider: callbacks on saved pages, and `scrapy crawl cases` end to end.

End-to-end tests run the venv's ``scrapy crawl cases -o out.jsonl`` in a subprocess
against the offline replica on 127.0.0.1 (pipelines off) and compare the feed with
the replica's ground truth: every listed case exactly once, every truth field equal.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import lxml.html
import parsel.selector
import pytest
import pytest_twisted
from scrapy.exceptions import IgnoreRequest, UsageError
from scrapy.http import HtmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.misc import is_generator_with_return_value
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from ctforeclosure import signals as ctf_signals
from ctforeclosure import towns
from ctforeclosure.parsers import judiciary
from ctforeclosure.spiders._cases_pages import CasePagesSpider
from ctforeclosure.spiders._cases_search import SearchSpider
from ctforeclosure.spiders._cases_targets import largest_first
from ctforeclosure.spiders.cases import CasesSpider, search_terms
from ctforeclosure.spiders.towns import TownsSpider
from tests.conftest import fixture_response

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRAPY = Path(sys.executable).with_name("scrapy")
FAST = [
    "ITEM_PIPELINES={}",
    "NOBOT_MIN_DELAY=0",
    "NOBOT_MAX_POSTBACKS=0",
    "DOWNLOAD_DELAY=0",
    "AUTOTHROTTLE_ENABLED=False",
    "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "RETRY_BACKOFF_BASE=0",
    "REMOTE_CONTROL_ENABLED=False",
    "TELNETCONSOLE_ENABLED=False",
    "DOWNLOAD_TIMEOUT=20",
]


def crawl(replica, tmp_path, *args, mode="http", settings=FAST, timeout=600):
    """Run `scrapy crawl cases ARGS -o out.jsonl`; return (status, log, items)."""
    out = tmp_path / "out.jsonl"
    out.unlink(missing_ok=True)
    command = [str(SCRAPY), "crawl", "cases", "-o", str(out)]
    for arg in args:
        command += ["-a", arg]
    for setting in [*settings, f"JUDICIARY_SEARCH_MODE={mode}"]:
        command += ["-s", setting]
    env = {**os.environ, **replica.env}
    result = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    items = []
    if out.exists():
        items = [json.loads(line) for line in out.read_text().splitlines() if line]
    return result.returncode, result.stdout + result.stderr, items


def stats(log: str) -> dict:
    """Return the stats dict Scrapy dumps when the crawl closes."""
    dump = log.split("Dumping Scrapy stats:\n", 1)[1]
    text = dump.split("\n2", 1)[0]
    text = re.sub(r"datetime\.datetime\([^)]*\)", "None", text)
    return ast.literal_eval(text)


def listed(replica, **where) -> list[dict]:
    """Return the truth for what a default search lists: active residential cases."""
    return [
        t
        for t in replica.truth(**where)
        if t["is_active"] and t["property_type"] == "Residential"
    ]


def assert_every_case_once(items: list[dict], truth: list[dict]) -> None:
    dockets = [i["docket_no"] for i in items]
    assert len(dockets) == len(set(dockets)), "a case was yielded twice"
    assert set(dockets) == {t["docket_no"] for t in truth}
    by_docket = {i["docket_no"]: i for i in items}
    wrong = [
        (t["docket_no"], name)
        for t in truth
        for name, value in t.items()
        if by_docket[t["docket_no"]].get(name) != value
    ]
    assert wrong == []
    assert all(i["detail_fetched"] for i in items)


# --- arguments and helpers ----------------------------------------------------------


def test_search_terms_drop_terms_another_term_contains():
    hartford, east = towns.canonical("Hartford"), towns.canonical("East Hartford")
    assert search_terms([hartford, east]) == ["Hartford"]
    # A direction town also searches its base name, for "E. HADDAM"-style rows.
    assert search_terms([towns.canonical("East Haddam")]) == ["Haddam"]
    assert search_terms([towns.canonical("Bethel")]) == ["Bethel"]
    every = search_terms(towns.all_towns())
    # The site matches without regard to case: "Chester" lists Colchester too.
    folded = [x.casefold() for x in every]
    covered = {
        t.name for t in towns.all_towns() if any(x in t.name.casefold() for x in folded)
    }
    assert len(covered) == 169
    assert len(every) < 169


def test_largest_first_searches_the_towns_with_most_stored_cases_first():
    spider = CasesSpider(towns="Avon,Bethel,East Hartford,Hartford")
    sizes = {"Hartford": 40, "East Hartford": 30, "Bethel": 3}
    # "Hartford" also lists East Hartford's rows: it carries both towns' weight.
    assert largest_first(spider.terms, spider.town_terms, sizes) == [
        "Hartford",
        "Bethel",
        "Avon",
    ]
    # Nothing stored (a first crawl): by name.
    assert largest_first(spider.terms, spider.town_terms, {}) == sorted(spider.terms)


def test_spider_arguments_are_checked_before_any_request():
    with pytest.raises(UsageError, match="Closest real towns"):
        CasesSpider(town="Springfeld")
    with pytest.raises(UsageError, match="not a Connecticut county"):
        CasesSpider(county="Essex")
    with pytest.raises(UsageError, match="status"):
        CasesSpider(town="Bethel", status="closed")
    with pytest.raises(UsageError, match="exactly one"):
        CasesSpider(town="Bethel", county="Fairfield")
    spider = CasesSpider(towns="bethel, Avon", _job="abc")  # scrapyd adds _job
    assert {t.name for t in spider.targets} == {"Bethel", "Avon"}
    assert len(CasesSpider(town="all").targets) == 169


@pytest_twisted.ensureDeferred
async def test_parse_results_last_page_announces_the_town_and_requests_each_case():
    crawler = get_crawler(
        CasesSpider, {"CTJUD_BASE_URL": "http://127.0.0.1:9/civilinquiry"}
    )
    spider = CasesSpider.from_crawler(crawler, town="Middletown")
    crawler.spider = spider
    announced = []

    def on_complete(**kwargs):
        announced.append(kwargs)

    crawler.signals.connect(on_complete, signal=ctf_signals.town_search_complete)
    response = fixture_response(
        "judiciary/results__middletown_2025-07-12.html",
        url="http://127.0.0.1:9/civilinquiry/PropertyAddressSearch.aspx",
        meta={"ctf_fixture": "results", "cookiejar": "Middletown#1"},
    )

    requests = [
        out
        async for out in spider.parse_results(
            response, term="Middletown", attempt=1, page=1
        )
    ]
    assert len(requests) == 84
    # Each case page opened directly in the search's session: one request, no 302.
    assert all(
        "/CaseDetail/PublicCaseDetail.aspx?DocketNo=MMXCV" in r.url for r in requests
    )
    assert {r.meta["cookiejar"] for r in requests} == {"Middletown#1"}
    assert [a["town"] for a in announced] == ["Middletown"]
    assert len(announced[0]["dockets"]) == 84
    assert announced[0]["site_total"] == 84
    assert crawler.stats.get_value("ctf/town/Middletown/site_records") == 84
    assert crawler.stats.get_value("ctf/town/Middletown/rows_parsed") == 84


def test_spider_has_what_its_mixins_declare_they_need():
    crawler = get_crawler(
        CasesSpider, {"CTJUD_BASE_URL": "http://127.0.0.1:9/civilinquiry"}
    )
    spider = CasesSpider.from_crawler(crawler, town="Middletown")
    assert isinstance(spider, SearchSpider)
    assert isinstance(spider, CasePagesSpider)
    assert set(spider.searches) == {"Middletown"}


@pytest.mark.parametrize("spider_class", [CasesSpider, TownsSpider])
def test_no_spider_callback_is_a_generator_that_returns_a_value(spider_class):
    # The crawl turns Scrapy's own check off (WARN_ON_GENERATOR_RETURN_VALUE, for
    # its CPU): a value returned from a generator callback would be lost silently.
    callbacks = [
        getattr(spider_class, name)
        for name in dir(spider_class)
        if inspect.isgeneratorfunction(getattr(spider_class, name, None))
    ]
    assert len(callbacks) >= 2
    assert [c.__name__ for c in callbacks if is_generator_with_return_value(c)] == []


READS = [
    ("parse_form", "judiciary/search_form__replica.html", "Middletown", 1),
    (
        "parse_results",
        "judiciary/results__hartford_page1of2_2025-09-16.html",
        "Hartford",
        1,
    ),
    (
        "parse_results",
        "judiciary/results__middletown_2025-07-12.html",
        "Middletown",
        84,
    ),
    ("parse_results", "judiciary/search_form__replica.html", "Middletown", 1),
]


@pytest_twisted.ensureDeferred
async def test_search_callbacks_parse_each_response_once(monkeypatch):
    # The form, a page with a next page (its postback), a last page (case pages)
    # and a refusal: each reply's HTML becomes one tree, read by one parser call.
    crawler = get_crawler(
        CasesSpider,
        {
            "CTJUD_BASE_URL": "http://127.0.0.1:9/civilinquiry",
            "NOBOT_MIN_DELAY": 0,
            "NOBOT_MAX_POSTBACKS": 0,
        },
    )
    spider = CasesSpider.from_crawler(crawler, towns="Middletown,Hartford")
    crawler.spider = spider
    monkeypatch.setattr(spider.nobot, "_running", lambda: True)  # no engine here
    calls = Counter()

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    for owner, name in [
        (parsel.selector, "create_root_node"),
        (lxml.html, "document_fromstring"),
        (lxml.html, "fromstring"),
        (judiciary, "read_search_page"),
    ]:
        monkeypatch.setattr(owner, name, counted(name, getattr(owner, name)))
    for callback, fixture, term, expected in READS:
        calls.clear()
        response = fixture_response(
            fixture,
            url="http://127.0.0.1:9/civilinquiry/PropertyAddressSearch.aspx",
            meta={"ctf_fixture": "results", "cookiejar": f"{term}#1"},
        )
        kwargs = {"term": term, "attempt": 1}
        if callback == "parse_results":
            kwargs["page"] = 1
        out = [o async for o in getattr(spider, callback)(response, **kwargs)]
        assert len(out) == expected, fixture
        trees = sum(calls[n] for n in calls if n != "read_search_page")
        assert (trees, calls["read_search_page"]) == (1, 1), (fixture, calls)


def test_parse_case_yields_one_full_item_from_the_real_page():
    crawler = get_crawler(
        CasesSpider, {"CTJUD_BASE_URL": "http://127.0.0.1:9/civilinquiry"}
    )
    spider = CasesSpider.from_crawler(crawler, town="Hartford")
    listing = {"docket_no": "HHDCV226160660S", "search_town": "Hartford"}
    response = fixture_response("judiciary/case_detail__hhdcv226160660s.html")
    (item,) = list(spider.parse_case(response, listing=listing, tries=1))
    assert item.docket_no == "HHDCV226160660S"
    assert item.detail_fetched is True and item.detail_fetched_at is not None
    assert len(item.parties) == 5
    assert len(item.docket_entries) == 101
    assert item.court_dates == []
    assert item.is_active is False  # it has a disposition


def _failed_case_download(spider, tries: int, error: Exception) -> Failure:
    listing = {"docket_no": "HHDCV226160660S", "search_town": "Hartford"}
    request = spider._case_request(listing, "jar", None, tries)
    failure = Failure(error)
    failure.request = request
    return failure


def test_a_case_page_whose_download_failed_is_tried_again_then_kept_as_listing():
    crawler = get_crawler(
        CasesSpider, {"CTJUD_BASE_URL": "http://127.0.0.1:9/civilinquiry"}
    )
    spider = CasesSpider.from_crawler(crawler, town="Hartford")
    # 503 after every download retry (HttpError is an IgnoreRequest, yet retried)
    unavailable = HtmlResponse("http://127.0.0.1:9/LoadDocket.aspx", status=503)
    error = HttpError(unavailable, "Ignoring non-200 response")
    (again,) = spider.case_failed(_failed_case_download(spider, 1, error))
    assert again.cb_kwargs["tries"] == 2  # a fresh attempt, not a lost case
    assert again.meta["cookiejar"] != "jar"  # in a fresh session
    lost = ConnectionRefusedError("connection refused after every retry")
    (again,) = spider.case_failed(_failed_case_download(spider, 2, lost))
    assert again.cb_kwargs["tries"] == 3
    last = _failed_case_download(spider, spider.case_attempts, error)
    (kept,) = spider.case_failed(last)
    assert kept.docket_no == "HHDCV226160660S" and kept.detail_fetched is False
    assert crawler.stats.get_value("ctf/errors/case_page") == 1
    # robots.txt forbids the page: trying again cannot help
    (ignored,) = spider.case_failed(
        _failed_case_download(spider, 1, IgnoreRequest("Forbidden by robots.txt"))
    )
    assert ignored.detail_fetched is False
    assert crawler.stats.get_value("ctf/errors/case_page") == 2


# --- end to end against the replica -------------------------------------------------


def test_crawl_one_town_scrapes_every_case_once(replica_factory, tmp_path):
    replica = replica_factory(cases=300)
    status, log, items = crawl(replica, tmp_path, "town=Middletown")
    assert status == 0, log[-3000:]
    truth = listed(replica, town="Middletown")
    assert truth
    assert_every_case_once(items, truth)
    # The court answers one request a case page: GETs are robots.txt, the search
    # form and the case pages.
    crawl_stats = stats(log)
    assert crawl_stats["ctf/cases/direct"] == len(truth)
    assert crawl_stats["downloader/request_method_count/GET"] == 2 + len(truth)
    assert "downloader/response_status_count/302" not in crawl_stats


def test_crawl_goes_back_to_load_docket_when_the_site_refuses_direct_case_pages(
    replica_factory, tmp_path
):
    replica = replica_factory(cases=300, faults=["direct-case-pages-refused"])
    status, log, items = crawl(replica, tmp_path, "town=Middletown")
    assert status == 0, log[-3000:]
    truth = listed(replica, town="Middletown")
    assert_every_case_once(items, truth)
    assert "refused 3 case pages opened directly" in log
    crawl_stats = stats(log)
    assert crawl_stats.get("ctf/cases/direct") is None
    # Only the pages already asked for directly cost a refusal.
    refused = crawl_stats["ctf/cases/direct_refused"]
    assert 3 <= refused <= len(truth)
    assert crawl_stats["downloader/response_status_count/302"] == len(truth) + refused


def test_crawl_a_county_scrapes_every_case_once(replica_factory, tmp_path):
    replica = replica_factory(cases=300)
    status, log, items = crawl(replica, tmp_path, "county=Hartford")
    assert status == 0, log[-3000:]
    assert_every_case_once(items, listed(replica, county="Hartford"))
    # Hartford's search also lists East/West/New Hartford: none is fetched twice.
    assert stats(log).get("ctf/search/records_mismatch") is None


@pytest.mark.slow
def test_crawl_all_towns_scrapes_every_case_once(replica_factory, tmp_path):
    replica = replica_factory(cases=450)
    status, log, items = crawl(replica, tmp_path, "town=all")
    assert status == 0, log[-3000:]
    assert_every_case_once(items, listed(replica))


def test_crawl_pages_through_a_town_with_more_than_200_cases(replica_factory, tmp_path):
    replica = replica_factory(cases=480, towns=("Waterbury",))
    status, log, items = crawl(replica, tmp_path, "town=Waterbury")
    assert status == 0, log[-3000:]
    truth = listed(replica, town="Waterbury")
    assert len(truth) > 200
    assert_every_case_once(items, truth)
    crawl_stats = stats(log)
    assert crawl_stats["ctf/town/Waterbury/site_records"] == len(truth)
    assert crawl_stats["ctf/town/Waterbury/rows_parsed"] == len(truth)


def test_crawl_details_none_yields_listing_only_items(replica_factory, tmp_path):
    replica = replica_factory(cases=300)
    status, log, items = crawl(replica, tmp_path, "town=Middletown", "details=none")
    assert status == 0, log[-3000:]
    truth = listed(replica, town="Middletown")
    assert {i["docket_no"] for i in items} == {t["docket_no"] for t in truth}
    assert all(i["detail_fetched"] is False for i in items)
    assert stats(log).get("ctf/cases/detail") is None


def test_crawl_honours_the_nobot_timing_of_a_strict_server(replica_factory, tmp_path):
    # The replica enforces the toolkit's rules (2 s, 5 postbacks / 60 s); the
    # crawl uses the real defaults and must never be refused.
    replica = replica_factory(cases=480, towns=("Waterbury",), fast=False)
    settings = [s for s in FAST if not s.startswith("NOBOT_")]
    status, log, items = crawl(replica, tmp_path, "town=Waterbury", settings=settings)
    assert status == 0, log[-3000:]
    assert_every_case_once(items, listed(replica, town="Waterbury"))
    assert stats(log).get("ctf/search/refused") is None


def test_crawl_keeps_to_a_short_nobot_window_over_several_searches(
    replica_factory, tmp_path
):
    # A server allowing 2 postbacks per 6 s (2 s think time): 4 searches need 4+
    # postbacks, so the crawl must wait out the window between them while it
    # fetches case pages, and no postback may be refused as too soon or too many.
    replica = replica_factory(
        cases=300, fast=False, nobot_window=6.0, nobot_max_instances=2
    )
    settings = [s for s in FAST if not s.startswith("NOBOT_")]
    settings += ["NOBOT_WINDOW=6", "NOBOT_MAX_POSTBACKS=2"]
    names = "Middletown,Cromwell,Portland,Durham"
    status, log, items = crawl(replica, tmp_path, f"towns={names}", settings=settings)
    assert status == 0, log[-3000:]
    truth = [t for name in names.split(",") for t in listed(replica, town=name)]
    assert_every_case_once(items, truth)
    crawl_stats = stats(log)
    assert crawl_stats["downloader/request_method_count/POST"] >= 4
    assert crawl_stats.get("ctf/search/refused") is None
    assert crawl_stats.get("ctf/search/restarted") is None


@pytest.mark.parametrize(
    "fault",
    ["http-500", "http-503", "drop-connection", "truncated-html", "viewstate-expiry"],
)
def test_crawl_with_faults_still_scrapes_every_case(replica_factory, tmp_path, fault):
    replica = replica_factory(cases=200, faults=[fault])
    status, log, items = crawl(replica, tmp_path, "county=Middlesex")
    assert status == 0, log[-3000:]
    assert_every_case_once(items, listed(replica, county="Middlesex"))


def test_crawl_changed_layout_is_reported_not_silent(replica_factory, tmp_path):
    replica = replica_factory(cases=200, faults=["changed-layout"])
    status, log, items = crawl(replica, tmp_path, "town=Middletown")
    # Middletown was not read: a partial crawl (exit 3) that names it, since issue 22
    assert status == 3
    assert log.splitlines()[-1].endswith("towns not complete: Middletown")
    assert items == []
    assert "LAYOUT CHANGE on http://127.0.0.1:" in log
    assert stats(log)["ctf/errors/parsing"] >= 1


@pytest.mark.parametrize(
    "mode", ["http", pytest.param("auto", marks=pytest.mark.browser)]
)
def test_crawl_with_some_nobot_answers_refused_scrapes_every_case(
    replica_factory, tmp_path, mode
):
    replica = replica_factory(cases=200, faults=["nobot-reject-some"])
    status, log, items = crawl(replica, tmp_path, "county=Middlesex", mode=mode)
    assert status == 0, log[-3000:]
    assert_every_case_once(items, listed(replica, county="Middlesex"))
    crawl_stats = stats(log)
    assert crawl_stats["ctf/search/refused"] >= 1  # the fault did hit
    assert crawl_stats.get("ctf/errors/search_given_up") is None


def test_crawl_refused_nobot_answers_end_loudly(replica_factory, tmp_path):
    # The replica's "nobot-reject" refuses every answer, even a browser's: no crawl
    # can finish; it must give up each search and say so, not report zero cases.
    replica = replica_factory(cases=100, faults=["nobot-reject"])
    status, log, items = crawl(replica, tmp_path, "town=Middletown")
    assert status == 3  # partial: not a good crawl, for cron and the retry
    assert items == []
    crawl_stats = stats(log)
    assert crawl_stats["ctf/search/refused"] >= 1
    assert crawl_stats["ctf/errors/search_given_up"] == 1
    assert "given up after" in log


def test_crawl_robots_disallow_stops_with_the_override_named(replica_factory, tmp_path):
    replica = replica_factory(cases=50, faults=["robots-disallow"])
    settings = [*FAST, "ROBOTSTXT_OBEY=True"]
    status, log, items = crawl(replica, tmp_path, "town=Hartford", settings=settings)
    assert items == []
    assert "-s ROBOTSTXT_OBEY=False" in log
    assert stats(log)["finish_reason"] == "robots_forbidden"
    assert status == 1  # a failed crawl, for cron and scrapyd
    assert log.splitlines()[-1].startswith("crawl cases failed: robots_forbidden")


def test_crawl_robots_override_is_recorded(replica_factory, tmp_path):
    replica = replica_factory(cases=100, faults=["robots-disallow"])
    settings = [*FAST, "ROBOTSTXT_OBEY=False"]
    status, log, items = crawl(replica, tmp_path, "town=Middletown", settings=settings)
    assert status == 0, log[-3000:]
    assert "robots.txt is NOT obeyed" in log
    assert stats(log)["ctf/robots_overridden"] == 1
    assert_every_case_once(items, listed(replica, town="Middletown"))


def test_crawl_unknown_town_exits_nonzero_naming_the_closest(replica_factory, tmp_path):
    replica = replica_factory(cases=10)
    status, log, _ = crawl(replica, tmp_path, "town=Springfeld")
    assert status != 0
    assert "'Springfeld' is not a Connecticut town. Closest real towns:" in log
    assert "Plainfield" in log


@pytest.mark.browser
def test_crawl_in_browser_mode_scrapes_every_case_once(replica_factory, tmp_path):
    replica = replica_factory(cases=300)
    status, log, items = crawl(
        replica, tmp_path, "towns=Middletown,Bristol", mode="browser"
    )
    assert status == 0, log[-3000:]
    truth = listed(replica, town="Middletown") + listed(replica, town="Bristol")
    assert_every_case_once(items, truth)
    assert stats(log)["ctf/search/browser"] >= 2


@pytest.mark.browser
def test_crawl_unknown_challenge_falls_back_to_the_browser(replica_factory, tmp_path):
    replica = replica_factory(cases=200, faults=["nobot-unknown-script"])
    status, log, items = crawl(replica, tmp_path, "town=Middletown", mode="auto")
    assert status == 0, log[-3000:]
    assert_every_case_once(items, listed(replica, town="Middletown"))
    crawl_stats = stats(log)
    assert crawl_stats["ctf/search/unknown_challenge"] >= 1
    assert crawl_stats["ctf/search/browser"] >= 1


def test_crawl_details_changed_reads_only_new_changed_or_old_case_pages(
    replica_factory, tmp_path, migrated_db_url, monkeypatch
):
    replica = replica_factory(cases=40, towns=("Middletown",))
    monkeypatch.setenv("DATABASE_URL", migrated_db_url)
    settings = [s for s in FAST if not s.startswith("ITEM_PIPELINES")]

    def crawl_middletown(*extra):
        status, log, items = crawl(
            replica, tmp_path, "town=Middletown", settings=[*settings, *extra]
        )
        assert status == 0, log[-3000:]
        return stats(log).get("ctf/cases/detail", 0), items

    pages, items = crawl_middletown()  # nothing stored: every page
    first = len(items)
    assert first and pages == first
    pages, _ = crawl_middletown()  # details=changed is the default
    assert pages == 0  # nothing changed, every stored page fresh
    replica.mutate(kind="new_case", count=1)
    pages, items = crawl_middletown()
    assert pages == 1  # only the new case's page
    fetched = [i for i in items if i["detail_fetched"]]
    assert len(fetched) == 1 and len(items) == first + 1
    assert fetched[0]["docket_no"] not in {
        i["docket_no"] for i in items if not i["detail_fetched"]
    }
    pages, items = crawl_middletown("DETAILS_MAX_AGE_DAYS=0")  # all pages are old
    assert pages == first + 1
    assert all(i["detail_fetched"] for i in items)


def test_crawl_stopped_with_ctrl_c_resumes_from_jobdir(replica_factory, tmp_path):
    replica = replica_factory(cases=200, faults=["latency"])  # slow enough to stop
    jobdir = tmp_path / "job"
    command = [str(SCRAPY), "crawl", "cases", "-a", "county=Hartford"]
    for setting in [*FAST, "JUDICIARY_SEARCH_MODE=http", f"JOBDIR={jobdir}"]:
        command += ["-s", setting]
    env = {**os.environ, **replica.env}
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    with (tmp_path / "first.log").open("w") as log:
        process = subprocess.Popen(
            [*command, "-o", str(first)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if first.exists() and len(first.read_text().splitlines()) >= 5:
                break
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)  # Ctrl-C: graceful stop
        assert process.wait(timeout=120) == 0
    assert "'finish_reason': 'shutdown'" in (tmp_path / "first.log").read_text()
    result = subprocess.run(
        [*command, "-o", str(second)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # The resumed run does not search again what the first one read: searches
    # start one at a time (the next when the previous is read), so the queue
    # JOBDIR keeps may be empty and Scrapy's "Resuming crawl" line absent.
    terms = search_terms(towns.towns_in_county("Hartford"))
    assert stats(result.stderr)["downloader/request_method_count/POST"] < len(terms)
    before = [json.loads(line) for line in first.read_text().splitlines()]
    after = [json.loads(line) for line in second.read_text().splitlines()]
    assert before and after
    # Nothing fetched twice, nothing lost.
    assert_every_case_once(before + after, listed(replica, county="Hartford"))


def test_crawl_keeps_abbreviated_grid_towns(replica_factory, tmp_path):
    # Some grid rows print "E. HARTFORD": the base-name search still finds them.
    replica = replica_factory(cases=300, abbreviate_towns=True)
    status, log, items = crawl(replica, tmp_path, "county=Hartford")
    assert status == 0, log[-3000:]
    truth = listed(replica, county="Hartford")
    assert any(re.match(r"[EWNS]\. ", t["listing_town"]) for t in truth)
    assert_every_case_once(items, truth)


@pytest.mark.browser
def test_crawl_in_browser_mode_pages_through_more_than_200(replica_factory, tmp_path):
    replica = replica_factory(cases=480, towns=("Waterbury",))
    status, log, items = crawl(replica, tmp_path, "town=Waterbury", mode="browser")
    assert status == 0, log[-3000:]
    truth = listed(replica, town="Waterbury")
    assert len(truth) > 200
    assert_every_case_once(items, truth)
