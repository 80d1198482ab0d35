"""The replica's pending foreclosure sales pages agree with the truth."""

from __future__ import annotations

from datetime import date

import pytest
import requests
from parsel import Selector


@pytest.fixture(scope="module")
def sales_replica():
    from tests.replica.server import ReplicaServer

    with ReplicaServer(cases=500, seed=4) as server:
        yield server


def _expected(replica) -> dict[str, list[dict]]:
    today = requests.get(replica.root + "/_replica/info", timeout=10).json()["today"]
    by_town: dict[str, list[dict]] = {}
    for t in replica.truth():
        if t["is_active"] and t["judgment_type"] == "sale" and t["sale_date"] >= today:
            by_town.setdefault(t["search_town"], []).append(t)
    return by_town


def test_town_list_counts_pending_sales(sales_replica):
    base = sales_replica.env["CTJUD_SALES_BASE_URL"]
    html = requests.get(
        f"{base}/PendPostbyTownList.aspx?Caller=Public", timeout=10
    ).text
    panel = Selector(html).css("#ctl00_cphBody_Panel1")
    towns = panel.css("a::text").getall()
    counts = [int(n) for n in panel.css("span::text").getall() if n.strip().isdigit()]
    expected = _expected(sales_replica)
    assert expected, "seed 4 should have pending sales"
    assert dict(zip(towns, counts, strict=True)) == {
        t: len(v) for t, v in expected.items()
    }


def test_town_details_rows_match_truth(sales_replica):
    base = sales_replica.env["CTJUD_SALES_BASE_URL"]
    expected = _expected(sales_replica)
    town = max(expected, key=lambda t: len(expected[t]))
    html = requests.get(
        f"{base}/PendPostbyTownDetails.aspx", params={"town": town}, timeout=10
    ).text
    sel = Selector(html)
    assert sel.css("#ctl00_cphBody_lbltown::text").get() == town
    grid = sel.css("table[id$='GridView1']")
    assert [h.strip() for h in grid.css("th::text").getall()[:4]] == [
        "#",
        "Sale Date",
        "Docket Number",
        "Type of Sale & Property Address",
    ]
    rows = grid.xpath("./tr[td]")
    dockets = [r.css("a[href^='PendPostbyDocketNo']::text").get() for r in rows]
    assert sorted(dockets) == sorted(t["docket_no"] for t in expected[town])
    by_docket = {t["docket_no"]: t for t in expected[town]}
    for row, docket in zip(rows, dockets, strict=True):
        when = row.css("span[id$='_Label1']::text").get()
        sale = date.fromisoformat(by_docket[docket]["sale_date"])
        assert when == sale.strftime("%m/%d/%Y")
        heading = row.css("span[id$='_Label2']").xpath("string()").get()
        assert heading.startswith("PUBLIC AUCTION") and "ADDRESS:" in heading


def test_notice_detail_shows_sale_date(sales_replica):
    """The notice prints its date as the mocks do ("Aug 29, 2026"), with its ids
    led by ``ctl00_`` for even posting ids and not for odd ones (both were seen)."""
    base = sales_replica.env["CTJUD_SALES_BASE_URL"]
    expected = _expected(sales_replica)
    prefixes = set()
    for town, sales in expected.items():
        html = requests.get(
            f"{base}/PendPostbyTownDetails.aspx", params={"town": town}, timeout=10
        ).text
        for link in Selector(html).css("a[href^='PendPostDetailPublic']::attr(href)"):
            posting = int(link.get().rsplit("=", 1)[1])
            prefix = "ctl00_cphBody_" if posting % 2 == 0 else "cphBody_"
            notice = Selector(requests.get(f"{base}/{link.get()}", timeout=10).text)
            sale_date = notice.css(f"#{prefix}lblSaleDate::text").get()
            docket = notice.css(f"#{prefix}uEfileCaseInfo1_hlnkDocketNo::text").get()
            truth = next(t for t in sales if t["docket_no"] == docket.replace("-", ""))
            day = date.fromisoformat(truth["sale_date"])
            assert sale_date == day.strftime("%b %d, %Y")
            prefixes.add(prefix)
    assert prefixes == {"ctl00_cphBody_", "cphBody_"}


def test_unknown_posting_is_not_found(sales_replica):
    base = sales_replica.env["CTJUD_SALES_BASE_URL"]
    resp = requests.get(f"{base}/PendPostDetailPublic.aspx?PostingId=1", timeout=10)
    assert resp.status_code == 404


def test_town_details_structure_matches_capture(sales_replica):
    import re

    import lxml.html

    from tests.conftest import fixture_path

    real = fixture_path("sales/town_details__fairfield_2026-08-10.html").read_text(
        encoding="utf-8"
    )
    base = sales_replica.env["CTJUD_SALES_BASE_URL"]
    town = next(iter(_expected(sales_replica)))
    mine = requests.get(
        f"{base}/PendPostbyTownDetails.aspx", params={"town": town}, timeout=10
    ).text

    def ids(html):
        doc = lxml.html.fromstring(html)
        out = []
        for el in doc.iter():
            ident = el.get("id")
            if ident:
                norm = re.sub(r"_ctl\d+_", "_ctlNN_", ident)
                if norm not in out:
                    out.append(norm)
        return out

    assert ids(mine) == ids(real)
    real_grid = lxml.html.fromstring(real).get_element_by_id("ctl00_cphBody_GridView1")
    my_grid = lxml.html.fromstring(mine).get_element_by_id("ctl00_cphBody_GridView1")
    assert lxml.html.tostring(my_grid.find(".//tr")) == lxml.html.tostring(
        real_grid.find(".//tr")
    )
    real_row, my_row = real_grid.findall(".//tr")[1], my_grid.findall(".//tr")[1]
    assert my_row.get("style") == real_row.get("style")
    assert [td.tag for td in my_row] == [td.tag for td in real_row]
