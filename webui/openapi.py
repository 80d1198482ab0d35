"""The OpenAPI 3.1 description of ``/api/v1`` (a test checks it against the routes)."""

from __future__ import annotations

from ctforeclosure import __version__

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
#: Phones flagged DNC or TCPA are left out unless a manager asks (audited).
INCLUDE_DNC = (
    "include_dnc",
    "boolean",
    "Also return phones flagged DNC or TCPA, marked (manager and up; audited)",
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
        (INCLUDE_DNC,),
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
        (INCLUDE_DNC,),
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
        (INCLUDE_DNC,),
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


def spec() -> dict:
    """Return the OpenAPI document."""
    paths: dict[str, dict] = {}
    for path, method, summary, path_params, query_params, manager in OPERATIONS:
        responses = {
            "200": {"description": "OK", "content": {"application/json": {}}},
            "401": _error("Missing, invalid or revoked token"),
        }
        if path_params:
            responses["404"] = _error("Not found")
        if INCLUDE_DNC in query_params:
            responses["400"] = _error("include_dnc is not true or false")
            responses["403"] = _error("include_dnc needs the manager role")
        if manager:
            responses["403"] = _error("Needs the manager role")
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
        }
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ctforeclosure API",
            "version": __version__,
            "description": "Connecticut foreclosure cases. Read-only over court data; "
            "viewers see phones and emails masked; phones flagged DNC or TCPA "
            "only with include_dnc=true (managers), and every answer revealing "
            "contacts is audited.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                }
            },
        },
    }
