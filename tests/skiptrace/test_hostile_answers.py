"""BatchData answers meet hostile JSON: random structures and mutated real shapes.

The answer of a 200 is read by ``client.read_answer`` (persons and request id) and
each person by ``store.contact_rows`` (phones and emails). Hypothesis sends random
JSON built from the answer's own keys, random bytes, NaN and infinite numbers, deep
nesting, and the replica's real-shaped answers with parts replaced, removed or
copied. Every body either is refused as :class:`AmbiguousOutcome` (the records may
have been billed, so they wait for reconcile) or gives one person object per record
whose rows fit their columns and come from the person's own fields — never another
exception, never a hang.
"""

from __future__ import annotations

import copy
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctforeclosure import db
from ctforeclosure.skiptrace.client import AmbiguousOutcome, read_answer
from ctforeclosure.skiptrace.store import contact_rows
from tests.conftest import HOSTILE
from tests.replica.batchdata import fake_person

#: The answer's own keys, so random objects often look like parts of an answer.
KEYS = st.one_of(
    st.sampled_from(
        [
            "status",
            "results",
            "persons",
            "meta",
            "requestId",
            "matched",
            "phoneNumbers",
            "emails",
            "number",
            "email",
            "type",
            "carrier",
            "score",
            "dnc",
            "tcpa",
            "name",
            "mailingAddress",
        ]
    ),
    st.text(max_size=8),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and infinities included: json.dumps writes them
    st.text(max_size=30),
    st.sampled_from(["8605550123", "(203) 555-0199", "+1 475 555 0100", "a@b.example"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)
    ),
    max_leaves=40,
)
COUNT = st.integers(1, 3)


def _real_answer(count: int, seed: int) -> dict:
    """Return the replica's answer to ``count`` records: real shape, fake people."""
    items = [
        {
            "propertyAddress": {"street": f"{n} Example Road", "state": "CT"},
            "name": {"first": "AVERY", "last": f"EXAMPLE{n}"},
        }
        for n in range(count)
    ]
    persons = [fake_person(seed, item) for item in items]
    return {
        "status": {"code": 200, "text": "OK"},
        "results": {"persons": persons, "meta": {"requestId": "r-1"}},
    }


def _nodes(value, path=()):
    """Yield (path, value) for every node of a JSON value."""
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _nodes(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _nodes(child, (*path, index))


def _mutate(answer: dict, op: tuple) -> dict:
    """Replace, remove or copy one node (picked modulo the node count)."""
    kind, pick, replacement = op
    nodes = [n for n in _nodes(answer) if n[0]]
    if not nodes:  # everything removed already: "{}"
        return answer
    path, _ = nodes[pick % len(nodes)]
    parent = answer
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if kind == "replace":
        parent[last] = replacement
    elif kind == "remove":
        del parent[last]
    elif isinstance(parent, list):  # "copy": a list item twice
        parent.insert(last, copy.deepcopy(parent[last]))
    return answer


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["replace", "remove", "copy"]), st.integers(0, 10**4), JSON
    ),
    min_size=1,
    max_size=4,
)


def check_answer(body: bytes, count: int) -> None:
    """Assert the body is refused as ambiguous, or read into rows that hold."""
    try:
        persons, request_id = read_answer(body, count)
    except AmbiguousOutcome as exc:
        assert "billed" in str(exc) or "who is who" in str(exc)
        return
    assert len(persons) == count
    assert request_id is None or 0 < len(request_id) <= 64
    for person in persons:
        assert isinstance(person, dict)
        assert isinstance(person.get("meta") or {}, dict)  # "matched" can be read
        json.dumps(person, allow_nan=False)  # storable as JSON, NaN refused above
        check_contacts(person)


def check_contacts(person: dict) -> None:
    """Assert each phone and email row fits its column and comes from the person."""
    phones, emails = contact_rows(7, person)
    raw_phones, raw_emails = person.get("phoneNumbers"), person.get("emails")
    columns = db.skiptrace_phones.c
    for row in phones:
        raw = raw_phones[row["rank"] - 1]
        assert re.fullmatch(r"\+1[2-9]\d{9}", row["number"])
        assert re.sub(r"\D", "", str(raw["number"])).endswith(row["number"][2:])
        for name in ("type", "carrier"):
            value = row[name]
            assert value is None or raw[name].startswith(value)
            assert value is None or len(value) <= getattr(columns, name).type.length
        assert row["score"] is None or row["score"] == int(raw["score"])
        assert row["score"] is None or -(2**31) <= row["score"] < 2**31
        assert row["dnc"] in (None, raw.get("dnc"))
        assert row["tcpa"] in (None, raw.get("tcpa"))
        assert row["result_id"] == 7
    for row in emails:
        raw = raw_emails[row["rank"] - 1]["email"]
        assert row["email"] == raw.strip() and 0 < len(row["email"]) <= 254


@settings(HOSTILE, max_examples=50)
@given(value=JSON, count=COUNT)
def test_read_answer_on_random_json_refuses_or_reads_rows_that_hold(value, count):
    check_answer(json.dumps(value).encode(), count)


@settings(HOSTILE, max_examples=50)
@given(
    value=st.dictionaries(KEYS, JSON, max_size=3),
    persons=st.lists(JSON, min_size=1, max_size=3),
)
def test_read_answer_on_random_persons_refuses_or_reads_rows_that_hold(value, persons):
    body = {"results": {"persons": persons, "meta": value}}
    check_answer(json.dumps(body).encode(), len(persons))


@HOSTILE
@given(count=COUNT, seed=st.integers(0, 50), mutations=MUTATIONS)
def test_read_answer_on_mutated_real_answers_refuses_or_reads_rows_that_hold(
    count, seed, mutations
):
    answer = _real_answer(count, seed)
    for op in mutations:
        answer = _mutate(answer, op)
    check_answer(json.dumps(answer).encode(), count)


@HOSTILE
@given(body=st.binary(max_size=512), count=COUNT)
def test_read_answer_on_random_bytes_refuses_or_reads_rows_that_hold(body, count):
    check_answer(body, count)


PERSON = {"meta": {"matched": True}}


@pytest.mark.parametrize(
    "body",
    [
        b'{"results": {"persons": [{"meta": {"matched": true}, "x": NaN}]}}',
        b'{"results": {"persons": [{"meta": {"matched": true}, "score": 1e400}]}}',
        b"[" * 100_000 + b"]" * 100_000,  # was RecursionError
        json.dumps({"results": {"persons": [1]}}).encode(),  # was AttributeError
        json.dumps({"results": {"persons": [{"meta": [1]}]}}).encode(),
        json.dumps({"results": {"persons": [PERSON], "meta": [1]}}).encode(),
    ],
    ids=["nan", "1e400", "deep", "person-1", "meta-list", "results-meta-list"],
)
def test_read_answer_refuses_what_no_column_or_reader_can_hold(body):
    """The minimal bodies the property tests found (each crashed or stored junk)."""
    with pytest.raises(AmbiguousOutcome, match="billed"):
        read_answer(body, 1)


def test_contact_rows_leave_out_what_is_not_a_phone_or_an_email():
    person = {
        "phoneNumbers": [
            "8605550123",  # not an object: was AttributeError
            {"number": ["8605550123"]},  # a list is not a number
            {"number": "8605550123", "type": "M" * 40, "score": 1e30},
            {"number": 2035550199, "carrier": {"name": "X"}, "score": True},
        ],
        "emails": [{"email": "x" * 300}, {"email": 5}, {"email": " a@b.example "}],
    }
    phones, emails = contact_rows(1, person)
    assert [(p["number"], p["type"], p["score"], p["rank"]) for p in phones] == [
        ("+18605550123", "M" * 24, None, 3),
        ("+12035550199", None, None, 4),
    ]
    assert [(e["email"], e["rank"]) for e in emails] == [("a@b.example", 3)]
    assert contact_rows(1, {"phoneNumbers": "8605550123", "emails": 5}) == ([], [])
