"""The JSON API: bearer tokens, every route, masking for viewers, and an OpenAPI
description that matches the real routes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from ctforeclosure import db
from ctforeclosure.services import tokens as token_service
from ctforeclosure.services import users as user_service
from tests.webui.conftest import (
    DOCKET_HARTFORD,
    DOCKET_NEW_HAVEN,
    EMAIL,
    EMAILS,
    PHONE_OK,
    XSS_NAME,
    api_token,
)


@pytest.fixture
def api(app):
    """Return a function giving (get, post) helpers for a role's token (with
    ``scopes``, or every scope the role allows)."""

    def make(role: str, scopes=None):
        headers = {"Authorization": f"Bearer {api_token(app, role, scopes)}"}
        client = app.test_client()

        def get(path, **kw):
            return client.get("/api/v1" + path, headers=headers, **kw)

        def post(path, **kw):
            return client.post("/api/v1" + path, headers=headers, **kw)

        return get, post

    return make


def test_api_refuses_missing_wrong_and_revoked_tokens(app, client):
    assert client.get("/api/v1/towns").status_code == 401
    bad = {"Authorization": "Bearer ctf_not-a-token"}
    assert client.get("/api/v1/towns", headers=bad).status_code == 401
    secret = api_token(app, "viewer")
    good = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/towns", headers=good).status_code == 200
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        token_id = conn.execute(sa.select(sa.func.max(db.api_tokens.c.id))).scalar()
        token_service.revoke_token(conn, token_id, actor="test")
    assert client.get("/api/v1/towns", headers=good).status_code == 401


def test_api_session_cookie_is_not_enough(as_role):
    assert as_role("admin").get("/api/v1/towns").status_code == 401


def test_api_towns_routes(api):
    get, _ = api("viewer")
    towns = get("/towns").get_json()
    assert len(towns) == 169
    assert {"name": "Andover", "county": "Tolland"}.items() <= towns[0].items()
    tolland = get("/towns/by-county/tolland").get_json()
    assert "Vernon" in [t["name"] for t in tolland]
    assert get("/towns/by-county/Atlantis").status_code == 404
    assert [t["name"] for t in get("/towns/search?q=hartford").get_json()][:1] == [
        "Hartford"
    ]
    assert get("/towns/search").status_code == 400
    ok = get("/towns/validate/hartfrod").get_json()
    assert ok == {
        "valid": True,
        "town": {
            "name": "Hartford",
            "county": "Hartford",
            "planning_region": ok["town"]["planning_region"],
        },
    }
    bad = get("/towns/validate/Hartfordshire").get_json()
    assert bad["valid"] is False and "Hartford" in bad["suggestions"]


def test_api_counties_routes(api):
    get, _ = api("viewer")
    counties = {c["county"]: c for c in get("/counties").get_json()}
    assert len(counties) == 8
    assert counties["Hartford"]["cases"] == 2
    stats = get("/counties/new haven/stats").get_json()
    assert stats["cases"] == 1 and stats["county"] == "New Haven"
    assert get("/counties/Nowhere/stats").status_code == 404


def test_api_cases_routes(api):
    get, _ = api("viewer")
    page = get("/cases?town=Hartford&per_page=1").get_json()
    assert page["total"] == 2 and len(page["cases"]) == 1
    assert page["cases"][0]["docket_no"] == DOCKET_HARTFORD
    assert page["cases"][0]["file_date"].count("-") == 2  # ISO date
    found = get("/cases/search?q=chapel").get_json()
    assert [c["docket_no"] for c in found["cases"]] == [DOCKET_NEW_HAVEN]
    assert "_matches" not in found["cases"][0] and found["total"] == 1
    assert get("/cases/search").status_code == 400
    too_short = get("/cases/search?q=oe")
    assert too_short.status_code == 400
    assert "at least 3 characters" in too_short.get_json()["error"]
    assert get("/cases?q=oe").status_code == 400
    by_town = get("/cases/by-town/new%20haven").get_json()
    assert [c["docket_no"] for c in by_town["cases"]] == [DOCKET_NEW_HAVEN]
    assert get("/cases/by-town/Atlantis").status_code == 404
    case = get("/cases/HHD-CV-22-6160660-S").get_json()
    assert case["docket_no"] == DOCKET_HARTFORD
    assert "search_text" not in case  # the search's own copy, not the case's data
    assert [e["description"] for e in case["docket_entries"]] == [
        "SUMMONS",
        "COMPLAINT",
    ]
    assert case["court_dates"][0]["description"] == "Foreclosure mediation"
    assert case["changes"][0]["kind"] == "law_day"
    assert XSS_NAME in [p["name"] for p in case["parties"]]  # JSON, not HTML
    assert get("/cases/HHDCV229999999S").status_code == 404
    assert get("/cases/nonsense").status_code == 404


def test_api_sql_injection_in_search_is_harmless(api):
    get, _ = api("viewer")
    response = get("/cases/search", query_string={"q": "' OR 1=1 --"})
    assert response.status_code == 200
    assert response.get_json()["total"] == 0


def _phones(case: dict) -> list[str]:
    return [
        p["number"]
        for party in case["parties"]
        for t in party["skiptraces"]
        for p in t["phones"]
    ]


def test_api_viewer_gets_masked_phones_and_emails(api):
    get, _ = api("viewer")
    case = get(f"/cases/{DOCKET_HARTFORD}").get_json()
    assert _phones(case) == ["(***) ***-**23"]  # the DNC phone left out, even masked
    text = str(case)
    assert PHONE_OK not in text and EMAIL not in text and "j***@example.com" in text
    party = get("/skiptraces/by-defendant/2").get_json()
    assert party[0]["phones"][0]["number"] == "(***) ***-**23"


def test_api_manager_gets_phones(api):
    get, _ = api("manager")
    case = get(f"/cases/{DOCKET_HARTFORD}").get_json()
    assert _phones(case) == [PHONE_OK]  # flagged phones only with include_dnc
    asked = get(f"/cases/{DOCKET_HARTFORD}?include_dnc=true").get_json()
    assert _phones(asked) == [PHONE_OK, "+18605550199"]
    assert get("/defendants/2").get_json()["skiptraces"][0]["emails"] == [EMAIL]


def test_api_defendants_routes(api):
    get, _ = api("viewer")
    listing = get("/defendants?q=poe").get_json()
    assert listing["total"] == 1 and listing["defendants"][0]["name"] == "POE, EDGAR"
    assert get("/defendants").get_json()["total"] == 3  # plaintiffs left out
    one = get("/defendants/4").get_json()
    assert one["case"]["docket_no"] == "HHDCV196001234S" and one["skiptraces"] == []
    assert get("/defendants/999").status_code == 404
    by_case = get(f"/defendants/by-case/{DOCKET_HARTFORD}").get_json()
    assert [d["party_no"] for d in by_case] == ["D-01"]


def test_api_skiptrace_history_and_costs(api):
    get, _ = api("viewer")
    history = get("/skiptraces/history").get_json()
    assert [h["id"] for h in history] == [2, 1]
    costs = get("/skiptraces/costs").get_json()
    assert costs["this_month"]["cost"] == "0.2500"
    assert {(m["sandbox"], m["records"]) for m in costs["by_month"]} == {
        (False, 2),
        (True, 1),
    }


def test_api_scraper_status_and_history(app, api):
    from tests.webui.test_crawl_jobs import record_job

    record_job(app, "job-abc", "finished", ["Hartford"])
    get, _ = api("viewer")
    assert get("/scraper/status/job-abc").get_json()["id"] == 1
    assert get("/scraper/status/1").get_json()["job_id"] == "job-abc"
    assert get("/scraper/status/nope").status_code == 404
    history = get("/scraper/history").get_json()  # crawl jobs, with their run
    assert [(r["job_id"], r["crawl_run_id"]) for r in history] == [("job-abc", 1)]


def test_api_viewer_cannot_start_crawls_or_traces(api):
    _, post = api("viewer")
    assert post("/scraper/scrape", json={"scope": "all"}).status_code == 403
    assert post("/skiptraces/lookup", json={"town": "Hartford"}).status_code == 403


def test_api_scrape_without_scrapyd_nodes_is_503_and_not_audited(app, api):
    _, post = api("manager")
    response = post("/scraper/scrape", json={"scope": "town", "town": "Hartford"})
    assert response.status_code == 503
    assert "SCRAPYD_NODES" in response.get_json()["error"]
    bad = post("/scraper/scrape", json={"scope": "town", "town": "Atlantis"})
    assert bad.status_code == 400
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        actions = conn.execute(sa.select(db.audit_log.c.action)).scalars().all()
    assert "crawl.start" not in actions


def test_api_scrape_answers_a_refused_secret_with_400_naming_it(app, api, monkeypatch):
    """The API passes no job arguments or settings; a refusal would still be a 400."""
    from ctforeclosure.jobs import scheduling

    def refuse(**kwargs):
        scheduling.check_no_secrets({"api_token": "tok-7f3a9c"}, "spider argument")

    monkeypatch.setattr(scheduling, "schedule", refuse)
    _, post = api("manager")
    response = post("/scraper/scrape", json={"scope": "town", "town": "Hartford"})
    assert response.status_code == 400
    message = response.get_json()["error"]
    assert "api_token" in message and "scrapyd's environment" in message
    assert "tok-7f3a9c" not in message


def test_api_skiptrace_lookup_quotes_without_spending(app, api):
    _, post = api("manager")
    response = post("/skiptraces/lookup", json={"docket_nos": [DOCKET_HARTFORD]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["configured"] is False
    assert body["quote"]["lines"][0].startswith("Skip-trace quote")
    refused = post(
        "/skiptraces/lookup",
        json={"docket_nos": [DOCKET_HARTFORD], "confirm": True, "max_cost": "9"},
    )
    assert refused.status_code == 503
    assert post("/skiptraces/lookup", json={}).status_code == 400


def _flask_path(rule) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)


def test_openapi_description_is_valid_and_matches_the_routes(app, api):
    from openapi_spec_validator import validate

    get, _ = api("viewer")
    spec = get("/openapi.json").get_json()
    validate(spec)
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((_flask_path(rule).removeprefix("/api/v1"), method.lower()))
    described = {
        (path, method) for path, ops in spec["paths"].items() for method in ops
    }
    assert described == routes
    for path, ops in spec["paths"].items():
        for op in ops.values():
            declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path
            assert {"401", "403", "429"} <= op["responses"].keys(), path


def test_openapi_names_the_scope_the_route_enforces(api):
    get, _ = api("viewer")
    spec = get("/openapi.json").get_json()
    scopes = {
        (path, method): op["security"][0]["bearerAuth"]
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }
    assert scopes[("/scraper/scrape", "post")] == ["crawl"]
    assert scopes[("/skiptraces/lookup", "post")] == ["skiptrace"]
    assert scopes[("/cases/{docket_no}", "get")] == ["read"]
    assert (
        "contacts" in spec["components"]["securitySchemes"]["bearerAuth"]["description"]
    )


def test_api_every_route_declares_a_known_scope(app):
    from ctforeclosure.services.tokens import SCOPES
    from webui.api.common import required_scope

    api_rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert len(api_rules) > 20
    for rule in api_rules:
        declared = required_scope(app.view_functions[rule.endpoint])
        assert declared in SCOPES, f"{rule.rule} declares no scope (use @scope)"


def test_api_route_without_a_scope_is_refused(app):
    """A view that forgot ``@scope`` answers 403, never its data."""

    def forgot():
        return {"leaked": True}

    app.view_functions["api.towns_list"] = forgot
    headers = {"Authorization": f"Bearer {api_token(app, 'admin')}"}
    response = app.test_client().get("/api/v1/towns", headers=headers)
    assert response.status_code == 403
    assert "declares no scope" in response.get_json()["error"]


def test_api_refusal_names_the_missing_scope(api):
    get, post = api("manager", scopes=["read"])
    assert get("/towns").status_code == 200
    crawl = post("/scraper/scrape", json={"scope": "all"})
    assert crawl.status_code == 403
    assert crawl.get_json() == {
        "error": "this token lacks the crawl scope",
        "missing_scope": "crawl",
    }
    spend = post("/skiptraces/lookup", json={"town": "Hartford"})
    assert spend.get_json()["missing_scope"] == "skiptrace"
    _, post = api("manager", scopes=["crawl"])
    assert post("/skiptraces/lookup", json={"town": "Hartford"}).status_code == 403
    get, _ = api("manager", scopes=["skiptrace"])
    assert get("/towns").get_json()["missing_scope"] == "read"


def test_api_token_without_contacts_sees_them_masked_even_for_a_manager(api):
    get, _ = api("manager", scopes=["read"])
    case = get(f"/cases/{DOCKET_HARTFORD}").get_json()
    assert _phones(case) == ["(***) ***-**23"]  # masked, the DNC one left out
    assert PHONE_OK not in str(case) and EMAIL not in str(case)
    assert get("/defendants/2").get_json()["skiptraces"][0]["emails"] == [
        "j***@example.com"
    ]
    get, _ = api("manager", scopes=["read", "contacts"])
    assert get("/skiptraces/by-defendant/2").get_json()[0]["emails"] == [EMAIL]


def test_api_demoted_users_token_loses_the_scope_at_once(app, api):
    get, post = api("manager", scopes=["read", "contacts", "crawl"])
    assert _phones(get(f"/cases/{DOCKET_HARTFORD}").get_json())[0] == PHONE_OK
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        user_service.set_role(conn, EMAILS["manager"], "viewer", actor="test")
    case = get(f"/cases/{DOCKET_HARTFORD}").get_json()
    assert _phones(case)[0] == "(***) ***-**23"
    assert (
        post("/scraper/scrape", json={"scope": "all"}).get_json()["missing_scope"]
        == "crawl"
    )


def test_api_rate_limit_answers_429_with_retry_after(app, api):
    app.config["API_RATE_LIMIT"] = 3
    get, _ = api("viewer")
    other, _ = api("viewer")  # the limit is per token
    assert [get("/towns").status_code for _ in range(3)] == [200, 200, 200]
    refused = get("/towns")
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 60
    body = refused.get_json()
    assert body["limit"] == 3 and body["retry_after"] == wait
    assert "3 requests per 60 seconds" in body["error"]
    assert get("/towns").status_code == 429  # refusals do not reset the window
    assert other("/towns").status_code == 200
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        statuses = conn.execute(
            sa.select(db.api_token_uses.c.status).order_by(db.api_token_uses.c.id)
        ).scalars()
        assert list(statuses) == [200, 200, 200, 429, 200]  # one refusal recorded


def test_api_rate_limit_lets_the_token_in_once_the_window_moves(app, api):
    app.config["API_RATE_LIMIT"] = 2
    get, _ = api("viewer")
    assert [get("/towns").status_code for _ in range(3)] == [200, 200, 429]
    uses = db.api_token_uses
    with app.extensions["ctforeclosure_engine"].begin() as conn:
        first = conn.execute(sa.select(uses).order_by(uses.c.id)).first()
        conn.execute(  # the first request is now 61 seconds old: out of the window
            uses.update()
            .where(uses.c.id == first.id)
            .values(at=first.at - timedelta(seconds=61))
        )
    assert get("/towns").status_code == 200
    assert get("/towns").status_code == 429


def test_api_token_use_is_stamped(app, api):
    get, _ = api("viewer")
    get("/towns")
    with app.extensions["ctforeclosure_engine"].connect() as conn:
        row = conn.execute(sa.select(db.api_tokens)).one()
    assert row.last_used_at is not None
    assert EMAILS["viewer"]


def test_api_rate_limit_comes_from_the_environment(migrated_db_url, monkeypatch):
    from webui import ConfigurationError, create_app

    settings = {"SECRET_KEY": "k", "DATABASE_URL": migrated_db_url}
    monkeypatch.setenv("CTF_API_RATE_LIMIT", "30")
    app = create_app(settings)
    assert app.config["API_RATE_LIMIT"] == 30
    app.extensions["ctforeclosure_engine"].dispose()
    for bad in ("lots", "0", "-5"):
        monkeypatch.setenv("CTF_API_RATE_LIMIT", bad)
        with pytest.raises(ConfigurationError, match="CTF_API_RATE_LIMIT"):
            create_app(settings)


def test_api_include_dnc_without_the_contacts_scope_names_it(api):
    get, _ = api("manager", scopes=["read"])
    refused = get(f"/cases/{DOCKET_HARTFORD}?include_dnc=true")
    assert refused.status_code == 403
    assert refused.get_json()["missing_scope"] == "contacts"
    get, _ = api("manager", scopes=["read", "contacts"])
    assert get(f"/cases/{DOCKET_HARTFORD}?include_dnc=true").status_code == 200
