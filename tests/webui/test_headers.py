"""Response headers: nothing that carries personal data may be cached."""

from __future__ import annotations

import re

import pytest

from tests.webui.conftest import api_token
from tests.webui.test_roles import ACTIONS, ROLES

PAGES = [path for _, method, path, _ in ACTIONS if method == "GET"]
API_PATHS = ("/api/v1/cases", "/api/v1/defendants", "/api/v1/towns")


def _no_store(response) -> bool:
    return response.cache_control.no_store


@pytest.mark.parametrize("role", ROLES)
def test_no_store_on_every_page_and_export_of_the_role_matrix(as_role, role):
    client = as_role(role)
    for path in PAGES:
        response = client.get(path)
        assert _no_store(response), (role, path, response.status_code)


def test_no_store_on_a_csv_export(as_role):
    response = as_role("manager").get("/exports/cases.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert _no_store(response)


def test_no_store_on_api_answers_to_a_token(app):
    headers = {"Authorization": f"Bearer {api_token(app, 'manager')}"}
    client = app.test_client()
    for path in API_PATHS:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert _no_store(response), path


def test_no_store_on_a_failed_sign_in_which_shows_the_typed_email(client):
    response = client.post("/auth/login", data={"email": "x@example.org"})
    assert _no_store(response)


def test_static_files_and_the_blank_sign_in_form_may_be_cached(client):
    static = client.get("/static/app.css")
    assert static.status_code == 200
    assert not _no_store(static)
    static.close()
    assert not _no_store(client.get("/auth/login"))


def test_no_store_keeps_a_stricter_header_an_endpoint_set(app, as_role):
    @app.get("/strict-test")
    def strict():
        return "x", 200, {"Cache-Control": "no-store, no-cache, private, max-age=0"}

    response = as_role("viewer").get("/strict-test")
    assert response.cache_control.no_store
    assert response.cache_control.no_cache
    assert response.cache_control.private
    assert response.cache_control.max_age == 0


def test_every_page_names_an_icon_the_app_serves(client):
    # Without one, browsers ask for /favicon.ico on every page: a 404 (or, signed
    # out, a redirect to the sign-in) in every log.
    page = client.get("/auth/login").get_data(as_text=True)
    href = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)
    icon = client.get(href)
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    icon.close()
