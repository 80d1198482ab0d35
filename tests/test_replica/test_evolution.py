"""Evolution: days bring new cases, dispositions, entries, law days, sale dates,
removed parties and withdrawn cases, and never rewrite a case's history."""

from __future__ import annotations

import pytest
from parsel import Selector

from tests.replica.data import Dataset
from tests.replica.evolution import advance
from tests.replica.truth import truth

from .client import Client


@pytest.fixture(scope="module")
def before_after():
    day0 = {t["docket_no"]: t for t in truth(Dataset(seed=3, cases=400))}
    later = Dataset(seed=3, cases=400)
    changes = advance(later, 2)
    day2 = {t["docket_no"]: t for t in truth(later)}
    return day0, day2, changes


def test_day_brings_every_kind_of_change(before_after):
    _, _, changes = before_after
    kinds = {c["kind"] for c in changes}
    assert kinds == {
        "new_case",
        "disposition",
        "docket_entry",
        "law_day",
        "sale_date",
        "remove_party",
        "withdraw",
    }


def test_changes_show_in_truth(before_after):
    day0, day2, changes = before_after
    for change in changes:
        docket = change["docket_no"]
        if change["kind"] == "new_case":
            assert docket not in day0 and docket in day2
        elif change["kind"] == "withdraw":
            assert docket in day0 and docket not in day2
    final = {c["docket_no"]: c for c in changes}  # last change per docket
    for docket, change in final.items():
        if change["kind"] == "disposition":
            assert day0[docket]["is_active"] and not day2[docket]["is_active"]
            assert day2[docket]["listing_disposition"] == change["disposition"]
        elif change["kind"] == "law_day":
            assert day2[docket]["law_day"] == change["law_day"]
            assert day2[docket]["judgment_type"] == "strict"
        elif change["kind"] == "sale_date":
            assert day2[docket]["sale_date"] == change["sale_date"]
            assert day2[docket]["judgment_type"] == "sale"
        elif change["kind"] == "remove_party":
            assert change["party_no"] in {
                p["party_no"] for p in day0[docket]["parties"]
            }
            assert change["party_no"] not in {
                p["party_no"] for p in day2[docket]["parties"]
            }


def test_history_is_appended_never_rewritten(before_after):
    day0, day2, _ = before_after
    grew = 0
    for docket, old in day0.items():
        new = day2.get(docket)
        if new is None:
            continue
        n = len(old["docket_entries"])
        assert new["docket_entries"][:n] == old["docket_entries"]
        grew += len(new["docket_entries"]) > n
        for field in ("case_name", "listing_street", "listing_zip", "file_date"):
            assert new[field] == old[field]
    assert grew >= 3


def test_same_seed_and_day_give_identical_data():
    a, b = Dataset(seed=5, cases=200), Dataset(seed=5, cases=200)
    advance(a, 3)
    advance(b, 1)
    advance(b, 2)
    assert truth(a) == truth(b)


def test_day_option_starts_the_replica_evolved(replica_factory):
    plain = replica_factory(seed=2)
    evolved = replica_factory(seed=2, day=2)
    dataset = Dataset(seed=2, cases=300)
    advance(dataset, 2)
    assert evolved.truth() == truth(dataset)
    assert evolved.truth() != plain.truth()


def test_mutate_endpoint_sets_a_law_day_the_case_page_shows(replica):
    case = next(
        t for t in replica.truth() if t["is_active"] and t["judgment_type"] is None
    )
    report = replica.mutate(kind="law_day", docket=case["docket_no"])
    (change,) = report["changes"]
    assert change["docket_no"] == case["docket_no"]
    after = next(t for t in replica.truth() if t["docket_no"] == case["docket_no"])
    assert after["law_day"] == change["law_day"] and after["judgment_type"] == "strict"
    client = Client(replica.env["CTJUD_BASE_URL"])
    page = client.get(f"LoadDocket.aspx?DocketNo={case['docket_display']}")
    results = (
        Selector(page.text).css("span[id$='_lblResult']").xpath("string()").getall()
    )
    month, day_, year = (
        change["law_day"][5:7],
        change["law_day"][8:],
        change["law_day"][:4],
    )
    assert any(f"{month}/{day_}/{year}" in r for r in results)


def test_mutate_days_advances_the_clock(replica):
    report = replica.mutate(days=1)
    assert report["day"] == 1 and report["changes"]
    new = [c["docket_no"] for c in report["changes"] if c["kind"] == "new_case"]
    assert set(new) <= {t["docket_no"] for t in replica.truth(listing_only=True)}


def test_mutate_rejects_unknown_kind(replica):
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as err:
        replica.mutate(kind="earthquake")
    assert err.value.code == 400
