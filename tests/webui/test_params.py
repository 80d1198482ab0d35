"""Bad input: every refused value is a 400 naming the parameter (JSON for the API, the
page shown again for pages), an id that cannot exist is a 404, and nothing is run,
exported or audited on a filter that could not be read (issue 16, item 6)."""

from __future__ import annotations

import sqlalchemy as sa

from ctforeclosure import db
from tests.webui.conftest import DOCKET_HARTFORD, api_token, csrf_token

#: (request, the parameter the 400 must name)
API_PROBES = (
    ("/cases?page=999999999", "page"),
    ("/cases?per_page=500", "per_page"),
    ("/cases?town=Hart%00ford", "town"),
    ("/cases?town=Atlantis", "town"),
    ("/cases?county=%00", "county"),
    ("/cases?county=Nowhere", "county"),
    ("/cases/search?q=elm%00", "q"),
    ("/cases?filed_from=2026-13-01", "filed_from"),
    ("/cases?filed_to=yesterday", "filed_to"),
    ("/cases?status=bogus", "status"),
    ("/cases?judgment_type=bogus", "judgment_type"),
    ("/cases?sort=password_hash", "sort"),
    ("/cases?order=sideways", "order"),
    ("/cases?has_phones=maybe", "has_phones"),
    ("/cases/by-town/Hartford?skip_traced=2", "skip_traced"),
    ("/defendants?q=%00", "q"),
    ("/defendants?page=0", "page"),
    ("/skiptraces/history?page=99999999999999999999", "page"),
    ("/scraper/history?per_page=x", "per_page"),
    ("/scraper/status/job%00", "job_id"),
    ("/skiptraces/jobs/%00", "job_id"),
)


def _api(app, role: str = "admin"):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_token(app, role)}"}

    def call(method: str, path: str, **kw):
        return client.open("/api/v1" + path, method=method, headers=headers, **kw)

    return call


def _actions(app) -> list[str]:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        return conn.execute(sa.select(db.audit_log.c.action)).scalars().all()


def test_params_api_refuses_each_bad_value_with_a_400_naming_it(app):
    call = _api(app)
    for path, name in API_PROBES:
        response = call("GET", path)
        assert response.status_code == 400, (path, response.status_code)
        body = response.get_json()
        assert body["parameter"] == name, (path, body)
        assert name in body["error"] and body["accepts"], (path, body)


def test_params_api_legitimate_spellings_still_work(app):
    call = _api(app)
    page = call("GET", "/cases?town=hartfrod&county=hartford+county&has_phones=yes")
    assert page.status_code == 200
    assert page.get_json()["filters"] == {
        "town": "Hartford",
        "county": "Hartford",
        "has_phones": True,
    }
    for flag in ("1", "true", "on", "0", "false", "no", "off", ""):
        assert call("GET", f"/cases?skip_traced={flag}").status_code == 200, flag
    assert call("GET", "/cases?judgment_type=&status=&town=").status_code == 200


def test_params_api_ids_that_cannot_exist_are_404(app):
    call = _api(app)
    for path in (
        "/defendants/2147483648",
        "/defendants/9223372036854775808",
        "/skiptraces/by-defendant/99999999999999999999",
        "/scraper/status/2147483648",
        "/scraper/status/²",
    ):
        response = call("GET", path)
        assert response.status_code == 404, (path, response.status_code)
        assert "error" in response.get_json(), path


def test_params_api_unknown_paths_and_methods_answer_json_not_a_login(app, client):
    for headers in ({}, {"Authorization": f"Bearer {api_token(app, 'viewer')}"}):
        missing = client.get("/api/v1/nothing/here", headers=headers)
        assert missing.status_code == 404 and "error" in missing.get_json()
        wrong = client.delete("/api/v1/towns", headers=headers)
        assert wrong.status_code == 405 and "error" in wrong.get_json()
        assert wrong.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert client.get("/no/such/page").status_code == 302  # pages: sign in first


def test_params_api_json_bodies_of_the_wrong_type_are_400(app):
    call = _api(app)
    probes = (
        ("/skiptraces/lookup", {"docket_nos": [1, 2]}, "docket_nos"),
        ("/skiptraces/lookup", {"docket_nos": "HHDCV226160660S"}, "docket_nos"),
        ("/skiptraces/lookup", {"docket_nos": ["nonsense"]}, "docket_nos"),
        ("/skiptraces/lookup", {"town": 7}, "town"),
        ("/skiptraces/lookup", {"pending": "yes"}, "pending"),
        ("/skiptraces/lookup", {"docket_no": [DOCKET_HARTFORD]}, "docket_no"),
        ("/skiptraces/lookup", [DOCKET_HARTFORD], "body"),
        ("/skiptraces/lookup", "Hartford", "body"),
        ("/scraper/scrape", ["all"], "body"),
        ("/scraper/scrape", {"scope": "everything"}, "scope"),
        ("/scraper/scrape", {"scope": "town", "town": 5}, "town"),
    )
    for path, body, name in probes:
        response = call("POST", path, json=body)
        assert response.status_code == 400, (path, body, response.status_code)
        assert response.get_json()["parameter"] == name, (path, body)
    not_json = call("POST", "/skiptraces/lookup", data="{", content_type="text/plain")
    assert not_json.status_code == 400
    assert not_json.get_json()["parameter"] == "body"


def test_params_api_spend_confirmation_needs_a_finite_max_cost(
    app, batchdata, configured
):
    """With BatchData on, "Infinity" passed the comparison; "NaN" was a 500."""
    configured(batchdata)
    call = _api(app)
    for max_cost in ("Infinity", "NaN", "-1", True, "ten", [1]):
        response = call(
            "POST",
            "/skiptraces/lookup",
            json={
                "docket_nos": [DOCKET_HARTFORD],
                "confirm": True,
                "max_cost": max_cost,
            },
        )
        assert response.status_code == 400, (max_cost, response.status_code)
        assert response.get_json()["parameter"] == "max_cost", max_cost
    assert batchdata.calls() == []
    assert "skiptrace.start" not in _actions(app)


def test_params_export_with_a_bad_date_exports_and_audits_nothing(app, as_role):
    """An export with filed_from=2026-13-01 exported every case with phones."""
    response = as_role("manager").get("/exports/cases.csv?filed_from=2026-13-01")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'data-parameter="filed_from"' in html and "YYYY-MM-DD" in html
    assert DOCKET_HARTFORD not in html and "Content-Disposition" not in response.headers
    assert "export" not in _actions(app)


def test_params_cases_page_shows_the_form_again_with_the_message(as_role):
    viewer = as_role("viewer")
    response = viewer.get("/cases/?filed_from=2026-13-01&q=elm")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="param-problem" data-parameter="filed_from"' in html
    assert 'value="2026-13-01"' in html and 'value="elm"' in html  # as typed
    assert "0 cases" in html and "12 Elm Street" not in html
    deep = viewer.get("/cases/?page=999999999")
    assert deep.status_code == 400 and 'data-parameter="page"' in deep.get_data(
        as_text=True
    )


def test_params_pages_refuse_nul_bytes_and_impossible_ids(app, client, as_role):
    admin = as_role("admin")
    audit = admin.get("/admin/audit?action=login%00")
    assert audit.status_code == 400
    assert 'data-parameter="action"' in audit.get_data(as_text=True)
    assert admin.get("/crawls/2147483648").status_code == 404
    assert admin.get("/crawls/9223372036854775808").status_code == 404
    assert admin.get("/skiptrace/jobs/%00").status_code == 400
    token = csrf_token(client)
    login = client.post(
        "/auth/login",
        data={"email": "admin@example.org\x00", "password": "x", "csrf_token": token},
    )
    assert login.status_code == 400
    assert 'data-parameter="email"' in login.get_data(as_text=True)


def test_params_skiptrace_run_page_refuses_a_max_cost_that_is_not_a_number(
    app, as_role, batchdata, configured
):
    configured(batchdata)
    manager = as_role("manager")
    for max_cost in ("NaN", "Infinity", "sNaN"):
        response = manager.post(
            "/skiptrace/run",
            data={
                "csrf_token": csrf_token(manager, "/cases/"),
                "docket_no": DOCKET_HARTFORD,
                "max_cost": max_cost,
            },
        )
        assert response.status_code == 302, max_cost  # back to quote again
    assert batchdata.calls() == []
    assert "skiptrace.start" not in _actions(app)
