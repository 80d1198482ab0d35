"""Admin pages: create users, change roles, disable, reset passwords, tokens, audit."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import EMAILS, PASSWORD, csrf_token, login


def _audit(app, action: str) -> list:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        return conn.execute(
            sa.select(db.audit_log).where(
                db.audit_log.c.action == action,
                db.audit_log.c.actor != "test",  # the seed's own records
            )
        ).all()


def _user_id(app, email: str) -> int:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        return conn.execute(
            sa.select(db.users.c.id).where(db.users.c.email == email)
        ).scalar_one()


def test_admin_creates_a_user_who_can_sign_in(app, as_role):
    admin = as_role("admin")
    token = csrf_token(admin, "/admin/users")
    response = admin.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "email": "New.Person@Example.org",
            "role": "viewer",
            "password": "a long enough password",
        },
        follow_redirects=True,
    )
    assert "Created New.Person@Example.org" in response.get_data(as_text=True)
    assert "new.person@example.org" in admin.get("/admin/users").get_data(as_text=True)
    (record,) = _audit(app, "user.create")
    assert record.actor == EMAILS["admin"] and record.details == {"role": "viewer"}
    fresh = app.test_client()
    page = fresh.get("/auth/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    signed = fresh.post(
        "/auth/login",
        data={
            "email": "new.person@example.org",
            "password": "a long enough password",
            "csrf_token": csrf,
        },
    )
    assert signed.status_code == 302


@pytest.mark.parametrize(
    ("password", "why"),
    [("short", "password too short"), ("x@example.org2026!", "password too weak")],
)
def test_admin_refuses_a_short_or_guessable_password_and_says_why(
    as_role, password, why
):
    admin = as_role("admin")
    token = csrf_token(admin, "/admin/users")
    response = admin.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "email": "x@example.org",
            "role": "viewer",
            "password": password,
        },
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert why in text and "Created x@example.org" not in text


def test_admin_changes_a_role_and_it_is_audited(app, as_role):
    admin = as_role("admin")
    viewer_id = _user_id(app, EMAILS["viewer"])
    token = csrf_token(admin, "/admin/users")
    admin.post(
        f"/admin/users/{viewer_id}/role", data={"csrf_token": token, "role": "manager"}
    )
    (record,) = _audit(app, "user.role")
    assert record.target == EMAILS["viewer"]
    assert record.details == {"old": "viewer", "new": "manager"}
    promoted = as_role("viewer")  # the seeded viewer, now a manager
    assert promoted.get("/exports/cases.csv").status_code == 200


def test_admin_disables_and_reenables_a_user(app, as_role):
    admin = as_role("admin")
    manager = as_role("manager")
    manager_id = _user_id(app, EMAILS["manager"])
    token = csrf_token(admin, "/admin/users")
    admin.post(f"/admin/users/{manager_id}/disable", data={"csrf_token": token})
    assert manager.get("/").status_code == 302  # session no longer valid
    assert login(app.test_client(), "manager").status_code == 401
    admin.post(f"/admin/users/{manager_id}/enable", data={"csrf_token": token})
    assert login(app.test_client(), "manager").status_code == 302
    assert [r.action for r in _audit(app, "user.disable")] == ["user.disable"]


def test_admin_cannot_disable_themself(app, as_role):
    admin = as_role("admin")
    admin_id = _user_id(app, EMAILS["admin"])
    token = csrf_token(admin, "/admin/users")
    response = admin.post(
        f"/admin/users/{admin_id}/disable",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "You cannot disable yourself" in response.get_data(as_text=True)
    assert admin.get("/").status_code == 200


def test_admin_resets_a_password(app, as_role):
    admin = as_role("admin")
    viewer_id = _user_id(app, EMAILS["viewer"])
    token = csrf_token(admin, "/admin/users")
    admin.post(
        f"/admin/users/{viewer_id}/password",
        data={"csrf_token": token, "password": "a brand new passphrase"},
    )
    assert login(app.test_client(), "viewer").status_code == 401  # old one gone
    assert _audit(app, "user.reset_password")
    assert PASSWORD not in str(_audit(app, "user.reset_password")[0].details)


def test_admin_issues_a_token_shown_once_and_revokes_it(app, as_role):
    admin = as_role("admin")
    viewer_id = _user_id(app, EMAILS["viewer"])
    token = csrf_token(admin, "/admin/users")
    page = admin.post(
        f"/admin/users/{viewer_id}/tokens", data={"csrf_token": token, "name": "laptop"}
    ).get_data(as_text=True)
    secret = re.search(r'id="token-secret">([^<]+)<', page).group(1)
    headers = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/towns", headers=headers).status_code == 200
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "laptop" in listing and secret not in listing
    token_id = re.search(r"/admin/tokens/(\d+)/revoke", listing).group(1)
    admin.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert app.test_client().get("/api/v1/towns", headers=headers).status_code == 401
    assert _audit(app, "token.issue") and _audit(app, "token.revoke")


def test_admin_audit_page_lists_and_filters(as_role):
    admin = as_role("admin")
    html = admin.get("/admin/audit?action=login").get_data(as_text=True)
    assert EMAILS["admin"] in html
    assert "user.create" not in html
    assert "user.create" in admin.get("/admin/audit").get_data(as_text=True)


def test_admin_post_without_csrf_token_refused(app, as_role):
    admin = as_role("admin")
    response = admin.post(
        "/admin/users",
        data={
            "email": "sneaky@example.org",
            "role": "admin",
            "password": "a long enough password",
        },
    )
    assert response.status_code == 400
    assert not _audit(app, "user.create")


def test_crawl_start_without_scrapyd_nodes_is_explained(app, as_role):
    manager = as_role("manager")
    page = manager.get("/crawls/").get_data(as_text=True)
    assert "No scrapyd node is configured" in page
    token = csrf_token(manager, "/crawls/")
    response = manager.post(
        "/crawls/start",
        data={"csrf_token": token, "scope": "town", "town": "Atlantis"},
        follow_redirects=True,
    )
    assert "Crawl not started" in response.get_data(as_text=True)
    assert "not a Connecticut town" in response.get_data(as_text=True)
    assert not _audit(app, "crawl.start")


def _issue(app, admin, role: str, scopes: list[str]):
    """Post the users page's issue-token form; return the page it answers."""
    user_id = _user_id(app, EMAILS[role])
    token = csrf_token(admin, "/admin/users")
    return admin.post(
        f"/admin/users/{user_id}/tokens",
        data={"csrf_token": token, "name": "dialer", "scopes": scopes},
        follow_redirects=True,
    ).get_data(as_text=True)


def test_admin_issues_scopes_the_role_allows_and_refuses_others(app, as_role):
    admin = as_role("admin")
    users_page = admin.get("/admin/users").get_data(as_text=True)
    assert 'value="contacts"' in users_page  # offered to the manager and admin
    refused = _issue(app, admin, "viewer", ["read", "contacts"])
    assert "a viewer&#39;s token cannot have the contacts scope" in refused
    assert "token-secret" not in refused and not _audit(app, "token.issue")
    page = _issue(app, admin, "manager", ["read", "contacts"])
    secret = re.search(r'id="token-secret">([^<]+)<', page).group(1)
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "read, contacts" in listing
    headers = {"Authorization": f"Bearer {secret}"}
    crawl = app.test_client().post("/api/v1/scraper/scrape", headers=headers)
    assert crawl.get_json()["missing_scope"] == "crawl"


def test_admin_sees_a_tokens_recent_use_without_the_query_or_path_values(app, as_role):
    admin = as_role("admin")
    page = _issue(app, admin, "viewer", ["read"])
    secret = re.search(r'id="token-secret">([^<]+)<', page).group(1)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/cases/search?q=Smith", headers=headers).status_code == 200
    assert api.get("/api/v1/cases/HHDCV226160660S", headers=headers).status_code == 200
    assert api.post("/api/v1/scraper/scrape", headers=headers).status_code == 403
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        stored = conn.execute(sa.select(db.api_token_uses)).all()
    assert [(u.method, u.route, u.status) for u in stored] == [
        ("GET", "/api/v1/cases/search", 200),
        ("GET", "/api/v1/cases/<docket_no>", 200),
        ("POST", "/api/v1/scraper/scrape", 403),
    ]
    listing = admin.get("/admin/users").get_data(as_text=True)
    token_id = re.search(r"/admin/tokens/(\d+)\"", listing).group(1)
    html = admin.get(f"/admin/tokens/{token_id}").get_data(as_text=True)
    assert "/api/v1/cases/&lt;docket_no&gt;" in html and ">403<" in html
    assert "Smith" not in html and "Smith" not in str(stored)
    assert "HHDCV226160660S" not in html and "6160660" not in str(stored)
    assert as_role("manager").get(f"/admin/tokens/{token_id}").status_code == 403
