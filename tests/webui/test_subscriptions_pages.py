"""Subscriptions in the web UI: "Get notified" on a saved search, the Notification
settings page, a webhook's secret shown once, refusals that name the field, and
nobody reaching another user's subscription or private search (SQLite and
PostgreSQL)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.services import subscriptions
from tests.webui.conftest import EMAILS, csrf_token, save_search
from webui.subscription_forms import EVENT_LABELS

PAGE = "/subscriptions/"
HOOK = "https://hooks.example.org/ctf/T0KEN-in-the-path"
SECRET_RE = re.compile(r'id="webhook-secret">([^<]+)<')


def post(client, path: str, data: dict | None = None):
    """POST a form with its CSRF token (lists are repeated fields)."""
    data = dict(data or {})
    data["csrf_token"] = csrf_token(client, "/saved-searches/")
    return client.post(path, data=data)


def subscribe(client, search_id: int, **fields):
    form = {
        "saved_search_id": search_id,
        "events": ["new_case", "law_day"],
        "email_mode": "off",
    }
    return post(client, PAGE, form | fields)


def stored(app) -> list:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        return conn.execute(
            sa.select(db.subscriptions).order_by(db.subscriptions.c.id)
        ).all()


def audited(app) -> list[tuple[str, str, dict]]:
    audit = db.audit_log.c
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        rows = conn.execute(
            sa.select(audit.action, audit.actor, audit.details)
            .where(audit.action.like("subscription.%"))
            .order_by(audit.id)
        ).all()
    return [(r.action, r.actor, r.details) for r in rows]


def test_a_user_subscribes_from_a_saved_search_edits_and_deletes(app, as_role):
    search = save_search(app, "viewer", "Hartford", {"town": "Hartford"})
    viewer = as_role("viewer")
    listed = viewer.get("/saved-searches/").get_data(as_text=True)
    form_path = f"{PAGE}new?saved_search_id={search}"
    assert f'href="{form_path}" class="get-notified"' in listed
    form = viewer.get(form_path).get_data(as_text=True)
    assert "Get notified: Hartford" in form and 'value="phones_found"' in form
    assert "names the defendants" in form  # why the caption is off by default
    made = subscribe(viewer, search, email_mode="digest", digest_hour="7")
    assert made.status_code == 302, made.get_data(as_text=True)
    (sub,) = stored(app)
    assert sub.events == ["new_case", "law_day"]
    assert (sub.email_mode, sub.digest_hour, sub.webhook_url) == ("digest", 7, None)
    assert sub.include_caption is False
    settings = viewer.get(PAGE).get_data(as_text=True)
    assert "Hartford" in settings and "07:00" in settings
    listed = viewer.get("/saved-searches/").get_data(as_text=True)
    assert f'href="{PAGE}{sub.id}" class="badge ok notified"' in listed
    edited = post(
        viewer,
        f"{PAGE}{sub.id}",
        # the hour's menu still says 7: it means nothing without a digest
        {
            "events": ["judgment"],
            "email_mode": "immediate",
            "digest_hour": "7",
            "include_caption": "1",
        },
    )
    assert edited.status_code == 302, edited.get_data(as_text=True)
    (sub,) = stored(app)
    assert sub.events == ["judgment"] and sub.email_mode == "immediate"
    assert sub.digest_hour is None and sub.include_caption is True
    assert post(viewer, f"{PAGE}{sub.id}/delete").status_code == 302
    assert stored(app) == []
    actions = audited(app)
    assert [(a, actor) for a, actor, _ in actions] == [
        ("subscription.create", EMAILS["viewer"]),
        ("subscription.update", EMAILS["viewer"]),
        ("subscription.delete", EMAILS["viewer"]),
    ]
    assert actions[0][2]["saved_search_id"] == search


def test_a_webhook_secret_is_shown_once_and_never_again(app, as_role):
    search = save_search(app, "viewer", "Hartford", {"town": "Hartford"})
    viewer = as_role("viewer")
    made = subscribe(viewer, search, webhook_url=HOOK)
    assert made.status_code == 200, made.get_data(as_text=True)
    page = made.get_data(as_text=True)
    secret = SECRET_RE.search(page).group(1)
    assert len(secret) >= 32 and "/subscriptions/verifying" in page
    (sub,) = stored(app)
    # stored encrypted: neither the address (it holds a token) nor the secret
    assert "hooks.example.org" not in sub.webhook_url
    assert secret not in sub.webhook_secret
    for path in (PAGE, f"{PAGE}{sub.id}"):
        shown = viewer.get(path).get_data(as_text=True)
        assert "hooks.example.org" in shown  # the host, to know where it goes
        assert secret not in shown and "T0KEN" not in shown, path
    assert "X-CTF-Signature" in viewer.get(f"{PAGE}verifying").get_data(as_text=True)
    # editing without an address keeps the webhook and its secret (none shown)
    kept = post(viewer, f"{PAGE}{sub.id}", {"events": ["judgment"]})
    assert kept.status_code == 302 and stored(app)[0].webhook_url == sub.webhook_url
    rotated = post(viewer, f"{PAGE}{sub.id}/secret")
    assert rotated.status_code == 200
    new_secret = SECRET_RE.search(rotated.get_data(as_text=True)).group(1)
    assert new_secret != secret
    removed = post(
        viewer, f"{PAGE}{sub.id}", {"events": ["judgment"], "remove_webhook": "1"}
    )
    assert removed.status_code == 302
    assert stored(app)[0].webhook_url is None
    assert all(secret not in str(d) and "T0KEN" not in str(d) for *_, d in audited(app))


def test_a_refused_value_re_shows_the_form_naming_the_field(app, as_role):
    search = save_search(app, "viewer", "Hartford", {"town": "Hartford"})
    viewer = as_role("viewer")
    for fields, named in (
        ({"events": []}, "events"),
        ({"events": ["sale_teleported"]}, "events"),
        ({"email_mode": "digest"}, "digest_hour"),
        ({"email_mode": "digest", "digest_hour": "24"}, "digest_hour"),
        ({"email_mode": "hourly"}, "email_mode"),
        ({"webhook_url": "http://hooks.example.org/x"}, "webhook_url"),
        ({"webhook_url": "ftp://hooks.example.org/x"}, "webhook_url"),
    ):
        refused = subscribe(viewer, search, **fields)
        assert refused.status_code == 400, fields
        page = refused.get_data(as_text=True)
        assert 'id="subscription-problem"' in page, fields
        assert f'data-field="{named}"' in page, fields
        assert 'id="subscription-form"' in page  # the form again, to mend
    # what was typed is kept
    again = subscribe(viewer, search, email_mode="digest", events=["judgment"])
    assert 'value="judgment" checked' in again.get_data(as_text=True)
    assert stored(app) == [] and audited(app) == []
    bad_id = viewer.get(f"{PAGE}new?saved_search_id=x")
    assert bad_id.status_code == 400 and "saved_search_id" in bad_id.get_data(
        as_text=True
    )


def test_others_subscriptions_and_private_searches_are_404(app, as_role):
    private = save_search(app, "manager", "Manager's own", {"town": "Hartford"})
    shared = save_search(app, "manager", "Team", {"county": "Hartford"}, shared=True)
    manager = as_role("manager")
    assert subscribe(manager, private).status_code == 302
    (theirs,) = stored(app)
    viewer = as_role("viewer")
    assert viewer.get(f"{PAGE}new?saved_search_id={private}").status_code == 404
    assert subscribe(viewer, private).status_code == 404
    assert viewer.get(f"{PAGE}{theirs.id}").status_code == 404
    assert (
        post(viewer, f"{PAGE}{theirs.id}", {"events": ["judgment"]}).status_code == 404
    )
    assert post(viewer, f"{PAGE}{theirs.id}/secret").status_code == 404
    assert post(viewer, f"{PAGE}{theirs.id}/delete").status_code == 404
    assert "Manager" not in viewer.get(PAGE).get_data(as_text=True)
    # a shared search: anyone may subscribe, to their own subscription
    assert subscribe(viewer, shared).status_code == 302
    assert [s.saved_search_id for s in stored(app)] == [private, shared]
    assert stored(app)[0].events == theirs.events  # untouched
    no_csrf = viewer.post(f"{PAGE}{stored(app)[1].id}/delete")
    assert no_csrf.status_code == 400 and len(stored(app)) == 2


def test_every_event_has_its_checkbox_in_the_services_order():
    assert list(EVENT_LABELS) == list(subscriptions.EVENTS)
