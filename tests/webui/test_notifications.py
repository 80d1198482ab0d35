"""The bell: the unread count in the nav, the notifications page (each change as the
timeline says it, the case linked, the saved search named, newest first, paged),
marking one or all read; nobody sees, counts or marks another user's (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.services import subscriptions
from ctforeclosure.services import users as user_service
from tests.webui.conftest import (
    DOCKET_HARTFORD,
    DOCKET_NEW_HAVEN,
    EMAILS,
    csrf_token,
    save_search,
)

PAGE = "/notifications/"


def subscribe(app, role: str, search_id: int, events=("law_day",)) -> int:
    """Subscribe ``role``'s user to a saved search (the service, as the pages do)."""
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        user = user_service.find_active_user(conn, EMAILS[role])
        made = subscriptions.create(conn, user, search_id, events=list(events))
    return made.subscription.id


def notify(app, sub_id: int, docket: str, kind: str, old, new, minutes_ago=0) -> int:
    """Record a change and the notification the matcher makes of it; return the
    notification's id."""
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        change = conn.execute(
            db.case_changes.insert()
            .values(
                docket_no=docket,
                kind=kind,
                field=kind,
                old_value=old,
                new_value=new,
                seen_at=at,
            )
            .returning(db.case_changes.c.id)
        ).scalar_one()
        user_id = conn.execute(
            sa.select(db.subscriptions.c.user_id).where(db.subscriptions.c.id == sub_id)
        ).scalar_one()
        return conn.execute(
            db.notifications.insert()
            .values(
                user_id=user_id, subscription_id=sub_id, change_id=change, created_at=at
            )
            .returning(db.notifications.c.id)
        ).scalar_one()


def bell(client) -> str | None:
    """Return the nav's unread count as shown, None when it shows none."""
    page = client.get("/cases/").get_data(as_text=True)
    assert 'id="nav-bell"' in page
    if 'id="bell-count">' not in page:
        return None
    return page.split('id="bell-count">')[1].split("<")[0]


def mark(client, **form):
    form["csrf_token"] = csrf_token(client, PAGE)
    return client.post(PAGE + "read", data=form)


def _unread(app) -> list[int]:
    n = db.notifications.c
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        rows = conn.execute(sa.select(n.id).where(n.read_at.is_(None)).order_by(n.id))
        return [r.id for r in rows]


def test_the_bell_counts_lists_and_marks_the_users_own(app, as_role):
    search = save_search(app, "viewer", "Hartford law days", {"town": "Hartford"})
    sub = subscribe(app, "viewer", search, ("law_day", "judgment"))
    older = notify(app, sub, DOCKET_HARTFORD, "law_day", None, "2027-01-12", 30)
    newer = notify(app, sub, DOCKET_HARTFORD, "judgment", None, "strict", 5)
    theirs_search = save_search(app, "manager", "All", {})
    theirs = notify(
        app,
        subscribe(app, "manager", theirs_search, ("disposition",)),
        DOCKET_NEW_HAVEN,
        "disposition",
        None,
        "Withdrawn",
    )
    viewer = as_role("viewer")
    assert bell(viewer) == "2"
    page = viewer.get(PAGE).get_data(as_text=True)
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr ")[1:]
    assert [r.split('data-notification="')[1].split('"')[0] for r in rows] == [
        str(newer),
        str(older),
    ]
    assert "judgment of strict foreclosure entered" in rows[0]
    assert "law day set to 2027-01-12" in rows[1]
    assert f'href="/cases/{DOCKET_HARTFORD}"' in rows[1] and "Hartford" in rows[1]
    assert "Hartford law days" in rows[1]
    assert "Withdrawn" not in page  # the manager's
    # another user's id is not the viewer's to mark
    assert mark(viewer, id=str(theirs)).status_code == 302
    assert theirs in _unread(app)
    assert mark(viewer, id=str(older)).status_code == 302
    assert bell(viewer) == "1"
    only_unread = viewer.get(PAGE + "?unread=1").get_data(as_text=True)
    assert f'data-notification="{newer}"' in only_unread
    assert f'data-notification="{older}"' not in only_unread
    assert mark(viewer).status_code == 302  # all
    assert bell(viewer) is None
    assert _unread(app) == [theirs]
    assert bell(as_role("manager")) == "1"


def test_the_notifications_page_is_paged_and_refuses_bad_arguments(app, as_role):
    search = save_search(app, "viewer", "Hartford", {"town": "Hartford"})
    sub = subscribe(app, "viewer", search)
    ids = [
        notify(app, sub, DOCKET_HARTFORD, "law_day", None, f"2027-01-1{i}", 10 - i)
        for i in range(3)
    ]
    viewer = as_role("viewer")
    second = viewer.get(PAGE + "?per_page=2&page=2").get_data(as_text=True)
    assert f'data-notification="{ids[0]}"' in second  # the oldest
    assert "Page 2 of 2" in second and 'rel="prev"' in second
    for bad in ("page=0", "per_page=500", "unread=maybe"):
        refused = viewer.get(f"{PAGE}?{bad}")
        assert refused.status_code == 400, bad
        assert bad.split("=")[0] in refused.get_data(as_text=True)
    no_csrf = viewer.post(PAGE + "read")
    assert no_csrf.status_code == 400 and len(_unread(app)) == 3
    assert mark(viewer, id="x").status_code == 400


def test_signed_out_visitors_see_no_bell_and_no_notifications(client):
    assert 'id="nav-bell"' not in client.get("/auth/login").get_data(as_text=True)
    assert "/auth/login" in client.get(PAGE).location
