"""One contacts policy on every path: no page, export or API route shows a phone
flagged DNC or TCPA unless a manager explicitly asked (a POST with the CSRF token in
the browser, ``include_dnc=true`` in the API), and every response revealing contacts
writes exactly one ``contacts.reveal`` audit record (a viewer's masked view none)."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from ctforeclosure import db
from tests.webui.conftest import (
    DOCKET_HARTFORD,
    EMAIL,
    EMAILS,
    PHONE_DNC,
    PHONE_OK,
    api_token,
    csrf_token,
)

PHONE_TCPA = "+18605550188"
FLAGGED = (PHONE_DNC, PHONE_TCPA)
#: Values for the routes' path parameters while walking every route.
PATH_VALUES = {
    "docket_no": DOCKET_HARTFORD,
    "party_id": "2",
    "crawl_id": "1",
    "job_id": "no-such-job",
    "town": "Hartford",
    "county": "Hartford",
    "name": "Hartford",
    "token_id": "1",
    "posting_id": "1",
    "search_id": "1",
    "sub_id": "1",
    "token": "no-such-link",  # an emailed reset or invitation link
    "secret": "no-such-feed",  # a calendar feed's address
    "filename": "swagger-ui.css",  # Swagger UI's files under /api/docs/assets
}
CASE_PAGE = f"/cases/{DOCKET_HARTFORD}"
#: The paths that show party 2's contacts (seeded: one plain phone, one DNC, an
#: email; the fixture below adds a TCPA phone).
CONTACT_PAGES = (CASE_PAGE, "/exports/cases.csv", "/exports/cases.xlsx")
CONTACT_API = (
    f"/api/v1/cases/{DOCKET_HARTFORD}",
    "/api/v1/defendants/2",
    "/api/v1/skiptraces/by-defendant/2",
)

#: What each of those paths' audit record says was asked for.
SCOPES = {
    CASE_PAGE: {"kind": "page", "docket_no": DOCKET_HARTFORD, "party_ids": [2]},
    "/exports/cases.csv": {"kind": "export", "filters": {}},
    "/exports/cases.xlsx": {"kind": "export", "filters": {}},
    CONTACT_API[0]: {"kind": "api", "docket_no": DOCKET_HARTFORD, "party_ids": [2]},
    CONTACT_API[1]: {"kind": "api", "party_ids": [2]},
    CONTACT_API[2]: {"kind": "api", "party_ids": [2]},
}


@pytest.fixture(autouse=True)
def tcpa_phone(app):
    """Give the Hartford defendant's result a TCPA-flagged phone too."""
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        conn.execute(
            db.skiptrace_phones.insert().values(
                result_id=1,
                number=PHONE_TCPA,
                type="Mobile",
                dnc=False,
                tcpa=True,
                rank=3,
            )
        )


def _forms(number: str) -> tuple[str, ...]:
    """Return the ways a page, file or JSON answer could show ``number``."""
    return (number, f"555-{number[-4:]}", f"**{number[-2:]}")


def _shows(text: str, number: str) -> bool:
    return any(form in text for form in _forms(number))


def _text(response) -> str:
    """Return a response's body as text (an XLSX workbook's cell values)."""
    if response.mimetype.endswith("spreadsheetml.sheet"):
        sheet = load_workbook(io.BytesIO(response.data)).active
        return "\n".join(
            str(c.value) for row in sheet.iter_rows() for c in row if c.value
        )
    return response.get_data(as_text=True)


def _reveals(app) -> list:
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        return conn.execute(
            sa.select(db.audit_log)
            .where(db.audit_log.c.action == "contacts.reveal")
            .order_by(db.audit_log.c.id)
        ).all()


def _get_routes(app) -> list[str]:
    """Return every GET route of the app as a path (the audit log last)."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if rule.endpoint.startswith("auth."):
            continue
        unknown = set(rule.arguments) - set(PATH_VALUES)
        assert not unknown, f"add a value for {unknown} ({rule.rule})"
        paths.append(
            re.sub(r"<(?:\w+:)?(\w+)>", lambda m: PATH_VALUES[m[1]], rule.rule)
        )
    return sorted(paths, key=lambda p: p == "/admin/audit")


@pytest.mark.parametrize("role", ["admin", "manager", "viewer"])
def test_no_path_shows_a_flagged_phone_without_include_dnc(app, as_role, role):
    client = as_role(role)
    headers = {"Authorization": f"Bearer {api_token(app, role)}"}
    showing_contacts = set()
    for path in _get_routes(app):
        kw = {"headers": headers} if path.startswith("/api/") else {}
        response = client.get(path, **kw)
        text = _text(response)
        for number in FLAGGED:
            assert not _shows(text, number), (role, path, response.status_code)
        if _shows(text, PHONE_OK):
            showing_contacts.add(path)
    # the walk did reach every path showing contacts (viewers: no exports)
    expected = set(CONTACT_PAGES + CONTACT_API)
    if role == "viewer":
        expected -= {"/exports/cases.csv", "/exports/cases.xlsx"}
    assert showing_contacts == expected


def _api_phones(body) -> list[dict]:
    """Return every phone object anywhere in an API answer."""
    if isinstance(body, list):
        return [p for item in body for p in _api_phones(item)]
    if isinstance(body, dict):
        if "number" in body:
            return [body]
        return [p for value in body.values() for p in _api_phones(value)]
    return []


def _ask_for_flagged(app, client, path: str):
    """Ask for the flagged phones the way each path allows it."""
    if path.startswith("/api/"):
        headers = {"Authorization": f"Bearer {api_token(app, 'manager')}"}
        return client.get(path + "?include_dnc=true", headers=headers)
    token = csrf_token(client, "/")
    return client.post(path, data={"csrf_token": token, "include_dnc": "1"})


@pytest.mark.parametrize("path", CONTACT_PAGES + CONTACT_API)
def test_a_manager_who_asks_gets_flagged_phones_marked(app, as_role, path):
    response = _ask_for_flagged(app, as_role("manager"), path)
    assert response.status_code == 200
    text = _text(response)
    assert all(_shows(text, n) for n in (PHONE_OK, *FLAGGED))
    if path.startswith("/api/"):
        phones = {p["number"]: p for p in _api_phones(response.get_json())}
        assert phones[PHONE_DNC]["dnc"] and phones[PHONE_DNC]["flagged"]
        assert phones[PHONE_TCPA]["tcpa"] and phones[PHONE_TCPA]["flagged"]
        assert not phones[PHONE_OK]["flagged"]
    elif path.startswith("/exports/"):
        assert "(860) 555-0199 [DNC]" in text and "(860) 555-0188 [TCPA]" in text
    else:
        assert "DNC</span>" in text and "TCPA</span>" in text


@pytest.mark.parametrize("include_dnc", [False, True])
@pytest.mark.parametrize("path", CONTACT_PAGES + CONTACT_API)
def test_each_reveal_writes_one_audit_record_with_its_counts(
    app, as_role, path, include_dnc
):
    client = as_role("manager")
    if include_dnc:
        response = _ask_for_flagged(app, client, path)
    elif path.startswith("/api/"):
        headers = {"Authorization": f"Bearer {api_token(app, 'manager')}"}
        response = client.get(path, headers=headers)
    else:
        response = client.get(path)
    assert response.status_code == 200
    response.get_data()  # a streamed export is audited when its download ends
    [record] = _reveals(app)
    assert record.actor == EMAILS["manager"]
    assert record.target == path
    assert record.details == {
        **SCOPES[path],
        "records": 1,
        "phones": 3 if include_dnc else 1,
        "emails": 1,
        "addresses": 0,
        "include_dnc": include_dnc,
    }
    # never the numbers or emails themselves
    details = str(record.details)
    assert EMAIL not in details
    assert not any(_shows(details, n) for n in (PHONE_OK, *FLAGGED))


@pytest.mark.parametrize("path", (CASE_PAGE, *CONTACT_API))
def test_a_viewers_masked_view_writes_no_audit_record(app, as_role, path):
    headers = {"Authorization": f"Bearer {api_token(app, 'viewer')}"}
    response = as_role("viewer").get(path, headers=headers)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "(***) ***-**23" in text and "j***@example.com" in text
    assert PHONE_OK not in text and EMAIL not in text
    assert _reveals(app) == []


@pytest.mark.parametrize("path", CONTACT_PAGES)
def test_include_dnc_in_a_url_is_refused_naming_it(app, as_role, path):
    response = as_role("manager").get(path + "?include_dnc=1")
    assert response.status_code == 400
    assert "include_dnc" in response.get_data(as_text=True)
    assert _reveals(app) == []


@pytest.mark.parametrize("path", CONTACT_PAGES)
def test_a_cross_site_post_without_the_csrf_token_is_refused(app, as_role, path):
    response = as_role("manager").post(
        path,
        data={"include_dnc": "1"},
        headers={"Origin": "http://evil.example", "Referer": "http://evil.example/"},
    )
    assert response.status_code == 400
    assert not any(_shows(_text(response), n) for n in FLAGGED)
    assert _reveals(app) == []


def test_the_cases_page_offers_managers_an_export_with_flagged_phones(as_role):
    manager = as_role("manager")
    html = manager.get("/cases/?town=Hartford").get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]+)" id="export-dnc"', html)
    assert form and "Export with DNC/TCPA numbers" in html
    action = form.group(1).replace("&amp;", "&")
    assert action == "/exports/cases.csv?town=Hartford"
    token = csrf_token(manager, "/")
    exported = manager.post(action, data={"csrf_token": token, "include_dnc": "1"})
    assert "(860) 555-0199 [DNC]" in exported.get_data(as_text=True)
    viewer_html = as_role("viewer").get("/cases/").get_data(as_text=True)
    assert "export-dnc" not in viewer_html


def test_the_case_page_says_flagged_phones_are_hidden_and_offers_them(as_role):
    html = as_role("manager").get(CASE_PAGE).get_data(as_text=True)
    assert "2 DNC/TCPA-flagged numbers not shown" in html
    assert 'id="show-dnc"' in html
    viewer_html = as_role("viewer").get(CASE_PAGE).get_data(as_text=True)
    assert 'id="show-dnc"' not in viewer_html


def test_a_viewer_asking_for_flagged_phones_is_refused_naming_it(app, as_role):
    viewer = as_role("viewer")
    token = csrf_token(viewer, "/")
    page = viewer.post(CASE_PAGE, data={"csrf_token": token, "include_dnc": "1"})
    assert page.status_code == 403 and "include_dnc" in page.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {api_token(app, 'viewer')}"}
    for path in CONTACT_API:
        response = viewer.get(path + "?include_dnc=true", headers=headers)
        assert response.status_code == 403
        assert response.get_json()["parameter"] == "include_dnc"
        assert "include_dnc" in response.get_json()["error"]


def test_api_include_dnc_that_is_not_a_boolean_is_400_naming_it(app, client):
    headers = {"Authorization": f"Bearer {api_token(app, 'manager')}"}
    response = client.get("/api/v1/defendants/2?include_dnc=please", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["parameter"] == "include_dnc"
