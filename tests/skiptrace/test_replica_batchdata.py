"""The BatchData stand-in itself: the shapes and behaviours the client relies on."""

from __future__ import annotations

import requests

from tests.replica.batchdata import TEST_API_KEY, fake_person

#: Keys of a person and of a phone in the official mock's answer (capture B,
#: docs/SITES.md §7.3) that the client reads.
MOCK_PERSON_KEYS = {
    "name",
    "phoneNumbers",
    "emails",
    "meta",
    "propertyAddress",
    "mailingAddress",
    "litigator",
    "dnc",
    "bankruptcy",
    "involuntaryLien",
    "_id",
}
MOCK_PHONE_KEYS = {"number", "carrier", "type", "tested", "reachable", "score"}
AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}
ITEM = {
    "propertyAddress": {"street": "10 Example Road", "zip": "06101", "state": "CT"},
    "name": {"first": "AVERY", "last": "EXAMPLE"},
    "requestId": "r1",
}


def _post(server, body, headers=AUTH):
    return requests.post(
        f"{server.base_url}/property/skip-trace", json=body, headers=headers, timeout=5
    )


def test_replica_answers_in_the_v1_shape(batchdata):
    response = _post(batchdata, {"requests": [ITEM, ITEM]})
    assert response.status_code == 200
    payload = response.json()
    assert payload["status"] == {"code": 200, "text": "OK"}
    meta = payload["results"]["meta"]
    assert meta["results"]["requestCount"] == 2
    assert meta["requestId"]
    persons = payload["results"]["persons"]
    assert len(persons) == 2 and persons[0] == persons[1]  # deterministic
    matched = next(
        p
        for p in (
            fake_person(0, {**ITEM, "name": {"first": f"A{i}", "last": "EXAMPLE"}})
            for i in range(20)
        )
        if p["meta"]["matched"]
    )
    assert set(matched) >= MOCK_PERSON_KEYS
    assert set(matched["phoneNumbers"][0]) >= MOCK_PHONE_KEYS


def test_replica_fakes_differ_by_seed_and_some_do_not_match():
    items = [{**ITEM, "name": {"first": f"P{i}", "last": "EXAMPLE"}} for i in range(50)]
    answers = [fake_person(0, item) for item in items]
    assert 0 < sum(1 for a in answers if not a["meta"]["matched"]) < 25
    assert answers != [fake_person(1, item) for item in items]


def test_replica_refuses_a_bad_token(batchdata):
    response = _post(batchdata, {"requests": [ITEM]}, headers={"Authorization": "x"})
    assert response.status_code == 401
    assert response.json()["status"]["code"] == 401
    assert batchdata.billed() == []


def test_replica_rejects_malformed_bodies(batchdata):
    for body in (
        {},
        {"requests": []},
        {"requests": [{"name": ITEM["name"]}]},
        {"requests": [ITEM] * 101},
    ):
        assert _post(batchdata, body).status_code == 400
    raw = requests.post(
        f"{batchdata.base_url}/property/skip-trace",
        data="{not json",
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=5,
    )
    assert raw.status_code == 400


def test_replica_bills_matched_records_only_and_resets(batchdata):
    items = [
        {**ITEM, "name": {"first": f"P{i}", "last": "EXAMPLE"}, "requestId": f"r{i}"}
        for i in range(20)
    ]
    persons = _post(batchdata, {"requests": items}).json()["results"]["persons"]
    matched = {
        it["requestId"]
        for it, p in zip(items, persons, strict=True)
        if p["meta"]["matched"]
    }
    assert {b["requestId"] for b in batchdata.billed()} == matched
    requests.post(f"{batchdata.root}/batchdata/_ledger/reset", timeout=5)
    assert batchdata.billed() == []


def test_replica_leaves_out_tcpa_phones_unless_asked():
    items = [{**ITEM, "name": {"first": f"P{i}", "last": "EXAMPLE"}} for i in range(40)]
    without = [p for it in items for p in fake_person(0, it)["phoneNumbers"]]
    with_tcpa = [
        p for it in items for p in fake_person(0, it, include_tcpa=True)["phoneNumbers"]
    ]
    assert not any(p["tcpa"] for p in without)
    assert any(p["tcpa"] for p in with_tcpa)
    assert all(p["number"][3:7] == "5550" for p in with_tcpa)  # 555-01xx: fiction
