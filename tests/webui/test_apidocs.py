"""The browsable API reference ``/api/docs``: behind the staff sign-in, Swagger UI
served from this app (nothing from another host), every operation documented with
examples that match its schemas, and "Try it out" answering with a bearer token."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.webui.conftest import EMAILS, PASSWORD, api_token
from tests.webui.test_browser import (  # noqa: F401 -- live_server: a fixture
    ARTIFACTS,
    _in_browser,
    live_server,
)
from webui.openapi import OPERATIONS

#: The errors every operation answers (400 too when it takes parameters or a body).
ERRORS = {"401", "403", "429", "503"}


#: The pages and the description do not depend on the database: SQLite only.
ON_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@ON_SQLITE
def test_apidocs_needs_a_staff_sign_in(client):
    for path in (
        "/api/docs",
        "/api/docs/openapi.json",
        "/api/docs/assets/swagger-ui-bundle.js",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/auth/login" in response.location, path


@ON_SQLITE
def test_apidocs_page_serves_swagger_ui_from_this_app(as_role):
    viewer = as_role("viewer")
    assert 'href="/api/docs"' in viewer.get("/").get_data(as_text=True)  # the nav
    page = viewer.get("/api/docs").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/api/docs/assets/swagger-ui-bundle.js" in sources
    assert not [s for s in sources if "//" in s], sources  # no other host
    bundle = viewer.get("/api/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert b"SwaggerUIBundle" in bundle.data
    assert "no-store" not in bundle.headers.get("Cache-Control", "")


def _operations(spec: dict):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def _examples_missing(spec: dict, name: str, operation: dict) -> list[str]:
    """Return what the operation lacks: a summary, a parameter's description or
    example, a body's or an answer's example, an error answer."""
    missing = [] if operation.get("summary") else [f"{name}: summary"]
    for param in operation["parameters"]:
        for key in ("description", "example", "schema"):
            if key not in param:
                missing.append(f"{name}: {param['name']}'s {key}")
    body = operation.get("requestBody", {}).get("content", {})
    if body and "example" not in body["application/json"]:
        missing.append(f"{name}: request body example")
    needed = ERRORS | ({"400"} if operation["parameters"] or body else set())
    missing += [f"{name}: {s} answer" for s in needed - operation["responses"].keys()]
    for status, answer in operation["responses"].items():
        content = answer.get("content", {}).get("application/json")
        if content is None or "example" not in content:
            missing.append(f"{name}: {status} example")
            continue
        schema = {**content["schema"], "components": spec["components"]}
        for fault in Draft202012Validator(schema).iter_errors(content["example"]):
            missing.append(f"{name}: {status} example: {fault.message}")
    return missing


@ON_SQLITE
def test_apidocs_every_operation_is_documented(as_role):
    """Every operation, including ones added later: add them to
    webui/openapi_examples.py (the message names what is missing)."""
    spec = as_role("viewer").get("/api/docs/openapi.json").get_json()
    named = list(_operations(spec))
    assert len(named) == len(OPERATIONS)
    missing = [m for name, op in named for m in _examples_missing(spec, name, op)]
    assert not missing, "\n".join(missing)
    county = spec["paths"]["/counties/{county}/stats"]["get"]["parameters"][0]
    assert "New London" in county["schema"]["enum"]
    statuses = spec["paths"]["/cases"]["get"]["parameters"]
    assert {"all", "active", "disposed"} == set(
        next(p for p in statuses if p["name"] == "status")["schema"]["enum"]
    )


# PostgreSQL only (production's database): one browser run is most of the budget.
@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_apidocs_renders_in_chromium_and_tries_an_operation(app, live_server):  # noqa: F811
    shots = ARTIFACTS / "apidocs"
    shots.mkdir(parents=True, exist_ok=True)
    token = api_token(app, "viewer")
    seen = {"requests": [], "refused": []}
    _in_browser(_read_and_try, live_server, token, shots, seen)
    assert seen["requests"], "the browser recorded no request"
    elsewhere = [u for u in seen["requests"] if not u.startswith(live_server)]
    assert not elsewhere, elsewhere
    assert not seen["refused"], seen["refused"]  # nothing the CSP blocked


def _note_refusal(text: str, seen: dict) -> None:
    if "Content Security Policy" in text:
        seen["refused"].append(text)


def _read_and_try(page, root: str, token: str, shots: Path, seen: dict) -> None:
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: _note_refusal(m.text, seen))
    page.goto(f"{root}/auth/login")
    page.fill("input[name=email]", EMAILS["viewer"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.click("#nav-api-docs")
    page.wait_for_selector(".opblock-summary-path")
    assert page.locator(".opblock").count() == len(OPERATIONS)
    page.screenshot(path=str(shots / "01-reference.png"), full_page=False)

    page.click("button.authorize")
    page.fill(".auth-container input", token)
    page.click(".auth-btn-wrapper button.authorize")
    page.click("button.btn-done")
    towns = page.locator("#operations-default-get_towns")
    towns.locator(".opblock-summary").click()
    towns.locator("button.try-out__btn").click()
    towns.locator("button.execute").click()
    status = towns.locator(".live-responses-table tbody .response-col_status")
    status.wait_for()
    assert status.inner_text().strip() == "200"  # the token went with it
    assert "Bethel" in towns.locator(".live-responses-table").inner_text()
    page.screenshot(path=str(shots / "02-try-it-out.png"), full_page=False)
