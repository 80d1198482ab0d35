"""The OpenAPI 3.1 description of ``/api/v1`` (a test checks it against the routes).

Each operation's scope comes from the route itself (``@scope``), so the description
cannot drift from what the guard enforces.
"""

from __future__ import annotations

import re

from ctforeclosure import __version__
from ctforeclosure.services.tokens import SCOPES
from webui.api.common import required_scope

FILTER_PARAMS = (
    ("q", "string", "Docket number, party name or address"),
    ("town", "string", "Town (any spelling)"),
    ("county", "string", "County"),
    ("status", "string", "all | active | disposed"),
    ("judgment_type", "string", "strict | sale"),
    ("filed_from", "string", "File date from (YYYY-MM-DD)"),
    ("filed_to", "string", "File date to (YYYY-MM-DD)"),
    ("has_phones", "boolean", "Only cases with skip-traced phones"),
    ("skip_traced", "boolean", "Only skip-traced cases"),
    ("sort", "string", "file_date | docket | town | law_day | sale_date | changed"),
    ("order", "string", "asc | desc"),
)
PAGE_PARAMS = (
    ("page", "integer", "Page number, from 1"),
    ("per_page", "integer", "Rows per page (at most 200)"),
)

# path, method, summary, path parameters, query parameters, manager only
OPERATIONS = (
    ("/towns", "get", "List the 169 towns", (), (), False),
    ("/towns/by-county/{county}", "get", "Towns of one county", ("county",), (), False),
    (
        "/towns/search",
        "get",
        "Search towns by name",
        (),
        (("q", "string", "Text"),),
        False,
    ),
    ("/towns/validate/{name}", "get", "Validate a town name", ("name",), (), False),
    ("/counties", "get", "Counties with case counts", (), (), False),
    (
        "/counties/{county}/stats",
        "get",
        "One county's case counts",
        ("county",),
        (),
        False,
    ),
    (
        "/cases",
        "get",
        "List cases (filtered, paginated)",
        (),
        FILTER_PARAMS + PAGE_PARAMS,
        False,
    ),
    (
        "/cases/search",
        "get",
        "Search cases (q required)",
        (),
        FILTER_PARAMS + PAGE_PARAMS,
        False,
    ),
    (
        "/cases/by-town/{town}",
        "get",
        "One town's cases",
        ("town",),
        FILTER_PARAMS + PAGE_PARAMS,
        False,
    ),
    (
        "/cases/{docket_no}",
        "get",
        "One case with its full story",
        ("docket_no",),
        (),
        False,
    ),
    (
        "/defendants",
        "get",
        "List defendants",
        (),
        (("q", "string", "Name contains"), *PAGE_PARAMS),
        False,
    ),
    (
        "/defendants/{party_id}",
        "get",
        "One party with skip-trace results",
        ("party_id",),
        (),
        False,
    ),
    (
        "/defendants/by-case/{docket_no}",
        "get",
        "A case's defendants",
        ("docket_no",),
        (),
        False,
    ),
    (
        "/skiptraces/lookup",
        "post",
        "Quote, or confirm and start, a skip trace",
        (),
        (),
        True,
    ),
    ("/skiptraces/history", "get", "Skip-trace ledger", (), PAGE_PARAMS, False),
    (
        "/skiptraces/jobs/{job_id}",
        "get",
        "A background trace's progress",
        ("job_id",),
        (),
        False,
    ),
    (
        "/skiptraces/by-defendant/{party_id}",
        "get",
        "A party's skip-trace results",
        ("party_id",),
        (),
        False,
    ),
    ("/skiptraces/costs", "get", "Skip-trace spend by month", (), (), False),
    ("/scraper/scrape", "post", "Start a crawl", (), (), True),
    ("/scraper/status/{job_id}", "get", "A crawl's status", ("job_id",), (), False),
    ("/scraper/history", "get", "Crawl runs", (), PAGE_PARAMS, False),
    ("/openapi.json", "get", "This description", (), (), False),
)
INTEGER_PATH_PARAMS = {"party_id"}


def _param(name: str, where: str, kind: str, text: str = "") -> dict:
    param = {"name": name, "in": where, "schema": {"type": kind}}
    if where == "path":
        param["required"] = True
    if text:
        param["description"] = text
    return param


def _error(text: str) -> dict:
    return {
        "description": text,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
        },
    }


def route_scopes(app) -> dict[tuple[str, str], str | None]:
    """Return each API operation's declared scope, by (OpenAPI path, method)."""
    scopes = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            scopes[(path.removeprefix("/api/v1"), method.lower())] = required_scope(
                app.view_functions[rule.endpoint]
            )
    return scopes


def _security_scheme() -> dict:
    listed = "; ".join(f"`{name}`: {what}" for name, what in SCOPES.items())
    return {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from `ctforeclosure users token issue`. Each "
        "operation needs one scope (its `security` names it); a token never has "
        "more than its user's role allows. Without `contacts`, phones and emails "
        f"are masked. Scopes: {listed}.",
    }


def spec(scopes: dict[tuple[str, str], str | None]) -> dict:
    """Return the OpenAPI document; ``scopes`` from :func:`route_scopes`."""
    paths: dict[str, dict] = {}
    for path, method, summary, path_params, query_params, manager in OPERATIONS:
        needed = scopes[(path, method)]
        responses = {
            "200": {"description": "OK", "content": {"application/json": {}}},
            "401": _error("Missing, invalid or revoked token"),
            "403": _error(f"The token lacks the {needed} scope (`missing_scope`)"),
            "429": _error("Over the token's rate limit; see `Retry-After`"),
        }
        if path_params:
            responses["404"] = _error("Not found")
        if manager:
            responses["503"] = _error("The service is not available in this build")
        operation = {
            "summary": summary + (" (manager and up)" if manager else ""),
            "operationId": (method + path)
            .replace("/", "_")
            .replace("{", "")
            .replace("}", "")
            .replace(".", "_")
            .replace("-", "_"),
            "parameters": [
                _param(p, "path", "integer" if p in INTEGER_PATH_PARAMS else "string")
                for p in path_params
            ]
            + [_param(n, "query", k, t) for n, k, t in query_params],
            "responses": responses,
            "security": [{"bearerAuth": [needed]}],
        }
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ctforeclosure API",
            "version": __version__,
            "description": "Connecticut foreclosure cases. Read-only over court data; "
            "tokens without the contacts scope see phones and emails masked.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": _security_scheme()},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {"type": "string"},
                        "missing_scope": {"type": "string"},
                        "retry_after": {"type": "integer"},
                    },
                    "required": ["error"],
                }
            },
        },
    }
