"""The JSON Schemas of the API's bodies, for its OpenAPI description (webui/openapi.py).

What each operation answers, and what the POSTs and the PATCH accept (read from the same
pydantic models that check them), so that a client, and the schemathesis test, can
hold every answer to its schema. A schema lists the fields clients rely on, with
their types; a row may carry more columns (``additionalProperties`` is left open).
"""

from __future__ import annotations

from ctforeclosure.db import CRAWL_JOB_STATUSES, CRAWL_OUTCOMES
from webui.api.leads import LeadBody, NoteBody
from webui.api.saved_searches import NewSearchBody, SearchChangeBody
from webui.api.scraper import PauseBody, ScrapeBody
from webui.api.skiptraces import LookupBody
from webui.api.suppressions import SuppressionBody
from webui.subscription_forms import (
    NewSubscriptionBody,
    ReadBody,
    SubscriptionChangeBody,
)


def ref(name: str) -> dict:
    """Return a reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required=(), **properties) -> dict:
    return {"type": "object", "properties": properties, "required": list(required)}


def _list(item: dict) -> dict:
    return {"type": "array", "items": item}


STR = {"type": "string"}
INT = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0}
BOOL = {"type": "boolean"}
TEXT = {"type": ["string", "null"]}
DAY = {"type": ["string", "null"], "format": "date"}
MOMENT = {"type": ["string", "null"], "format": "date-time"}
#: What a crawl came to (null: running, or recorded before outcomes).
_OUTCOME = {"enum": [*CRAWL_OUTCOMES, None]}

_CASE = {
    "docket_no": STR,
    "search_town": STR,
    "county": TEXT,
    "case_name": TEXT,
    "property_street": TEXT,
    "listing_street": TEXT,
    "property_town": TEXT,
    "file_date": DAY,
    "judgment_type": TEXT,
    "law_day": DAY,
    "sale_date": DAY,
    "is_active": {"type": ["boolean", "null"]},
    "disposition": TEXT,
    "listed": BOOL,
}
#: A sale posting as lists show it (``webui.sales_queries.LIST_COLUMNS``).
_SALE = {
    "posting_id": INT,
    "docket_no": STR,
    "town": STR,
    "county": TEXT,
    "sale_at": MOMENT,
    "sale_date": DAY,
    "sale_time": TEXT,
    "sale_type": TEXT,
    "property_type": TEXT,
    "address_raw": TEXT,
    "status": {"enum": ["scheduled", "cancelled"]},
    "cancel_reason": TEXT,
    "deposit": TEXT,
    "listed": BOOL,
}
_SALE_NOTICE = {
    **_SALE,
    "heading": TEXT,
    "address_street": TEXT,
    "address_unit": TEXT,
    "address_town": TEXT,
    "address_zip": TEXT,
    "inspection": TEXT,
    "notice_from": DAY,
    "notice_thru": DAY,
    "committee_name": TEXT,
    "committee_address": TEXT,
    "committee_phone": TEXT,
    "committee_email": TEXT,
    "body": TEXT,
    "photo_url": TEXT,
    "notice_fetched_at": MOMENT,
    "flags": _list(STR),
    "unlisted_at": MOMENT,
    "first_seen": MOMENT,
    "last_seen": MOMENT,
    "last_changed": MOMENT,
}
_DEFENDANT = {
    "id": INT,
    "docket_no": STR,
    "party_no": STR,
    "category": TEXT,
    "name": STR,
    "non_appearing": {"type": ["boolean", "null"]},
    "removed_at": MOMENT,
}
_PAUSE = _object(("paused", "reason"), paused=BOOL, reason=TEXT)
_JOB = _object(
    ("id", "state", "done", "total", "lines"),
    id=STR,
    kind=STR,
    state={"enum": ["running", "finished", "failed"]},
    done=COUNT,
    total=COUNT,
    started_at={"type": "string", "format": "date-time"},
    lines=_list(STR),
    error=TEXT,
)

COMPONENTS = {
    "Error": _object(
        ("error",),
        error=STR,
        parameter=STR,
        missing_scope={"type": ["string", "null"]},
        limit=INT,
        window_seconds=INT,
        retry_after=INT,
        accepts=STR,
        suggestions=_list(STR),
        allowed=_list(STR),
        message=STR,
        quote={"type": "object"},
    ),
    "Town": _object(
        ("name", "county", "planning_region"),
        name=STR,
        county=STR,
        planning_region=STR,
    ),
    "CaseSummary": _object(("docket_no", "search_town"), **_CASE),
    "SaleSummary": _object(
        ("posting_id", "docket_no", "town", "status"), **_SALE, case_name=TEXT
    ),
    "Sale": _object(("posting_id", "docket_no", "town", "status"), **_SALE_NOTICE),
    "CasePage": _object(
        ("total", "total_is_lower_bound", "page", "per_page", "filters", "cases"),
        total=COUNT,
        total_is_lower_bound=BOOL,
        page=INT,
        per_page=INT,
        filters={"type": "object"},
        cases=_list(ref("CaseSummary")),
    ),
    "Trace": _object(
        ("id", "status", "sandbox", "phones", "emails"),
        id=INT,
        status=STR,
        sandbox=BOOL,
        fetched_at=MOMENT,
        mailing_address={},
        phones=_list(
            _object(
                ("number",),
                number=STR,
                type=TEXT,
                dnc={"type": ["boolean", "null"]},
                tcpa={"type": ["boolean", "null"]},
                rank={"type": ["integer", "null"]},
                # on the do-not-contact list: masked, never callable
                suppressed=BOOL,
                callable=BOOL,
                verdict=STR,
            )
        ),
        emails=_list(STR),
        withheld_emails=_list(STR),
    ),
    "Lead": _object(
        ("status", "assignee", "follow_up", "tags"),
        status=STR,
        assignee=TEXT,
        follow_up=DAY,
        tags=_list(STR),
    ),
    "Note": _object(
        ("id", "author", "body", "created_at"),
        id=INT,
        party_id={"type": ["integer", "null"]},
        author=STR,
        body=STR,
        created_at={"type": "string", "format": "date-time"},
        edited_at=MOMENT,
    ),
    "Suppression": _object(
        ("id", "kind", "reason", "added_by", "added_at"),
        id=INT,
        kind={"enum": ["phone", "email", "person"]},
        last4=TEXT,
        reason=STR,
        docket_no=TEXT,
        party_no=TEXT,
        added_by=STR,
        added_at={"type": "string", "format": "date-time"},
    ),
    "Signals": _object(
        ("priority", "rule", "signals"),
        priority={"enum": ["hot", "warm", "cold"]},
        rule=STR,
        signals=_list(
            _object(("code", "text", "source"), code=STR, text=STR, source=STR)
        ),
    ),
    "Defendant": _object(("id", "docket_no", "party_no", "name"), **_DEFENDANT),
    "CrawlJob": _object(
        ("job_id", "spider", "status", "towns", "created_at", "attempt"),
        job_id=STR,
        node=TEXT,
        spider=STR,
        towns=_list(STR),
        args={"type": "object"},
        started_by={"type": ["string", "null"], "description": "the user's email"},
        status={"enum": list(CRAWL_JOB_STATUSES)},
        created_at={"type": "string", "format": "date-time"},
        started_at=MOMENT,
        ended_at=MOMENT,
        retry_of=TEXT,
        attempt={"type": "integer", "minimum": 1},
        failure_reason=TEXT,
        failure_class={"enum": ["transient", "permanent", None]},
        outcome=_OUTCOME,
        incomplete_towns={
            "type": ["array", "null"],
            "items": STR,
            "description": "the towns a partial or lost job did not finish",
        },
        crawl_run_id={"type": ["integer", "null"]},
    ),
    "CrawlRun": _object(
        ("id", "spider", "status", "started_at"),
        id=INT,
        spider=STR,
        job_id=TEXT,
        node=TEXT,
        status=STR,
        started_at={"type": "string"},
        finished_at=TEXT,
        items_stored=COUNT,
        outcome=_OUTCOME,
        incomplete_towns={
            "type": ["array", "null"],
            "items": STR,
            "description": "the towns the crawl did not finish",
        },
        heartbeat_at={
            "type": ["string", "null"],
            "description": "the running crawl's last sign of life",
        },
    ),
    "Quote": _object(
        ("records", "reuse", "max_cost", "affordable", "sandbox", "lines"),
        records=COUNT,
        reuse=COUNT,
        review=COUNT,
        skipped={"type": "object"},
        max_cost=STR,
        affordable=BOOL,
        sandbox=BOOL,
        lines=_list(STR),
    ),
    "Job": _JOB,
}

_PARTY = _object(
    ("id", "docket_no", "role", "skiptraces"),
    **_DEFENDANT,
    role=STR,
    skiptraces=_list(ref("Trace")),
)

_CHANGE = _object(
    ("id", "docket_no", "town", "kind", "seen_at", "text"),
    id=INT,
    docket_no=STR,
    town=STR,
    county=TEXT,
    kind=STR,
    field=TEXT,
    old_value={},
    new_value={},
    seen_at={"type": "string", "format": "date-time"},
    crawl_id={"type": ["integer", "null"]},
    text=STR,
)
_SAVED_SEARCH = _object(
    ("id", "name", "list", "query", "shared", "owner", "mine", "created_at"),
    id=INT,
    name=STR,
    list={"enum": ["cases", "sales"]},
    query={"type": "object", "additionalProperties": STR},
    shared=BOOL,
    owner=STR,
    mine=BOOL,
    created_at={"type": "string", "format": "date-time"},
    updated_at={"type": "string", "format": "date-time"},
    last_opened_at=MOMENT,
)
_SUBSCRIPTION = _object(
    ("id", "saved_search_id", "events", "email_mode", "webhook", "include_caption"),
    id=INT,
    saved_search_id=INT,
    saved_search_name=TEXT,
    events=_list(STR),
    email_mode={"enum": ["off", "immediate", "digest"]},
    digest_hour={"type": ["integer", "null"], "minimum": 0, "maximum": 23},
    webhook={"anyOf": [_object(("host",), host=STR), {"type": "null"}]},
    include_caption=BOOL,
    created_at={"type": "string", "format": "date-time"},
    updated_at={"type": "string", "format": "date-time"},
)
#: A subscription as answered once with its webhook's new secret.
_WITH_SECRET = {
    **_SUBSCRIPTION,
    "properties": {**_SUBSCRIPTION["properties"], "webhook_secret": STR},
}
_NOTIFICATION = _object(
    ("id", "docket_no", "kind", "text", "seen_at", "read", "saved_search_id"),
    id=INT,
    docket_no=STR,
    town=TEXT,
    kind=STR,
    text=STR,
    seen_at={"type": "string", "format": "date-time"},
    created_at={"type": "string", "format": "date-time"},
    read=BOOL,
    read_at=MOMENT,
    change_id=INT,
    subscription_id=INT,
    saved_search_id=INT,
    saved_search_name=STR,
)
#: The body of each operation's success (200, or 202 for a crawl start).
RESPONSES = {
    ("/towns", "get"): _list(ref("Town")),
    ("/towns/by-county/{county}", "get"): _list(ref("Town")),
    ("/towns/search", "get"): _list(ref("Town")),
    ("/towns/validate/{name}", "get"): _object(
        ("valid",),
        valid=BOOL,
        town=ref("Town"),
        message=STR,
        suggestions=_list(STR),
    ),
    ("/counties", "get"): _list(
        _object(
            ("county", "towns", "cases", "active"),
            county=STR,
            towns=COUNT,
            cases=COUNT,
            active=COUNT,
        )
    ),
    ("/counties/{county}/stats", "get"): _object(
        ("county", "towns", "cases", "active"),
        county=STR,
        towns=_list(
            _object(("name", "cases", "active"), name=STR, cases=COUNT, active=COUNT)
        ),
        cases=COUNT,
        active=COUNT,
    ),
    ("/cases", "get"): ref("CasePage"),
    ("/cases/search", "get"): ref("CasePage"),
    ("/cases/by-town/{town}", "get"): ref("CasePage"),
    ("/cases/{docket_no}", "get"): _object(
        ("docket_no", "docket_dashed", "parties", "docket_entries", "court_dates"),
        **_CASE,
        docket_dashed=STR,
        parties=_list(_PARTY),
        docket_entries=_list({"type": "object"}),
        court_dates=_list({"type": "object"}),
        changes=_list({"type": "object"}),
        sales=_list(ref("Sale")),
        lead=ref("Lead"),
        notes_count=COUNT,
        signals=ref("Signals"),
    ),
    ("/sales", "get"): _object(
        ("total", "page", "per_page", "filters", "sales"),
        total=COUNT,
        page=INT,
        per_page=INT,
        filters={"type": "object"},
        sales=_list(ref("SaleSummary")),
    ),
    ("/sales/{posting_id}", "get"): _object(
        ("posting_id", "docket_no", "history"),
        **_SALE_NOTICE,
        history=_list(_object(("kind", "text"), kind=STR, text=STR)),
    ),
    ("/defendants", "get"): _object(
        ("total", "page", "per_page", "defendants"),
        total=COUNT,
        page=INT,
        per_page=INT,
        defendants=_list(ref("Defendant")),
    ),
    ("/defendants/{party_id}", "get"): _object(
        ("id", "docket_no", "case", "skiptraces"),
        **_DEFENDANT,
        role=STR,
        case={"anyOf": [ref("CaseSummary"), {"type": "null"}]},
        skiptraces=_list(ref("Trace")),
    ),
    ("/defendants/by-case/{docket_no}", "get"): _list(ref("Defendant")),
    ("/skiptraces/lookup", "post"): _object(
        ("quote", "configured"), quote=ref("Quote"), configured=BOOL
    ),
    ("/skiptraces/history", "get"): _list(
        _object(
            ("id", "records_sent", "cost", "sandbox"),
            id=INT,
            records_sent=COUNT,
            cost=STR,
            sandbox=BOOL,
            status=TEXT,
        )
    ),
    ("/skiptraces/jobs/{job_id}", "get"): ref("Job"),
    ("/skiptraces/by-defendant/{party_id}", "get"): _list(ref("Trace")),
    ("/skiptraces/costs", "get"): _object(
        ("this_month", "by_month"),
        this_month={"type": "object"},
        by_month=_list(
            _object(
                ("month", "sandbox", "cost", "records"),
                month={"type": "string", "pattern": r"^\d{4}-\d{2}$"},
                sandbox=BOOL,
                cost=STR,
                records=COUNT,
            )
        ),
    ),
    ("/scraper/scrape", "post"): _object(
        ("jobs",),
        jobs=_list(
            _object(("job_id", "node", "towns"), job_id=STR, node=STR, towns=_list(STR))
        ),
    ),
    ("/scraper/status/{job_id}", "get"): {"oneOf": [ref("CrawlRun"), ref("CrawlJob")]},
    ("/scraper/history", "get"): _list(ref("CrawlJob")),
    ("/scraper/jobs/{job_id}/retry", "post"): _object(
        ("retry_of", "jobs"),
        retry_of=STR,
        jobs=_list(_object(("job_id", "node"), job_id=STR, node=STR)),
    ),
    ("/scraper/jobs/{job_id}/cancel", "post"): _object(
        ("job_id", "was"), job_id=STR, was=_list(STR)
    ),
    ("/scraper/pause", "post"): _PAUSE,
    ("/scraper/resume", "post"): _PAUSE,
    ("/status", "get"): _object(
        ("database", "scrapyd_nodes", "kill_switch", "towns", "spool_backlog"),
        database={"type": "object"},
        scrapyd_nodes=_list({"type": "object"}),
        kill_switch={"type": "object"},
        towns=_list({"type": "object"}),
        spool_backlog=COUNT,
    ),
    ("/cases/{docket_no}/lead", "patch"): ref("Lead"),
    ("/cases/{docket_no}/notes", "get"): _list(ref("Note")),
    ("/cases/{docket_no}/notes", "post"): ref("Note"),
    ("/suppressions", "get"): _list(ref("Suppression")),
    ("/suppressions", "post"): ref("Suppression"),
    ("/suppressions/{entry_id}", "delete"): _object(("removed",), removed=INT),
    ("/changes", "get"): _object(
        ("changes", "next", "more"), changes=_list(_CHANGE), next=STR, more=BOOL
    ),
    ("/saved-searches", "get"): _list(_SAVED_SEARCH),
    ("/saved-searches", "post"): _SAVED_SEARCH,
    ("/saved-searches/{search_id}", "get"): _SAVED_SEARCH,
    ("/saved-searches/{search_id}", "patch"): _SAVED_SEARCH,
    ("/saved-searches/{search_id}", "delete"): _object(("deleted",), deleted=INT),
    ("/saved-searches/{search_id}/cases", "get"): ref("CasePage"),
    ("/subscriptions", "get"): _list(_SUBSCRIPTION),
    ("/subscriptions", "post"): _WITH_SECRET,
    ("/subscriptions/{sub_id}", "get"): _SUBSCRIPTION,
    ("/subscriptions/{sub_id}", "patch"): _WITH_SECRET,
    ("/subscriptions/{sub_id}", "delete"): _object(("deleted",), deleted=INT),
    ("/subscriptions/{sub_id}/secret", "post"): _WITH_SECRET,
    ("/notifications", "get"): _object(
        ("total", "unread", "page", "per_page", "notifications"),
        total=COUNT,
        unread=COUNT,
        page=INT,
        per_page=INT,
        notifications=_list(_NOTIFICATION),
    ),
    ("/notifications/read", "post"): _object(
        ("marked", "unread"), marked=COUNT, unread=COUNT
    ),
    ("/openapi.json", "get"): _object(("openapi", "paths"), openapi=STR),
}
#: Operations that answer 202 Accepted (the work goes on in scrapyd).
ACCEPTED = {("/scraper/scrape", "post"), ("/scraper/jobs/{job_id}/retry", "post")}
#: Operations that answer 201 Created.
CREATED = {
    ("/cases/{docket_no}/notes", "post"),
    ("/suppressions", "post"),
    ("/saved-searches", "post"),
    ("/subscriptions", "post"),
}

_NOT_NOW = {
    "409": {
        "description": "The job is not in a state this action applies to",
        "content": {"application/json": {"schema": ref("Error")}},
    },
}
#: Operations only the owner of the thing may do (others: 403).
OWNER_ONLY = {
    ("/saved-searches/{search_id}", "patch"),
    ("/saved-searches/{search_id}", "delete"),
}
_NAME_TAKEN = {
    "409": {
        "description": "You already have a saved search of that name",
        "content": {"application/json": {"schema": ref("Error")}},
    },
}
#: A saved search whose filter no longer reads, for every reader of one.
_SEARCH_BROKEN = {
    "409": {
        "description": "The saved filter no longer reads (a renamed town, a "
        "bad date): the body names the argument; edit or delete the search",
        "content": {"application/json": {"schema": ref("Error")}},
    },
}
#: A saved search's id given in the query or the body that the asker may not see.
_NO_SEARCH = {
    "404": {
        "description": "No saved search of that id that you may see (yours "
        "or a shared one)",
        "content": {"application/json": {"schema": ref("Error")}},
    },
}
#: Answers besides the usual ones (success, 400, 401, 403, 404, 503).
EXTRA_RESPONSES = {
    ("/saved-searches", "post"): _NAME_TAKEN,
    ("/saved-searches/{search_id}", "patch"): _NAME_TAKEN,
    ("/saved-searches/{search_id}/cases", "get"): _SEARCH_BROKEN,
    ("/subscriptions", "get"): _NO_SEARCH,
    ("/subscriptions", "post"): _NO_SEARCH,
    ("/subscriptions/{sub_id}/secret", "post"): {
        "409": {
            "description": "The subscription has no webhook",
            "content": {"application/json": {"schema": ref("Error")}},
        },
    },
    ("/scraper/jobs/{job_id}/retry", "post"): _NOT_NOW,
    ("/scraper/jobs/{job_id}/cancel", "post"): _NOT_NOW,
    ("/changes", "get"): {**_NO_SEARCH, **_SEARCH_BROKEN},
    ("/suppressions", "post"): {
        "409": {
            "description": "Already on the do-not-contact list",
            "content": {"application/json": {"schema": ref("Error")}},
        },
    },
    ("/skiptraces/lookup", "post"): {
        "202": {
            "description": "Confirmed: the trace runs as a background job",
            "content": {
                "application/json": {
                    "schema": _object(
                        ("quote", "job"), quote=ref("Quote"), job=ref("Job")
                    )
                }
            },
        },
        "409": {
            "description": "The quote went up: confirm the new max_cost",
            "content": {"application/json": {"schema": ref("Error")}},
        },
    },
}


def _body(model) -> dict:
    """Return a body model's JSON Schema (its refusals are its descriptions)."""
    schema = model.model_json_schema()
    schema["additionalProperties"] = False
    return schema


#: What the POSTs accept: the schema of the pydantic model that checks it.
BODIES = {
    ("/skiptraces/lookup", "post"): _body(LookupBody),
    ("/scraper/scrape", "post"): _body(ScrapeBody),
    ("/scraper/pause", "post"): _body(PauseBody),
    ("/cases/{docket_no}/lead", "patch"): _body(LeadBody),
    ("/cases/{docket_no}/notes", "post"): _body(NoteBody),
    ("/suppressions", "post"): _body(SuppressionBody),
    ("/saved-searches", "post"): _body(NewSearchBody),
    ("/saved-searches/{search_id}", "patch"): _body(SearchChangeBody),
    ("/subscriptions", "post"): _body(NewSubscriptionBody),
    ("/subscriptions/{sub_id}", "patch"): _body(SubscriptionChangeBody),
    ("/notifications/read", "post"): _body(ReadBody),
}
