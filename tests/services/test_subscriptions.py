"""Subscriptions: a user subscribes to a saved search they see, picks events and
email delivery; nobody else sees, changes or deletes it; every change is audited
without the webhook's URL or secret; bad values name their parameter."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ctforeclosure.db import audit_log, subscriptions
from ctforeclosure.services import saved_searches, users
from ctforeclosure.services import subscriptions as subs

PASSWORD = "a long enough passphrase 1"


def _user(conn, email: str) -> users.User:
    return users.create_user(conn, email, PASSWORD, "manager", actor="t")


def _search(conn, owner: users.User, name="Bethel new", shared=False):
    return saved_searches.create(
        conn, owner.id, name, "cases", {"town": "Bethel"}, shared=shared, actor="t"
    )


@pytest.fixture
def people(migrated_engine):
    with migrated_engine.begin() as conn:
        ann, bob = _user(conn, "ann@example.org"), _user(conn, "bob@example.org")
        mine = _search(conn, ann)
        shared = _search(conn, bob, "Team", shared=True)
        private = _search(conn, bob, "Bob's own")
    return ann, bob, mine, shared, private


def _actions(conn) -> list[tuple]:
    rows = conn.execute(
        sa.select(audit_log.c.action, audit_log.c.details).where(
            audit_log.c.action.like("subscription.%")
        )
    )
    return [(r.action, r.details) for r in rows]


def test_subscribe_change_and_delete_are_audited(migrated_engine, people):
    ann, _bob, mine, shared, _private = people
    with migrated_engine.begin() as conn:
        made = subs.create(
            conn,
            ann,
            mine.id,
            events=["sale_moved", "new_case"],
            email_mode="immediate",
        )
        subs.create(conn, ann, shared.id, events=["judgment"])
    assert made.webhook_secret is None
    assert made.subscription.events == ("new_case", "sale_moved")  # EVENTS order
    with migrated_engine.begin() as conn:
        changed = subs.update(
            conn, ann, made.subscription.id, email_mode="digest", digest_hour=7
        ).subscription
        listed = subs.list_for_user(conn, ann.id)
        subs.delete(conn, ann, made.subscription.id)
        actions = _actions(conn)
        left = subs.list_for_user(conn, ann.id)
    assert (changed.email_mode, changed.digest_hour) == ("digest", 7)
    assert [s.saved_search_id for s in listed] == [mine.id, shared.id]
    assert [s.saved_search_id for s in left] == [shared.id]
    assert [a for a, _ in actions] == [
        "subscription.create",
        "subscription.create",
        "subscription.update",
        "subscription.delete",
    ]
    assert actions[2][1]["changed"] == ["digest_hour", "email_mode"]
    assert actions[0][1]["webhook"] is False


def test_nobody_else_sees_changes_or_deletes_a_subscription(migrated_engine, people):
    ann, bob, mine, _shared, private = people
    with migrated_engine.begin() as conn:
        sub = subs.create(conn, ann, mine.id, events=["new_case"]).subscription
    with migrated_engine.begin() as conn:
        assert subs.get(conn, sub.id, bob.id) is None
        assert subs.list_for_user(conn, bob.id) == []
        with pytest.raises(subs.SubscriptionError, match="no such subscription"):
            subs.update(conn, bob, sub.id, events=["judgment"])
        with pytest.raises(subs.SubscriptionError, match="no such subscription"):
            subs.delete(conn, bob, sub.id)
        # another user's private search is as if it did not exist
        with pytest.raises(subs.SubscriptionError) as refused:
            subs.create(conn, ann, private.id, events=["new_case"])
    assert refused.value.parameter == "saved_search_id"
    with migrated_engine.connect() as conn:
        assert subs.get(conn, sub.id, ann.id).events == ("new_case",)


@pytest.mark.parametrize(
    ("values", "parameter"),
    [
        ({"events": []}, "events"),
        ({"events": ["sale_date"]}, "events"),  # a kind, but not an event
        ({"events": ["new_case"], "email_mode": "weekly"}, "email_mode"),
        ({"events": ["new_case"], "email_mode": "digest"}, "digest_hour"),
        (
            {"events": ["new_case"], "email_mode": "digest", "digest_hour": 24},
            "digest_hour",
        ),
    ],
)
def test_bad_values_name_their_parameter(migrated_engine, people, values, parameter):
    ann, _bob, mine, _shared, _private = people
    with migrated_engine.begin() as conn:
        with pytest.raises(subs.SubscriptionError) as refused:
            subs.create(conn, ann, mine.id, **values)
        count = conn.execute(sa.select(sa.func.count()).select_from(subscriptions))
        assert count.scalar_one() == 0
    assert refused.value.parameter == parameter


KEY = "subscriptions-test-secret-key-0123"


def test_a_webhook_is_stored_encrypted_and_its_secret_shown_once(
    migrated_engine, people
):
    ann, _bob, mine, _shared, _private = people
    url = "https://hooks.example.org/T000/secret-path"
    with migrated_engine.begin() as conn:
        made = subs.create(
            conn, ann, mine.id, events=["new_case"], webhook_url=url, secret_key=KEY
        )
        stored = conn.execute(sa.select(subscriptions)).one()
        audited = _actions(conn)
    assert made.webhook_secret and made.subscription.webhook_secret is None
    assert url not in stored.webhook_url and "secret-path" not in str(audited)
    assert made.webhook_secret not in stored.webhook_secret
    with migrated_engine.connect() as conn:
        seen = subs.get(conn, made.subscription.id, ann.id, KEY)
        unreadable = subs.get(conn, made.subscription.id, ann.id, "another key " * 3)
    assert (seen.webhook_url, seen.webhook_secret) == (url, made.webhook_secret)
    assert unreadable.webhook_url is None and unreadable.webhook_broken
    with migrated_engine.begin() as conn:
        renewed = subs.update(
            conn, ann, seen.id, secret_key=KEY, new_secret=True, include_caption=True
        )
        removed = subs.update(conn, ann, seen.id, secret_key=KEY, webhook_url="")
    assert renewed.webhook_secret not in (None, made.webhook_secret)
    assert renewed.subscription.include_caption
    assert removed.subscription.webhook_url is None and not removed.webhook_secret


@pytest.mark.parametrize(
    "url", ["http://hooks.example.org/x", "https://10.0.0.7/x", "ftp://example.org"]
)
def test_a_webhook_url_must_be_https_to_a_public_host(migrated_engine, people, url):
    ann, _bob, mine, _shared, _private = people
    with (
        migrated_engine.begin() as conn,
        pytest.raises(subs.SubscriptionError) as refused,
    ):
        subs.create(
            conn, ann, mine.id, events=["new_case"], webhook_url=url, secret_key=KEY
        )
    assert refused.value.parameter == "webhook_url"
