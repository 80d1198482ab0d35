"""/api/v1/subscriptions and /api/v1/notifications (scope ``leads``): a manager
subscribes, reads, changes and deletes their own subscriptions (audited), a
webhook's secret comes once; another user's subscription and private search are
404s; a viewer's token has no ``leads`` scope; bad values are 400s naming them
(SQLite and PostgreSQL)."""

from __future__ import annotations

from ctforeclosure import db
from tests.webui.conftest import (
    DOCKET_HARTFORD,
    DOCKET_NEW_HAVEN,
    api_token,
    save_search,
)
from tests.webui.test_notifications import _unread, notify, subscribe
from tests.webui.test_subscriptions_pages import HOOK, audited, stored


def _call(app, role: str, base: str):
    """Return a call function on ``/api/v1/<base>`` with a token of ``role``
    (every scope it may hold)."""
    headers = {"Authorization": f"Bearer {api_token(app, role)}"}
    client = app.test_client()

    def call(method: str, path: str = "", **options):
        return client.open(
            f"/api/v1/{base}{path}", method=method, headers=headers, **options
        )

    return call


def subs_api(app, role: str):
    """A call function on /api/v1/subscriptions."""
    return _call(app, role, "subscriptions")


def test_a_manager_subscribes_reads_changes_and_deletes(app):
    search = save_search(app, "manager", "Hartford", {"town": "Hartford"})
    call = subs_api(app, "manager")
    made = call(
        "POST",
        json={
            "saved_search_id": search,
            "events": ["law_day", "new_case", "law_day"],
            "email_mode": "digest",
            "digest_hour": 6,
        },
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["events"] == ["new_case", "law_day"]  # the service's order, once
    assert body["saved_search_name"] == "Hartford" and body["webhook"] is None
    assert "webhook_secret" not in body  # no webhook, no secret
    path = f"/{body['id']}"
    assert made.headers["Location"].endswith(f"/api/v1/subscriptions/{body['id']}")
    assert [s["id"] for s in call("GET").get_json()] == [body["id"]]
    assert call("GET", path).get_json()["digest_hour"] == 6
    changed = call("PATCH", path, json={"email_mode": "immediate"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["digest_hour"] is None  # only a digest has an hour
    hour = call("PATCH", path, json={"email_mode": "digest", "digest_hour": 20})
    assert hour.get_json()["digest_hour"] == 20
    assert call("DELETE", path).get_json() == {"deleted": body["id"]}
    assert call("GET", path).status_code == 404
    assert [a for a, *_ in audited(app)] == [
        "subscription.create",
        "subscription.update",
        "subscription.update",
        "subscription.delete",
    ]


def test_a_webhook_secret_is_answered_once(app):
    search = save_search(app, "manager", "Hartford", {"town": "Hartford"})
    call = subs_api(app, "manager")
    made = call(
        "POST",
        json={"saved_search_id": search, "events": ["judgment"], "webhook_url": HOOK},
    )
    assert made.status_code == 201, made.get_json()
    secret = made.get_json()["webhook_secret"]
    assert made.get_json()["webhook"] == {"host": "hooks.example.org"}
    path = f"/{made.get_json()['id']}"
    for answer in (call("GET"), call("GET", path)):
        assert secret not in answer.get_data(as_text=True)
        assert "T0KEN" not in answer.get_data(as_text=True)  # nor the whole address
    rotated = call("POST", path + "/secret")
    assert rotated.status_code == 200
    assert rotated.get_json()["webhook_secret"] not in (secret, None)
    removed = call("PATCH", path, json={"webhook_url": ""})
    assert removed.get_json()["webhook"] is None
    assert call("POST", path + "/secret").status_code == 409
    assert stored(app)[0].webhook_url is None


def test_another_users_subscription_and_private_search_are_404(app):
    private = save_search(app, "admin", "Admin's", {"town": "Hartford"})
    shared = save_search(app, "admin", "Team", {}, shared=True)
    theirs = subscribe(app, "admin", private)
    call = subs_api(app, "manager")
    for method, suffix in (
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/secret"),
    ):
        hidden = call(method, f"/{theirs}{suffix}", json={"events": ["judgment"]})
        assert hidden.status_code == 404, (method, suffix)
    refused = call("POST", json={"saved_search_id": private, "events": ["judgment"]})
    assert refused.status_code == 404
    assert refused.get_json()["parameter"] == "saved_search_id"
    assert call("GET").get_json() == []
    ok = call("POST", json={"saved_search_id": shared, "events": ["judgment"]})
    assert ok.status_code == 201
    assert len(stored(app)) == 2 and stored(app)[0].events == ["law_day"]
    viewer = subs_api(app, "viewer")
    assert viewer("GET").status_code == 403  # no leads scope, as saved searches
    assert _call(app, "viewer", "notifications")("GET").status_code == 403
    assert [a for a, *_ in audited(app)] == ["subscription.create"] * 2


def test_the_list_filters_by_saved_search(app):
    """``?saved_search_id=`` lists that search's subscriptions only; a search the
    caller may not see is a 404, as the change feed's ``saved_search``."""
    hartford = save_search(app, "manager", "Hartford", {"town": "Hartford"})
    team = save_search(app, "admin", "Team", {}, shared=True)
    private = save_search(app, "admin", "Admin's", {"town": "Hartford"})
    first = subscribe(app, "manager", hartford, ("law_day",))
    subscribe(app, "manager", team, ("judgment",))
    second = subscribe(app, "manager", hartford, ("judgment",))
    subscribe(app, "admin", private)
    call = subs_api(app, "manager")
    only = call("GET", f"?saved_search_id={hartford}")
    assert only.status_code == 200, only.get_json()
    assert [s["id"] for s in only.get_json()] == [first, second]
    assert {s["saved_search_id"] for s in only.get_json()} == {hartford}
    assert len(call("GET").get_json()) == 3  # no filter: all of them
    spare = save_search(app, "manager", "Spare", {"town": "Bethel"})
    assert call("GET", f"?saved_search_id={spare}").get_json() == []
    hidden = call("GET", f"?saved_search_id={private}")
    assert hidden.status_code == 404
    assert hidden.get_json()["parameter"] == "saved_search_id"
    with app.extensions["ctforeclosure_engine"].begin() as conn:  # unshared
        conn.execute(
            db.saved_searches.update()
            .where(db.saved_searches.c.id == team)
            .values(shared=False)
        )
    kept = call("GET", f"?saved_search_id={team}")  # still the caller's own
    assert [s["saved_search_id"] for s in kept.get_json()] == [team]


def test_bad_values_are_400s_naming_the_parameter(app):
    search = save_search(app, "manager", "Hartford", {"town": "Hartford"})
    call = subs_api(app, "manager")
    good = {"saved_search_id": search, "events": ["judgment"]}
    for change, named in (
        ({"events": []}, "events"),
        ({"events": ["sale_teleported"]}, "events"),
        ({"events": "judgment"}, "events"),
        ({"email_mode": "digest"}, "digest_hour"),
        ({"email_mode": "off", "digest_hour": 3}, "digest_hour"),
        ({"email_mode": "digest", "digest_hour": 24}, "digest_hour"),
        ({"webhook_url": "http://hooks.example.org/x"}, "webhook_url"),
        ({"include_caption": "maybe"}, "include_caption"),
        ({"saved_search_id": "x"}, "saved_search_id"),
        ({"colour": "red"}, "colour"),
    ):
        refused = call("POST", json=good | change)
        assert refused.status_code == 400, change
        assert refused.get_json()["parameter"] == named, refused.get_json()
    assert stored(app) == []
    for bad in ("x", "0", "-3", "1.5", "2147483648"):
        listed = call("GET", f"?saved_search_id={bad}")
        assert listed.status_code == 400, bad
        assert listed.get_json()["parameter"] == "saved_search_id", bad
    made = call("POST", json=good).get_json()
    patch = call("PATCH", f"/{made['id']}", json={"digest_hour": 5})
    assert patch.status_code == 400 and patch.get_json()["parameter"] == "digest_hour"
    notes = _call(app, "manager", "notifications")
    for bad in ("page=0", "per_page=201", "unread=perhaps"):
        answer = notes("GET", f"?{bad}")
        assert answer.status_code == 400, bad
        assert answer.get_json()["parameter"] == bad.split("=")[0]
    read = notes("POST", "/read", json={"ids": ["x"]})
    assert read.status_code == 400 and read.get_json()["parameter"] == "ids"


def test_notifications_are_listed_paged_and_marked_read(app):
    search = save_search(app, "manager", "Hartford", {"town": "Hartford"})
    sub = subscribe(app, "manager", search, ("law_day", "judgment"))
    first = notify(app, sub, DOCKET_HARTFORD, "law_day", None, "2027-01-12", 20)
    second = notify(app, sub, DOCKET_HARTFORD, "judgment", None, "sale", 10)
    other = subscribe(app, "admin", save_search(app, "admin", "All", {}))
    theirs = notify(app, other, DOCKET_NEW_HAVEN, "law_day", None, "2027-02-01")
    notes = _call(app, "manager", "notifications")
    listed = notes("GET").get_json()
    assert (listed["total"], listed["unread"]) == (2, 2)
    newest = listed["notifications"][0]
    assert newest["id"] == second and newest["kind"] == "judgment"
    assert newest["text"] == "judgment of foreclosure by sale entered"
    assert newest["town"] == "Hartford" and newest["saved_search_name"] == "Hartford"
    assert newest["read"] is False
    paged = notes("GET", "?per_page=1&page=2").get_json()
    assert [n["id"] for n in paged["notifications"]] == [first]
    marked = notes("POST", "/read", json={"ids": [first, theirs]})
    assert marked.get_json() == {"marked": 1, "unread": 1}
    unread = notes("GET", "?unread=true").get_json()
    assert [n["id"] for n in unread["notifications"]] == [second]
    assert notes("POST", "/read").get_json() == {"marked": 1, "unread": 0}
    assert _unread(app) == [theirs]
