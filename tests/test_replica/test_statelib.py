"""The replica's State Library towns page and robots.txt."""

from __future__ import annotations

import pytest
import requests

from tests.replica.statelib import FIXTURES, LAYOUT_FILES


@pytest.mark.parametrize("layout", sorted(LAYOUT_FILES))
def test_towns_page_serves_each_layout(replica, layout):
    resp = requests.get(
        replica.env["STATE_LIBRARY_TOWNS_URL"], params={"layout": layout}, timeout=10
    )
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert resp.content == (FIXTURES / LAYOUT_FILES[layout]).read_bytes()


def test_towns_page_default_layout_is_a_server_option(replica_factory):
    default = replica_factory()
    table = replica_factory(statelib_layout="table")
    body_default = requests.get(
        default.env["STATE_LIBRARY_TOWNS_URL"], timeout=10
    ).content
    body_table = requests.get(table.env["STATE_LIBRARY_TOWNS_URL"], timeout=10).content
    assert body_default == (FIXTURES / LAYOUT_FILES["entries"]).read_bytes()
    assert body_table == (FIXTURES / LAYOUT_FILES["table"]).read_bytes()


def test_partial_layout_lists_fewer_towns_than_full(replica):
    url = replica.env["STATE_LIBRARY_TOWNS_URL"]
    full = requests.get(url, params={"layout": "table"}, timeout=10).text
    partial = requests.get(url, params={"layout": "partial"}, timeout=10).text
    assert "Hartford" in full and "Windham" in partial
    assert "Greenwich" in full and "Greenwich" not in partial


def test_unknown_layout_is_not_found(replica):
    url = replica.env["STATE_LIBRARY_TOWNS_URL"]
    assert requests.get(url, params={"layout": "nope"}, timeout=10).status_code == 404


def test_robots_allows_all_by_default(replica):
    resp = requests.get(replica.root + "/robots.txt", timeout=10)
    assert resp.status_code == 200
    assert "Disallow: /" not in resp.text
    assert "User-agent: *" in resp.text


def test_robots_disallow_fault(replica_factory):
    replica = replica_factory(faults=["robots-disallow"])
    assert (
        "Disallow: /\n" in requests.get(replica.root + "/robots.txt", timeout=10).text
    )
