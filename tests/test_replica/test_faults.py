"""Fault injection: each fault does what its name says, and only when asked for."""

from __future__ import annotations

import re
import time

import pytest
import requests
from parsel import Selector

from .client import Client, grid_rows

SEARCH = "PropertyAddressSearch.aspx"


def _statuses(url: str, n: int) -> list[int]:
    return [requests.get(url, timeout=10).status_code for _ in range(n)]


def test_no_fault_means_no_errors(replica):
    url = replica.env["CTJUD_BASE_URL"] + "/" + SEARCH
    assert set(_statuses(url, 8)) == {200}


@pytest.mark.parametrize("fault,status", [("http-500", 500), ("http-503", 503)])
def test_error_bursts_then_recovery(replica_factory, fault, status):
    replica = replica_factory(faults=[fault], fault_every=2)
    url = replica.env["CTJUD_BASE_URL"] + "/" + SEARCH
    responses = [requests.get(url, timeout=10) for _ in range(8)]
    codes = [r.status_code for r in responses]
    assert codes == [200, 200, status, status, 200, 200, status, status]
    if status == 503:
        assert all(
            r.headers["Retry-After"] == "1" for r in responses if r.status_code == 503
        )


def test_http_403_fault_refuses_every_request_but_robots(replica_factory):
    replica = replica_factory(faults=["http-403"])
    base = replica.env["CTJUD_BASE_URL"]
    assert set(_statuses(f"{base}/{SEARCH}", 4)) == {403}
    root = base.split("/", 3)[:3]
    assert requests.get("/".join(root) + "/robots.txt", timeout=10).status_code == 200


def test_latency_fault_delays_responses(replica_factory):
    replica = replica_factory(faults=["latency"])
    started = time.monotonic()
    requests.get(replica.env["CTJUD_BASE_URL"] + "/" + SEARCH, timeout=10)
    assert time.monotonic() - started >= 0.3


def test_drop_connection_fault_closes_some_connections(replica_factory):
    replica = replica_factory(faults=["drop-connection"], fault_every=2)
    url = replica.env["CTJUD_BASE_URL"] + "/" + SEARCH
    outcomes = []
    for _ in range(4):
        try:
            outcomes.append(requests.get(url, timeout=10).status_code)
        except requests.exceptions.ConnectionError:
            outcomes.append("dropped")
    assert outcomes == [200, 200, "dropped", "dropped"]


def test_truncated_html_fault_cuts_pages(replica_factory):
    replica = replica_factory(faults=["truncated-html"], fault_every=2)
    url = replica.env["CTJUD_BASE_URL"] + "/" + SEARCH
    bodies = [requests.get(url, timeout=10).text for _ in range(4)]
    complete = [b.rstrip().endswith("</html>") for b in bodies]
    assert complete == [True, True, False, False]


def test_changed_layout_renames_the_grid(replica_factory):
    replica = replica_factory(faults=["changed-layout"])
    page = Client(replica.env["CTJUD_BASE_URL"]).search("Hartford")
    sel = Selector(page.text)
    assert not sel.css("#ctl00_ContentPlaceHolder1_gvPropertyResults")
    assert sel.css("#ctl00_ContentPlaceHolder1_gvPropertyResultsNew tr.grdRow")


def test_viewstate_expiry_fault_expires_sessions(replica_factory):
    replica = replica_factory(faults=["viewstate-expiry"], session_expire_after=2)
    client = Client(replica.env["CTJUD_BASE_URL"])
    # The session is created by the first GET; later requests count against it.
    assert grid_rows(client.search("Hartford").text)  # counted: 1
    client.search_form()  # 2
    data = client.search_data("Hartford")
    first_cookie = client.http.cookies["ASP.NET_SessionId"]
    client.get(SEARCH)  # 3: expired, a new session starts
    assert client.http.cookies["ASP.NET_SessionId"] != first_cookie
    resp = client.post(SEARCH, data)  # the old page's NoBot key died with its session
    assert not grid_rows(resp.text)
    assert (
        "session"
        in Selector(resp.text).css("#ctl00_ContentPlaceHolder1_lblMessage::text").get()
    )


def test_nobot_reject_fault_refuses_every_answer(replica_factory):
    replica = replica_factory(faults=["nobot-reject"])
    resp = Client(replica.env["CTJUD_BASE_URL"]).search("Hartford")
    assert not grid_rows(resp.text)
    assert Selector(resp.text).css("#ctl00_ContentPlaceHolder1_lblMessage::text").get()


def test_nobot_unknown_script_fault_defeats_plain_clients(replica_factory):
    replica = replica_factory(faults=["nobot-unknown-script"])
    client = Client(replica.env["CTJUD_BASE_URL"])
    page = client.search_form()
    assert not re.search(r'"ChallengeScript":"~\d+"', page.text)
    assert re.search(r'"ChallengeScript":"\(function', page.text)
    assert not grid_rows(client.search("Hartford").text)


def test_unknown_fault_name_is_rejected(replica_factory):
    with pytest.raises(ValueError, match="unknown fault"):
        replica_factory(faults=["gremlins"])


def test_faults_combine(replica_factory):
    replica = replica_factory(faults=["http-503", "changed-layout"], fault_every=2)
    client = Client(replica.env["CTJUD_BASE_URL"])
    statuses = [client.search_form().status_code for _ in range(4)]
    assert statuses == [200, 200, 503, 503]  # the burst
    client.search_form()  # 5th request: served
    resp = client.post(SEARCH, client.search_data("Hartford"))  # 6th: served
    assert resp.status_code == 200
    sel = Selector(resp.text)
    assert sel.css("#ctl00_ContentPlaceHolder1_gvPropertyResultsNew tr.grdRow")
