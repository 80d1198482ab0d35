"""GET /api/v1/changes: an integrator pages through every change once, filters by
kind, town, county or a saved search it may see, and a bad argument is a 400 naming
it (SQLite and PostgreSQL; the PostgreSQL ordering is tests/store/test_feed.py's)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import (
    DOCKET_HARTFORD,
    DOCKET_NEW_HAVEN,
    DOCKET_OLD,
    api_token,
    save_search,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _engine(app):
    return app.extensions["ctforeclosure_engine"]


@pytest.fixture
def feed(app):
    """The seeded database with four more changes; a viewer's token and its GET."""
    with _engine(app).begin() as conn:
        for docket, kind, new in (
            (DOCKET_NEW_HAVEN, "judgment", "strict"),
            (DOCKET_HARTFORD, "phones_found", {"party_no": "D-01", "phones": 2}),
            (DOCKET_OLD, "new_case", {"search_town": "Hartford"}),
            (DOCKET_NEW_HAVEN, "law_day", "2027-01-12"),
        ):
            conn.execute(
                db.case_changes.insert().values(
                    docket_no=docket, kind=kind, new_value=new, seen_at=NOW
                )
            )
    token = api_token(app, "viewer")
    client = app.test_client()

    def get(**args):
        headers = {"Authorization": f"Bearer {token}"}
        return client.get("/api/v1/changes", query_string=args, headers=headers)

    return get


def _all_ids(app) -> list[int]:
    with _engine(app).connect() as conn:
        ids = sa.select(db.case_changes.c.id).order_by(db.case_changes.c.id)
        return conn.execute(ids).scalars().all()


def _page_through(get, **args) -> list[dict]:
    changes, after = [], None
    while True:
        body = get(**args, **({"after": after} if after else {})).get_json()
        changes += body["changes"]
        after = body["next"]
        if not body["more"]:
            return changes


def test_paging_returns_every_change_once_with_its_sentence(app, feed):
    changes = _page_through(feed, limit=2)
    assert [c["id"] for c in changes] == _all_ids(app)
    judgment = next(c for c in changes if c["kind"] == "judgment")
    assert judgment["town"] == "New Haven"
    assert judgment["text"] == "judgment of strict foreclosure entered"
    phones = next(c for c in changes if c["kind"] == "phones_found")
    assert phones["text"] == "skip trace found 2 phones for party D-01"
    last = feed(limit=1000).get_json()
    assert feed(after=last["next"]).get_json()["changes"] == []


def test_kinds_town_and_county_narrow_the_feed(feed):
    kinds = _page_through(feed, kinds="judgment, law_day")
    assert {c["kind"] for c in kinds} == {"judgment", "law_day"}
    assert len(kinds) == 3
    new_haven = _page_through(feed, town="new haven")
    assert {c["docket_no"] for c in new_haven} == {DOCKET_NEW_HAVEN}
    assert {c["county"] for c in _page_through(feed, county="Hartford")} == {"Hartford"}


#: Arguments the feed refuses, and the parameter its 400 names.
BAD_ARGUMENTS = [
    ({"after": "not-a-cursor"}, "after"),
    ({"after": "eyJ0IjotMSwiaSI6MCwicCI6W119"}, "after"),  # {"t":-1,...}
    ({"kinds": "judgment,lawday"}, "kinds"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
    ({"town": "Atlantis"}, "town"),
    ({"county": "Kings"}, "county"),
    ({"saved_search": "first"}, "saved_search"),
]


def test_a_bad_argument_is_a_400_naming_it(feed):
    for args, parameter in BAD_ARGUMENTS:
        response = feed(**args)
        assert response.status_code == 400, args
        assert response.get_json()["parameter"] == parameter, args


def test_a_saved_search_narrows_to_its_cases_when_visible_and_valid(app, feed):
    own = save_search(app, "viewer", "New Haven", {"town": "New Haven"})
    shared = save_search(
        app, "manager", "Hartford", {"county": "Hartford"}, shared=True
    )
    private = save_search(app, "manager", "Mine", {"town": "New Haven"})
    in_new_haven = _page_through(feed, saved_search=own)
    assert {c["docket_no"] for c in in_new_haven} == {DOCKET_NEW_HAVEN}
    assert len(in_new_haven) == 2
    in_hartford = _page_through(feed, saved_search=shared, kinds="phones_found")
    assert [c["docket_no"] for c in in_hartford] == [DOCKET_HARTFORD]
    hidden = feed(saved_search=private)
    assert hidden.status_code == 404
    assert hidden.get_json()["parameter"] == "saved_search"
    # a filter that no longer reads (a renamed town) is refused, never widened
    renamed = save_search(app, "viewer", "Gone", {"town": "Atlantis"})
    response = feed(saved_search=renamed)
    assert response.status_code == 409
    body = response.get_json()
    assert body["parameter"] == "saved_search"
    assert "no longer reads" in body["error"] and "Atlantis" in body["error"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_change_committed_late_still_reaches_the_integrator_once(app, feed):
    """Through the API, on PostgreSQL: transaction A writes a change and stays open,
    B writes one and commits; a read returns B; A commits; the next read returns A;
    then nothing."""
    cursor = feed(limit=1000).get_json()["next"]
    with _engine(app).connect() as a:
        a.begin()
        a.execute(
            db.case_changes.insert().values(
                docket_no=DOCKET_OLD, kind="judgment", new_value="sale", seen_at=NOW
            )
        )
        with _engine(app).begin() as b:
            b.execute(
                db.case_changes.insert().values(
                    docket_no=DOCKET_HARTFORD, kind="law_day", seen_at=NOW
                )
            )
        body = feed(after=cursor).get_json()
        assert [c["kind"] for c in body["changes"]] == ["law_day"]
        cursor = body["next"]
        a.commit()
    body = feed(after=cursor).get_json()
    assert [(c["docket_no"], c["text"]) for c in body["changes"]] == [
        (DOCKET_OLD, "judgment of foreclosure by sale entered")
    ]
    assert feed(after=body["next"]).get_json()["changes"] == []
