"""The OpenAPI 3.1 description of ``/api/v1`` (a test checks it against the routes).

Each operation's scope comes from the route itself (``@scope``), so the description
cannot drift from what the guard enforces.
"""

from __future__ import annotations

import re

from ctforeclosure import __version__
from ctforeclosure.db import CRAWL_JOB_STATUSES
from ctforeclosure.services.tokens import SCOPES
from ctforeclosure.store import quality
from ctforeclosure.store.changes import KINDS
from webui import openapi_schemas as schemas
from webui import params, queries, sales_queries
from webui.api.changes import MAX_LIMIT
from webui.api.common import required_scope
from webui.openapi_schemas import ref as _ref

_TEXT = {"type": "string", "maxLength": params.MAX_TEXT}
_ID = {"type": "integer", "minimum": 1, "maximum": params.MAX_ID}
_DATE = {"type": "string", "format": "date"}
FILTER_PARAMS = (
    ("q", _TEXT, "Docket number, party name or address"),
    ("town", {"type": "string"}, "Town (any spelling)"),
    ("county", {"type": "string"}, "County"),
    ("status", {"enum": list(queries.STATUSES)}, "Active or disposed cases"),
    ("judgment_type", {"enum": list(queries.JUDGMENT_TYPES)}, "Judgment type"),
    ("filed_from", _DATE, "File date from (YYYY-MM-DD)"),
    ("filed_to", _DATE, "File date to (YYYY-MM-DD)"),
    ("has_phones", {"type": "boolean"}, "Only cases with skip-traced phones"),
    ("skip_traced", {"type": "boolean"}, "Only skip-traced cases"),
    ("lead_status", _TEXT, "Lead status name"),
    ("assignee", _TEXT, "Assignee email, me, or none (unassigned)"),
    ("tag", _TEXT, "Lead tag"),
    ("follow_up_by", _DATE, "Follow-up date on or before (YYYY-MM-DD)"),
    ("priority", {"enum": ["hot", "warm", "cold"]}, "Priority as of today"),
    (
        "quality",
        {"enum": list(queries.QUALITY_FLAGS)},
        "Only cases with this data-quality flag (the quality report's): "
        + "; ".join(f"{k}: {v}" for k, v in quality.QUALITY_FLAGS.items()),
    ),
    (
        "missed",
        {"type": "integer", "minimum": 1, "maximum": queries.MAX_MISSED_CRAWLS},
        "With quality=not_seen: how many of its town's last finished crawls "
        "a listed case was not seen by (default 3)",
    ),
    ("sort", {"enum": list(queries.SORTS)}, "Sort column"),
    ("order", {"enum": ["asc", "desc"]}, "Sort order"),
)
SALE_FILTER_PARAMS = (
    ("q", _TEXT, "Docket number, address or case name"),
    ("town", {"type": "string"}, "Town (any spelling)"),
    ("county", {"type": "string"}, "County"),
    ("date_from", _DATE, "Sale date from (YYYY-MM-DD)"),
    ("date_to", _DATE, "Sale date to (YYYY-MM-DD)"),
    ("status", {"enum": list(sales_queries.SALE_STATUSES)}, "Scheduled or cancelled"),
    ("property_type", {"type": "string", "maxLength": 120}, "Property type"),
)
#: Phones flagged DNC or TCPA are left out unless a manager asks (audited).
INCLUDE_DNC = (
    "include_dnc",
    {"type": "boolean"},
    "Also return phones flagged DNC or TCPA, marked (manager and up; audited)",
)
PAGE_PARAMS = (
    (
        "page",
        {"type": "integer", "minimum": 1, "maximum": params.MAX_PAGE},
        "Page number, from 1",
    ),
    (
        "per_page",
        {"type": "integer", "minimum": 1, "maximum": params.MAX_PER_PAGE},
        "Rows per page",
    ),
)

JOB_FILTER_PARAMS = (
    ("status", {"enum": list(CRAWL_JOB_STATUSES)}, "The job's state"),
    ("spider", {"type": "string", "maxLength": 32}, "The spider (cases, sales)"),
    ("town", {"type": "string"}, "A town the job crawls (any spelling)"),
    ("started_by", {"type": "string", "maxLength": 254}, "Who started it (email)"),
    ("created_from", _DATE, "Posted on or after (YYYY-MM-DD)"),
    ("created_to", _DATE, "Posted on or before (YYYY-MM-DD)"),
)

#: The change feed's arguments (their examples: webui.openapi_examples).
CHANGES_PARAMS = (
    (
        "after",
        {"type": "string", "maxLength": 4000},
        "The `next` of the previous answer; omit it to start at the first change",
    ),
    (
        "kinds",
        {"type": "string"},
        "Only these kinds, separated by commas: " + ", ".join(KINDS),
    ),
    ("town", {"type": "string"}, "Town (any spelling)"),
    ("county", {"type": "string"}, "County"),
    (
        "saved_search",
        _ID,
        "Only the cases a saved search (your own or a shared one) matches now",
    ),
    (
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
        "Changes per answer",
    ),
)

#: What an operation's summary says of who may call it, by its last field.
ROLE_NOTES = {False: "", True: " (manager and up)", "admin": " (admins only)"}
# path, method, summary, path parameters, query parameters, manager only (True),
# admins only ("admin") or anyone with the scope (False)
OPERATIONS = (
    ("/towns", "get", "List the 169 towns", (), (), False),
    ("/towns/by-county/{county}", "get", "Towns of one county", ("county",), (), False),
    (
        "/towns/search",
        "get",
        "Search towns by name",
        (),
        (("q", {"type": "string", "minLength": 1, "maxLength": 64}, "Text"),),
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
        "/sales",
        "get",
        "List pending sales, soonest first (filtered, paginated)",
        (),
        SALE_FILTER_PARAMS + PAGE_PARAMS,
        False,
    ),
    (
        "/sales/{posting_id}",
        "get",
        "One sale posting with its notice and its docket's sale history",
        ("posting_id",),
        (),
        False,
    ),
    (
        "/defendants",
        "get",
        "List defendants",
        (),
        (("q", _TEXT, "Name contains"), *PAGE_PARAMS),
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
    (
        "/scraper/status/{job_id}",
        "get",
        "A crawl's run record, or its job's state while it has none (pending)",
        ("job_id",),
        (),
        False,
    ),
    (
        "/scraper/history",
        "get",
        "Crawl jobs, newest first, filtered",
        (),
        JOB_FILTER_PARAMS + PAGE_PARAMS,
        False,
    ),
    (
        "/scraper/jobs/{job_id}/retry",
        "post",
        "Retry a failed or cancelled crawl job as a new job (audited)",
        ("job_id",),
        (),
        True,
    ),
    (
        "/scraper/jobs/{job_id}/cancel",
        "post",
        "Cancel a pending or running crawl job (audited)",
        ("job_id",),
        (),
        True,
    ),
    (
        "/scraper/pause",
        "post",
        "Pause every crawl: the kill switch, with a reason (audited)",
        (),
        (),
        True,
    ),
    ("/scraper/resume", "post", "Resume crawls (audited)", (), (), True),
    ("/status", "get", "The system's status (admin scope)", (), (), False),
    (
        "/cases/{docket_no}/lead",
        "patch",
        "Change a case's lead: status, assignee, follow-up, tags",
        ("docket_no",),
        (),
        True,
    ),
    ("/cases/{docket_no}/notes", "get", "A case's notes", ("docket_no",), (), False),
    (
        "/cases/{docket_no}/notes",
        "post",
        "Write a note on a case",
        ("docket_no",),
        (),
        True,
    ),
    ("/suppressions", "get", "The do-not-contact list", (), PAGE_PARAMS, True),
    (
        "/suppressions",
        "post",
        "Put a phone, an email or a person on the do-not-contact list",
        (),
        (),
        True,
    ),
    (
        "/suppressions/{entry_id}",
        "delete",
        "Take an entry off the do-not-contact list",
        ("entry_id",),
        (("reason", {"type": "string", "minLength": 3, "maxLength": 200}, "Why"),),
        "admin",
    ),
    (
        "/changes",
        "get",
        "The change feed: changes after a cursor, oldest first, each once",
        (),
        CHANGES_PARAMS,
        False,
    ),
    (
        "/saved-searches",
        "get",
        "Your saved searches and the shared ones",
        (),
        (),
        False,
    ),
    (
        "/saved-searches",
        "post",
        "Save a cases-list or sales-list filter under a name (audited)",
        (),
        (),
        False,
    ),
    (
        "/saved-searches/{search_id}",
        "get",
        "One saved search (yours or a shared one)",
        ("search_id",),
        (),
        False,
    ),
    (
        "/saved-searches/{search_id}",
        "patch",
        "Rename, share or re-save the filter of your saved search (audited)",
        ("search_id",),
        (),
        False,
    ),
    (
        "/saved-searches/{search_id}",
        "delete",
        "Delete your saved search (audited)",
        ("search_id",),
        (),
        False,
    ),
    (
        "/saved-searches/{search_id}/cases",
        "get",
        "The cases a saved search matches now, paged as GET /cases",
        ("search_id",),
        PAGE_PARAMS,
        False,
    ),
    (
        "/subscriptions",
        "get",
        "Your subscriptions, oldest first: all, or one saved search's",
        (),
        (
            (
                "saved_search_id",
                _ID,
                "Only your subscriptions of this saved search (your own or a "
                "shared one; another user's private one is a 404)",
            ),
        ),
        False,
    ),
    (
        "/subscriptions",
        "post",
        "Subscribe to a saved search (audited); a webhook's secret is answered once",
        (),
        (),
        False,
    ),
    (
        "/subscriptions/{sub_id}",
        "get",
        "One of your subscriptions (never its webhook's address or secret)",
        ("sub_id",),
        (),
        False,
    ),
    (
        "/subscriptions/{sub_id}",
        "patch",
        "Change your subscription (audited)",
        ("sub_id",),
        (),
        False,
    ),
    (
        "/subscriptions/{sub_id}",
        "delete",
        "Delete your subscription (audited)",
        ("sub_id",),
        (),
        False,
    ),
    (
        "/subscriptions/{sub_id}/secret",
        "post",
        "Give your subscription's webhook a new secret, answered once (audited)",
        ("sub_id",),
        (),
        False,
    ),
    (
        "/notifications",
        "get",
        "Your notifications (the bell), newest first",
        (),
        (("unread", {"type": "boolean"}, "Only unread ones"), *PAGE_PARAMS),
        False,
    ),
    (
        "/notifications/read",
        "post",
        "Mark your notifications read: some by id, or all",
        (),
        (),
        False,
    ),
    ("/openapi.json", "get", "This description", (), (), False),
)
#: Path parameters that are not plain text: ids of INTEGER columns (a larger one
#: matches no route: 404).
PATH_SCHEMAS = {
    "party_id": _ID,
    "posting_id": _ID,
    "entry_id": _ID,
    "search_id": _ID,
    "sub_id": _ID,
}


def _param(name: str, where: str, schema: dict, text: str = "") -> dict:
    param = {"name": name, "in": where, "schema": schema}
    if where == "path":
        param["required"] = True
    if text:
        param["description"] = text
    return param


def _json(text: str, schema: dict) -> dict:
    return {"description": text, "content": {"application/json": {"schema": schema}}}


def _error(text: str) -> dict:
    return _json(text, _ref("Error"))


def _responses(path: str, method: str, path_params, query_params, manager) -> dict:
    """Return an operation's responses, each with the schema of its JSON body."""
    ok = "202" if (path, method) in schemas.ACCEPTED else "200"
    if (path, method) in schemas.CREATED:
        ok = "201"
    responses = {
        ok: _json("OK", schemas.RESPONSES[(path, method)]),
        "401": _error("Missing, invalid or revoked token"),
        "503": _error(
            "The database could not answer (retry)"
            + ("; or the service is not configured" if manager else "")
        ),
    }
    if path_params:
        responses["404"] = _error("Not found (or an id beyond the column's range)")
    if query_params or method in ("post", "patch") or path_params:
        responses["400"] = _error("A parameter's value was refused: the body names it")
    responses.update(schemas.EXTRA_RESPONSES.get((path, method), {}))
    return responses


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


def _refusals(needed: str, query_params, manager: bool, owner_only=False) -> dict:
    """Return the 403 and 429 answers: the scope, the role, ownership, the rate
    limit."""
    why = [f"The token lacks the {needed} scope (the body's `missing_scope`)"]
    if manager:
        why.append("the user is not a manager")
    if owner_only:
        why.append("the saved search is shared with you but not yours")
    if INCLUDE_DNC in query_params:
        why.append("include_dnc needs the manager role and the contacts scope")
    return {
        "403": _error("; or ".join(why)),
        "429": _error("Over the token's rate limit: wait `Retry-After` seconds"),
    }


def spec(scopes: dict[tuple[str, str], str | None]) -> dict:
    """Return the OpenAPI document; ``scopes`` from :func:`route_scopes`."""
    paths: dict[str, dict] = {}
    for path, method, summary, path_params, query_params, manager in OPERATIONS:
        needed = scopes[(path, method)]
        responses = _responses(path, method, path_params, query_params, manager)
        owner_only = (path, method) in schemas.OWNER_ONLY
        responses.update(_refusals(needed, query_params, manager, owner_only))
        operation = {
            "summary": summary + ROLE_NOTES[manager],
            "operationId": (method + path)
            .replace("/", "_")
            .replace("{", "")
            .replace("}", "")
            .replace(".", "_")
            .replace("-", "_"),
            "parameters": [
                _param(p, "path", PATH_SCHEMAS.get(p, {"type": "string"}))
                for p in path_params
            ]
            + [_param(n, "query", k, t) for n, k, t in query_params],
            "responses": responses,
            "security": [{"bearerAuth": [needed]}],
        }
        if (path, method) in schemas.BODIES:
            operation["requestBody"] = {
                "required": False,
                "content": {
                    "application/json": {"schema": schemas.BODIES[(path, method)]}
                },
            }
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ctforeclosure API",
            "version": __version__,
            "description": "Connecticut foreclosure cases. Read-only over court data; "
            "tokens without the contacts scope see phones and emails masked; "
            "phones flagged DNC or TCPA only with include_dnc=true (managers), and "
            "every answer revealing contacts is audited.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": _security_scheme()},
            "schemas": schemas.COMPONENTS,
        },
    }
