"""Sign-in, the login guard over the whole URL map, CSRF, throttling, start-up rules."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import EMAILS, PASSWORD, SECRET_KEY, csrf_token, login

PUBLIC = {"auth.login", "healthz", "readyz", "metrics", "static"}
# The pages of emailed links (tests/webui/test_accounts.py checks what they show).
PUBLIC |= {"links.forgot", "links.reset", "links.invite"}
# A calendar feed's secret address is its credential (tests/webui/test_calendar.py:
# unknown, revoked and disabled users' addresses are 404s).
PUBLIC |= {"calendar.feed"}


def _sample_url(rule) -> str:
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg].__class__.__name__
        values[arg] = 1 if "Integer" in converter else "HHDCV226160660S"
    path = rule.build(values, append_unknown=False)[1]
    return path


def test_url_map_every_route_but_login_healthz_static_requires_auth(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        url = _sample_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            if rule.endpoint.startswith("api."):
                assert response.status_code == 401, (rule, method)
                assert response.get_json() == {"error": "missing bearer token"}
            elif method == "GET":
                assert response.status_code == 302, (rule, method)
                assert "/auth/login" in response.headers["Location"]
            else:
                # POSTs without a session: CSRF (400) or login redirect, never data
                assert response.status_code in (302, 400), (rule, method)
            for secret in (b"FIRST BANK", b"Elm Street", b"Doe", b"555"):
                assert secret not in response.data, (rule, method)
            checked += 1
    assert checked > 30


def test_healthz_answers_without_session_and_without_data(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_login_with_right_password_reaches_dashboard(client):
    response = login(client, "viewer")
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert EMAILS["viewer"] in page.get_data(as_text=True)


def test_login_wrong_password_refused_and_audited(app, client):
    token = csrf_token(client)
    response = client.post(
        "/auth/login",
        data={
            "email": EMAILS["admin"],
            "password": "wrong-password-123",
            "csrf_token": token,
        },
    )
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        actions = conn.execute(sa.select(db.audit_log.c.action)).scalars().all()
    assert "login.failed" in actions


def _failed_login_records(app) -> list:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        return conn.execute(
            sa.select(db.audit_log).where(db.audit_log.c.action == "login.failed")
        ).all()


@pytest.mark.parametrize(
    "typed",
    ["someone.else@example.net", "Tr0ub4dor-typed-in-the-wrong-box"],
)
def test_login_failure_with_an_unknown_email_leaves_no_trace_of_it(app, client, typed):
    token = csrf_token(client)
    response = client.post(
        "/auth/login",
        data={"email": typed, "password": "wrong-password-123", "csrf_token": token},
    )
    assert response.status_code == 401
    records = _failed_login_records(app)
    assert [r.target for r in records] == ["(unknown account)"]
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        rows = conn.execute(sa.select(db.audit_log)).all()
    assert typed.lower() not in repr(rows).lower()


def test_login_failure_with_a_known_email_is_audited_with_it(app, client):
    token = csrf_token(client)
    client.post(
        "/auth/login",
        data={
            "email": " Viewer@Example.org ",
            "password": "wrong-password-123",
            "csrf_token": token,
        },
    )
    records = _failed_login_records(app)
    assert [(r.actor, r.target) for r in records] == [("anonymous", EMAILS["viewer"])]


def test_login_success_is_audited(app, client):
    login(client, "manager")
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        rows = (
            conn.execute(
                sa.select(db.audit_log.c.actor).where(db.audit_log.c.action == "login")
            )
            .scalars()
            .all()
        )
    assert rows == [EMAILS["manager"]]


def test_login_without_csrf_token_refused(client):
    response = client.post(
        "/auth/login", data={"email": EMAILS["admin"], "password": PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_logout_without_csrf_token_refused(as_role):
    c = as_role("viewer")
    assert c.post("/auth/logout").status_code == 400
    assert c.get("/").status_code == 200  # still signed in


def test_logout_with_csrf_token_ends_session(as_role):
    c = as_role("viewer")
    response = c.post("/auth/logout", data={"csrf_token": csrf_token(c, "/")})
    assert response.status_code == 302
    assert c.get("/").status_code == 302


def test_disabled_user_cannot_login_and_loses_session(app, as_role):
    from ctforeclosure.services import users as svc

    c = as_role("viewer")
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        svc.disable_user(conn, EMAILS["viewer"], actor="test")
    assert c.get("/").status_code == 302
    assert login(app.test_client(), "viewer").status_code == 401


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/"]
)
def test_login_next_never_leaves_the_site(client, target):
    token = csrf_token(client)
    response = client.post(
        "/auth/login",
        query_string={"next": target},
        data={"email": EMAILS["viewer"], "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_login_next_goes_back_to_the_page_asked_for(client):
    token = csrf_token(client)
    response = client.post(
        "/auth/login",
        query_string={"next": "/cases/?town=Hartford"},
        data={"email": EMAILS["viewer"], "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/cases/?town=Hartford"


def test_session_cookie_is_secure_httponly_samesite(client):
    response = login(client, "viewer")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_sign_in_lasts_eight_hours_however_busy(as_role, monkeypatch):
    """Activity does not extend a sign-in: staff sign in again each working day."""
    import time

    from itsdangerous.timed import TimestampSigner

    viewer = as_role("viewer")
    signed_in_at = time.time()
    assert viewer.get("/cases/").status_code == 200  # its forms' token saved

    def hours_later(hours: float):
        monkeypatch.setattr(
            TimestampSigner,
            "get_timestamp",
            lambda self: int(signed_in_at + hours * 3600),
        )
        return viewer.get("/cases/")

    assert hours_later(7).status_code == 200
    response = hours_later(8.5)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_create_app_refuses_to_start_without_secret_key(seeded_db_url):
    from webui import ConfigurationError, create_app

    with pytest.raises(ConfigurationError, match="CTF_SECRET_KEY"):
        create_app({"DATABASE_URL": seeded_db_url})


def test_create_app_refuses_a_schema_behind_head(sqlite_url):
    from ctforeclosure.migrate import SchemaNotCurrent
    from webui import create_app

    with pytest.raises(SchemaNotCurrent, match="ctforeclosure db upgrade"):
        create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": SECRET_KEY})


def test_create_app_reads_secret_key_from_environment(seeded_db_url, monkeypatch):
    from webui import create_app

    monkeypatch.setenv("CTF_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("DATABASE_URL", seeded_db_url)
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-the-environment"
    app.extensions["ctforeclosure_engine"].dispose()


def _replay(app, cookie: str, user_agent: str | None = None):
    """Return a new client holding a copied session cookie (another device)."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    if user_agent:
        other.environ_base["HTTP_USER_AGENT"] = user_agent
    return other


def _expect_sign_in_page(client) -> None:
    response = client.get("/cases/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_signing_out_ends_every_session_of_that_user(app, as_role):
    viewer = as_role("viewer")
    saved = viewer.get_cookie("session").value
    laptop = as_role("viewer")  # the same user, signed in elsewhere
    assert _replay(app, saved).get("/cases/").status_code == 200
    viewer.post("/auth/logout", data={"csrf_token": csrf_token(viewer, "/")})
    _expect_sign_in_page(_replay(app, saved))
    _expect_sign_in_page(laptop)
    assert as_role("viewer").get("/cases/").status_code == 200  # signs in again


def _admin_changes(app, as_role, change: str) -> None:
    """Have the admin reset, demote or disable the viewer on the admin page."""
    admin = as_role("admin")
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        viewer_id = conn.execute(
            sa.select(db.users.c.id).where(db.users.c.email == EMAILS["viewer"])
        ).scalar_one()
    path, data = {
        "reset": ("password", {"password": "a brand new passphrase"}),
        "role": ("role", {"role": "manager"}),
        "disable": ("disable", {}),
    }[change]
    data["csrf_token"] = csrf_token(admin, "/admin/users")
    response = admin.post(f"/admin/users/{viewer_id}/{path}", data=data)
    assert response.status_code == 302


@pytest.mark.parametrize("change", ["reset", "role", "disable"])
def test_an_admin_change_on_the_admin_page_ends_the_users_sessions(
    app, as_role, change
):
    viewer = as_role("viewer")
    saved = viewer.get_cookie("session").value
    _admin_changes(app, as_role, change)
    _expect_sign_in_page(viewer)
    _expect_sign_in_page(_replay(app, saved))


@pytest.mark.parametrize(
    "command",
    [
        ["reset-password", EMAILS["viewer"], "--password-stdin"],
        ["set-role", EMAILS["viewer"], "manager"],
        ["disable", EMAILS["viewer"]],
    ],
)
def test_a_users_command_ends_the_users_sessions(
    app, as_role, seeded_db_url, monkeypatch, command
):
    from click.testing import CliRunner

    from ctforeclosure.cli.app import main

    viewer = as_role("viewer")
    monkeypatch.setenv("DATABASE_URL", seeded_db_url)
    result = CliRunner().invoke(
        main, ["users", *command], input="a brand new passphrase\n"
    )
    assert result.exit_code == 0, result.output
    _expect_sign_in_page(viewer)


def test_enabling_a_user_again_does_not_revive_old_sessions(app, as_role):
    from ctforeclosure.services import users as svc

    viewer = as_role("viewer")
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        svc.disable_user(conn, EMAILS["viewer"], actor="test")
        svc.enable_user(conn, EMAILS["viewer"], actor="test")
    _expect_sign_in_page(viewer)


def test_a_cookie_replayed_by_another_browser_is_refused(app, as_role):
    viewer = as_role("viewer")
    saved = viewer.get_cookie("session").value
    assert _replay(app, saved).get("/cases/").status_code == 200  # same browser
    _expect_sign_in_page(_replay(app, saved, user_agent="curl/8.5.0"))
    assert viewer.get("/cases/").status_code == 200  # the owner is unaffected


def test_a_session_from_before_this_release_must_sign_in_again(app, as_role):
    """A session without a version (signed before the upgrade) is not trusted."""
    viewer = as_role("viewer")
    with viewer.session_transaction() as sess:
        del sess["_ctf_version"]
    _expect_sign_in_page(viewer)


@pytest.mark.parametrize("role", ["viewer", "manager", "admin"])
def test_whoami_answers_the_signed_in_users_email_and_role(as_role, role):
    response = as_role(role).get("/auth/whoami")
    assert response.status_code == 200
    assert response.get_json() == {"email": EMAILS[role], "role": role}


def test_whoami_after_sign_out_redirects_to_sign_in(as_role):
    client = as_role("manager")
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")})
    response = client.get("/auth/whoami")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
