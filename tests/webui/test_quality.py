"""The data-quality report, as a manager uses it: a replica crawl whose faults
produce each flag, the counts per town and per crawl, and the links to the cases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import pytest_twisted
import sqlalchemy as sa
from parsel import Selector

from ctforeclosure import db
from ctforeclosure.store import quality
from tests.pipelines.test_replica_crawl import TOWNS, crawl_cases
from tests.replica.faults import hits_case
from tests.webui.conftest import api_token

DATA_FAULTS = ("address-other-town", "case-page-500", "zip-missing")
CASE_LINK_RE = re.compile(r'href="/cases/([A-Z0-9]+)"')
CT_ZIP_RE = re.compile(r"06\d{3}")


@pytest.fixture
def manager(as_role):
    return as_role("manager")


def _expected(truth: list[dict]) -> dict[str, set[str]]:
    """Return flag -> dockets, from what the replica serves and its faults."""
    dockets = [c["docket_no"] for c in truth]
    failed = {d for d in dockets if hits_case("case-page-500", d)}
    read = [c for c in truth if c["docket_no"] not in failed]
    return {
        "listing_only": failed,
        "town_mismatch": {
            d for d in dockets if d not in failed and hits_case("address-other-town", d)
        },
        "zip_missing": {c["docket_no"] for c in truth if not c["listing_zip"]},
        "zip_dirty": {
            c["docket_no"]
            for c in truth
            if c["listing_zip"] and not CT_ZIP_RE.fullmatch(c["listing_zip"])
        },
        # "See Clerk's Note", or a street line without a house number
        "address_unparsed": {
            c["docket_no"] for c in read if not c["property_street"][0].isdigit()
        },
    }


def _linked_dockets(client, href: str) -> set[str]:
    html = client.get(href + "&per_page=200").get_data(as_text=True)
    table = Selector(html).css("table#cases").get()
    return set(CASE_LINK_RE.findall(table))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest_twisted.ensureDeferred
async def test_report_counts_each_flag_of_a_faulted_replica_crawl(
    replica_factory, seeded_db_url, manager, monkeypatch
):
    site = replica_factory(cases=120, towns=TOWNS, seed=3, faults=DATA_FAULTS)
    monkeypatch.setenv("DATABASE_URL", seeded_db_url)
    await crawl_cases(site, CASE_MAX_ATTEMPTS=2)
    expected = _expected(site.truth())
    assert all(expected.values()), expected  # every fault hit some case

    page = Selector(manager.get("/quality/").get_data(as_text=True))
    for town in TOWNS:
        in_town = {c["docket_no"] for c in site.truth(town)}
        for flag, dockets in expected.items():
            mine = dockets & in_town
            cell = page.css(f'tr[data-town="{town}"] td[data-flag="{flag}"]')
            assert cell.css("::text, a::text").get() == str(len(mine)), (town, flag)
            if mine:
                href = cell.css("a::attr(href)").get()
                assert _linked_dockets(manager, href) == mine, (town, flag)

    crawl = page.css("table#quality-trend tbody tr")[0]
    for flag, dockets in expected.items():
        count = crawl.css(f'td[data-flag="{flag}"]::text').get()
        assert count == str(len(dockets)), flag


def test_report_and_cases_list_name_a_bad_parameter(manager):
    # who may read the report: tests/webui/test_roles.py
    refused = manager.get("/quality/?missed=0")
    assert refused.status_code == 400 and "missed" in refused.get_data(as_text=True)
    bad = manager.get("/cases/?quality=dirty")
    assert bad.status_code == 400 and "quality" in bad.get_data(as_text=True)


def _finished_crawls(conn, town: str, count: int, after: datetime) -> None:
    for n in range(count):
        conn.execute(
            db.crawl_runs.insert().values(
                spider="cases",
                args={"town": town},
                started_at=after + timedelta(minutes=n + 1),
                finished_at=after + timedelta(minutes=n + 2),
                status="finished",
            )
        )


def test_not_seen_counts_listed_cases_the_last_crawls_missed(app, manager):
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        listed = set(
            conn.execute(
                sa.select(db.cases.c.docket_no).where(
                    db.cases.c.search_town == "Hartford", db.cases.c.listed.is_(True)
                )
            ).scalars()
        )
        _finished_crawls(conn, "hartford", 2, datetime.now(UTC) + timedelta(hours=1))
    assert listed

    def hartford_cell(missed: int):
        html = manager.get(f"/quality/?missed={missed}").get_data(as_text=True)
        return Selector(html).css('tr[data-town="Hartford"] td[data-flag="not_seen"]')

    assert hartford_cell(3).css("::text").get() == "0"  # only two crawls since
    cell = hartford_cell(2)
    assert cell.css("a::text").get() == str(len(listed))
    assert _linked_dockets(manager, cell.css("a::attr(href)").get()) == listed


def test_api_filters_cases_by_quality_and_refuses_unknown_flags(app, client):
    headers = {"Authorization": f"Bearer {api_token(app, 'viewer')}"}
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        unread = set(
            conn.execute(
                sa.select(db.cases.c.docket_no).where(
                    db.cases.c.detail_fetched_at.is_(None)
                )
            ).scalars()
        )
    assert unread  # the seed has cases whose page was never read
    body = client.get("/api/v1/cases?quality=listing_only", headers=headers).json
    assert {c["docket_no"] for c in body["cases"]} == unread
    assert body["filters"] == {"quality": "listing_only"}
    refused = client.get("/api/v1/cases?quality=nope", headers=headers)
    assert refused.status_code == 400 and refused.json["parameter"] == "quality"
    refused = client.get("/api/v1/cases?quality=not_seen&missed=101", headers=headers)
    assert refused.status_code == 400 and refused.json["parameter"] == "missed"


def test_openapi_lists_the_quality_flags_and_the_missed_bounds(app, client):
    headers = {"Authorization": f"Bearer {api_token(app, 'viewer')}"}
    spec = client.get("/api/v1/openapi.json", headers=headers).json
    described = {p["name"]: p for p in spec["paths"]["/cases"]["get"]["parameters"]}
    assert described["quality"]["schema"]["enum"] == list(quality.QUALITY_FLAGS)
    missed = described["missed"]["schema"]
    assert (missed["minimum"], missed["maximum"]) == (1, 100)
