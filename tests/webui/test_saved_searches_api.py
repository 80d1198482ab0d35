"""/api/v1/saved-searches: a manager saves, lists, changes and deletes searches and
pages through the cases one matches; others' private searches are 404, others'
shared ones read-only; a stored filter that no longer reads is a 409 naming the
argument, never every case (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import (
    DOCKET_HARTFORD,
    DOCKET_NEW_HAVEN,
    DOCKET_OLD,
    EMAILS,
    api_token,
    save_search,
)
from tests.webui.test_sales import NEW_DOCKET, _sale, _store

BASE = "/api/v1/saved-searches"


def _api(app, role: str):
    """Return a call function with a token of ``role`` (every scope it may hold)."""
    headers = {"Authorization": f"Bearer {api_token(app, role)}"}
    client = app.test_client()

    def call(method: str, path: str = "", **options):
        return client.open(BASE + path, method=method, headers=headers, **options)

    return call


def _dockets(response) -> set[str]:
    assert response.status_code == 200, response.get_json()
    return {c["docket_no"] for c in response.get_json()["cases"]}


def _audited(app) -> list[tuple[str, dict]]:
    audit = db.audit_log.c
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        rows = conn.execute(
            sa.select(audit.action, audit.details)
            .where(audit.action.like("saved_search.%"))
            .order_by(audit.id)
        ).all()
    return [(r.action, r.details) for r in rows]


def test_a_manager_saves_pages_changes_and_deletes_a_search(app):
    call = _api(app, "manager")
    made = call("POST", json={"name": "Hartford", "query": {"town": "hartford"}})
    assert made.status_code == 201, made.get_json()
    search = made.get_json()
    assert search["query"] == {"town": "hartford"} and search["shared"] is False
    assert search["owner"] == EMAILS["manager"] and search["mine"] is True
    path = f"/{search['id']}"
    assert [s["name"] for s in call("GET").get_json()] == ["Hartford"]
    assert call("GET", path).get_json()["name"] == "Hartford"
    assert _dockets(call("GET", path + "/cases")) == {DOCKET_HARTFORD, DOCKET_OLD}
    one = call("GET", path + "/cases", query_string={"per_page": 1, "page": 2})
    assert one.get_json()["total"] == 2 and len(one.get_json()["cases"]) == 1
    # rename, share and re-save the filter in one change
    changed = call(
        "PATCH",
        path,
        json={"name": "New Haven", "shared": True, "query": {"county": "New Haven"}},
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["shared"] is True
    assert _dockets(call("GET", path + "/cases")) == {DOCKET_NEW_HAVEN}
    # a change to what it already is changes nothing, and is not audited
    same = call("PATCH", path, json={"shared": True, "name": "New Haven"})
    assert same.status_code == 200 and same.get_json()["name"] == "New Haven"
    # a second search of the same name (any case) is a conflict naming the name
    again = call("POST", json={"name": "new haven", "query": {}})
    assert again.status_code == 409 and again.get_json()["parameter"] == "name"
    # a filter that does not read is refused, naming the argument
    bad = call("POST", json={"name": "Nowhere", "query": {"town": "Atlantis"}})
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "query.town"
    assert call("DELETE", path).get_json() == {"deleted": search["id"]}
    assert call("GET", path).status_code == 404
    actions = _audited(app)
    assert [a for a, _ in actions] == [
        "saved_search.create",
        "saved_search.update",
        "saved_search.delete",
    ]
    assert actions[1][1]["changed"] == ["name", "query", "shared"]
    assert "Hartford" not in str(actions[1][1])  # the filter's values are not kept


def test_others_private_searches_are_404_and_shared_ones_read_only(app):
    private = save_search(app, "admin", "Admin's", {"town": "Hartford"})
    shared = save_search(app, "admin", "Team", {"county": "New Haven"}, shared=True)
    call = _api(app, "manager")
    asks = (("GET", ""), ("GET", "/cases"), ("PATCH", ""), ("DELETE", ""))
    for method, suffix in asks:
        hidden = call(method, f"/{private}{suffix}", json={"shared": True})
        assert hidden.status_code == 404, (method, suffix)
    assert [s["id"] for s in call("GET").get_json()] == [shared]
    assert call("GET", f"/{shared}").get_json()["mine"] is False
    assert _dockets(call("GET", f"/{shared}/cases")) == {DOCKET_NEW_HAVEN}
    assert call("PATCH", f"/{shared}", json={"name": "Mine now"}).status_code == 403
    assert call("DELETE", f"/{shared}").status_code == 403
    assert _api(app, "viewer")("GET").status_code == 403  # no leads scope
    assert _audited(app) == []


def test_a_filter_that_no_longer_reads_is_a_409_naming_it(app):
    renamed = save_search(app, "manager", "Renamed", {"town": "Atlantis"})
    bad_date = save_search(app, "manager", "Bad date", {"filed_from": "2026-13-45"})
    sales = save_search(app, "manager", "Sales", {"date_to": "soon"}, list_="sales")
    call = _api(app, "manager")
    for search_id, parameter in (
        (renamed, "town"),
        (bad_date, "filed_from"),
        (sales, "date_to"),
    ):
        response = call("GET", f"/{search_id}/cases")
        assert response.status_code == 409, response.get_json()
        body = response.get_json()
        assert body["parameter"] == parameter and "no longer reads" in body["error"]
        assert "cases" not in body


def test_a_sales_search_pages_the_cases_of_its_postings(app):
    _store(
        app,
        [
            _sale(61001, DOCKET_HARTFORD, 10),
            _sale(61002, NEW_DOCKET, 3, property_type="Commercial"),
        ],
    )
    call = _api(app, "manager")
    made = call(
        "POST",
        json={
            "name": "Commercial",
            "list": "sales",
            "query": {"property_type": "commercial"},
        },
    )
    assert made.status_code == 201, made.get_json()
    page = call("GET", f"/{made.get_json()['id']}/cases")
    assert _dockets(page) == {NEW_DOCKET}
    assert page.get_json()["filters"] == {"property_type": "commercial"}
    # a cases-list argument means nothing to sales: refused, not dropped
    wrong = call(
        "POST", json={"name": "x", "list": "sales", "query": {"filed_from": "x"}}
    )
    assert wrong.status_code == 400
    assert wrong.get_json()["parameter"] == "query.filed_from"
