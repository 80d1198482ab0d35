"""Examples and path-parameter docs for the browsable API reference (``/api/docs``).

The OpenAPI description (:mod:`webui.openapi`) says what each operation accepts and
answers; this module adds what a person reading it in Swagger UI wants next to that:
an example of every parameter, request body and answer, what a path parameter means
and the values it allows. All of it is data, keyed by ``(path, method)`` as in
:data:`webui.openapi.OPERATIONS`, so a new operation is documented by adding one
entry here (``tests/webui/test_apidocs.py`` fails until it is), and the examples
are checked against the answers' schemas there.
"""

from __future__ import annotations

import copy

from ctforeclosure import towns as ct_towns
from ctforeclosure.store.feed import Cursor

#: What each path parameter is: description, schema additions, example.
PATH_PARAMS = {
    "county": (
        "One of Connecticut's 8 counties",
        {"enum": ct_towns.counties()},
        "New Haven",
    ),
    "town": (
        "A Connecticut town, any spelling (`E. HARTFORD`, `Winsted`)",
        {},
        "Bethel",
    ),
    "name": ("A town name to check, any spelling", {}, "E. HARTFORD"),
    "docket_no": (
        "Docket number, compact or dashed (`HHD-CV-22-6160660-S`)",
        {},
        "HHDCV226160660S",
    ),
    "party_id": ("A party's id (a defendant's, from /defendants)", {}, 4101),
    "posting_id": ("A sale posting's id (from /sales)", {}, 52114),
    "entry_id": ("A do-not-contact entry's id (from /suppressions)", {}, 7),
    "search_id": (
        "A saved search's id (from /saved-searches): your own or a shared one",
        {},
        3,
    ),
    "sub_id": ("One of your subscriptions' ids (from /subscriptions)", {}, 5),
    "job_id": (
        "A scrapyd job id, or a crawl run's id; for /skiptraces/jobs the id a "
        "confirmed lookup answered",
        {},
        "6487ec79947edab326d6db28a2a8f5c5",
    ),
}

#: An example of each query parameter, by name (an operation may override it).
QUERY_EXAMPLES = {
    "q": "Main St",
    "town": "Bethel",
    "county": "Fairfield",
    "status": "active",
    "judgment_type": "sale",
    "filed_from": "2026-01-01",
    "filed_to": "2026-06-30",
    "has_phones": True,
    "skip_traced": False,
    "lead_status": "contacted",
    "assignee": "me",
    "tag": "vacant",
    "follow_up_by": "2026-12-31",
    "priority": "hot",
    "quality": "zip_missing",
    "missed": 3,
    "sort": "file_date",
    "order": "desc",
    "date_from": "2026-12-01",
    "date_to": "2027-01-31",
    "property_type": "Single family",
    "include_dnc": False,
    "page": 1,
    "per_page": 50,
    "reason": "entered by mistake",
    "unread": True,
}

DOCKET = "HHDCV226160660S"
TOWN = {"name": "Bethel", "county": "Fairfield", "planning_region": "Western CT"}
CASE = {
    "docket_no": DOCKET,
    "search_town": "Bethel",
    "county": "Fairfield",
    "case_name": "WELLS FARGO BANK, N.A. v. DOE, JOHN, Et Al",
    "property_street": "12 Main St",
    "property_town": "Bethel",
    "file_date": "2026-03-02",
    "judgment_type": "sale",
    "law_day": None,
    "sale_date": "2026-12-19",
    "is_active": True,
    "listed": True,
}
SALE = {
    "posting_id": 52114,
    "docket_no": DOCKET,
    "town": "Bethel",
    "county": "Fairfield",
    "sale_at": "2026-12-19T12:00:00-05:00",
    "sale_date": "2026-12-19",
    "sale_time": "12:00 PM",
    "sale_type": "Public Auction",
    "property_type": "Single family",
    "address_raw": "12 Main St, Bethel",
    "status": "scheduled",
    "cancel_reason": None,
    "deposit": "$25,000",
    "listed": True,
}
TRACE = {
    "id": 311,
    "status": "found",
    "sandbox": False,
    "fetched_at": "2026-11-30T15:02:11+00:00",
    "phones": [
        {"number": "(203) 555-0142", "type": "mobile", "dnc": False, "tcpa": False}
    ],
    "emails": ["j.doe@example.org"],
    "withheld_emails": [],
}
DEFENDANT = {
    "id": 4101,
    "docket_no": DOCKET,
    "party_no": "D-01",
    "category": "Defendant",
    "name": "DOE, JOHN",
    "non_appearing": False,
    "removed_at": None,
}
LEAD = {"status": "contacted", "assignee": None, "follow_up": None, "tags": ["vacant"]}
NOTE = {
    "id": 88,
    "party_id": None,
    "author": "manager@example.org",
    "body": "Left a message; call back Monday.",
    "created_at": "2026-12-01T14:20:00+00:00",
}
SUPPRESSION = {
    "id": 7,
    "kind": "phone",
    "last4": "0142",
    "reason": "asked",
    "added_by": "manager@example.org",
    "added_at": "2026-11-28T10:00:00+00:00",
}
CRAWL_RUN = {
    "id": 912,
    "spider": "cases",
    "job_id": "6487ec79947edab326d6db28a2a8f5c5",
    "node": "node1",
    "status": "finished",
    "started_at": "2026-12-04T06:00:02+00:00",
    "finished_at": "2026-12-04T06:41:37+00:00",
    "items_stored": 1204,
    "outcome": "partial",
    "incomplete_towns": ["Meriden"],
    "heartbeat_at": "2026-12-04T06:41:02+00:00",
}
CRAWL_JOB = {
    "job_id": "9c0e4a7f31d24b6f8e5a2d1c7b3f6e90",
    "node": "node1",
    "spider": "cases",
    "towns": ["Bethel", "Danbury"],
    "args": {"details": "changed"},
    "started_by": "manager@example.org",
    "status": "failed",
    "created_at": "2026-12-04T06:00:00+00:00",
    "started_at": "2026-12-04T06:00:02+00:00",
    "ended_at": "2026-12-04T06:03:41+00:00",
    "retry_of": None,
    "attempt": 1,
    "failure_reason": "partial: towns not complete: Danbury",
    "failure_class": "transient",
    "outcome": "partial",
    "incomplete_towns": ["Danbury"],
    "crawl_run_id": 913,
}
#: A cursor as the change feed writes it: it decodes (a point, one pending
#: transaction), so Try it out with it answers.
EXAMPLE_CURSOR = Cursor(812, 40, ((790, 0),)).encode()
CHANGE_PAGE = {
    "changes": [
        {
            "id": 41,
            "docket_no": "DBDCV266000002S",
            "town": "Bethel",
            "county": "Fairfield",
            "kind": "judgment",
            "field": "judgment_type",
            "old_value": None,
            "new_value": "strict",
            "seen_at": "2026-12-04T14:05:09+00:00",
            "crawl_id": 118,
            "text": "judgment of strict foreclosure entered",
        },
        {
            "id": 42,
            "docket_no": "DBDCV266000002S",
            "town": "Bethel",
            "county": "Fairfield",
            "kind": "law_day",
            "field": "law_day",
            "old_value": None,
            "new_value": "2027-01-12",
            "seen_at": "2026-12-04T14:05:09+00:00",
            "crawl_id": 118,
            "text": "law day set to 2027-01-12",
        },
    ],
    "next": EXAMPLE_CURSOR,
    "more": False,
}

PAUSED = {"paused": True, "reason": "the court asked us to slow down"}
QUOTE = {
    "records": 12,
    "reuse": 3,
    "max_cost": "1.80",
    "affordable": True,
    "sandbox": False,
    "lines": ["12 records to trace, 3 reuse a trace under 90 days old"],
}
JOB = {
    "id": "b1c7",
    "kind": "skiptrace",
    "state": "running",
    "done": 4,
    "total": 12,
    "lines": ["4 of 12 records traced"],
}


def _page(key: str, rows: list, **more) -> dict:
    return {"total": len(rows), "page": 1, "per_page": 50, key: rows, **more}


CASE_PAGE = _page(
    "cases", [CASE], total_is_lower_bound=False, filters={"town": "Bethel"}
)

SUBSCRIPTION = {
    "id": 5,
    "saved_search_id": 3,
    "saved_search_name": "Bethel, filed this year",
    "events": ["new_case", "judgment", "law_day", "sale_scheduled", "sale_moved"],
    "email_mode": "digest",
    "digest_hour": 7,
    "webhook": {"host": "hooks.example.org"},
    "include_caption": False,
    "created_at": "2026-12-04T14:05:00+00:00",
    "updated_at": "2026-12-04T14:05:00+00:00",
}
#: Made up: a real one is 43 random characters, answered once.
WEBHOOK_SECRET = "example-secret-shown-once-0123456789abcdef"  # noqa: S105
NOTIFICATION = {
    "id": 88,
    "docket_no": DOCKET,
    "town": "Bethel",
    "kind": "law_day",
    "text": "law day set to 2027-01-12",
    "seen_at": "2026-12-04T06:12:09+00:00",
    "created_at": "2026-12-04T06:15:00+00:00",
    "read": False,
    "read_at": None,
    "change_id": 41,
    "subscription_id": 5,
    "saved_search_id": 3,
    "saved_search_name": "Bethel, filed this year",
}

SAVED_SEARCH = {
    "id": 3,
    "name": "Bethel, filed this year",
    "list": "cases",
    "query": {"town": "Bethel", "filed_from": "2026-01-01"},
    "shared": True,
    "owner": "manager@example.org",
    "mine": True,
    "created_at": "2026-11-02T14:05:00+00:00",
    "updated_at": "2026-11-02T14:05:00+00:00",
    "last_opened_at": "2026-12-01T09:12:44+00:00",
}

#: Per operation: the success's example answer (``response``), other answers'
#: by status (``more``), the request body's (``request``), and query examples that
#: differ from :data:`QUERY_EXAMPLES` (``query``).
OPERATION_EXAMPLES = {
    ("/towns", "get"): {"response": [TOWN]},
    ("/towns/by-county/{county}", "get"): {"response": [TOWN]},
    ("/towns/search", "get"): {"response": [TOWN], "query": {"q": "beth"}},
    ("/towns/validate/{name}", "get"): {
        "response": {
            "valid": False,
            "message": "not a town",
            "suggestions": ["East Hartford"],
        }
    },
    ("/counties", "get"): {
        "response": [{"county": "Fairfield", "towns": 23, "cases": 812, "active": 640}]
    },
    ("/counties/{county}/stats", "get"): {
        "response": {
            "county": "New Haven",
            "towns": [{"name": "Milford", "cases": 96, "active": 71}],
            "cases": 96,
            "active": 71,
        }
    },
    ("/cases", "get"): {"response": CASE_PAGE},
    ("/cases/search", "get"): {"response": CASE_PAGE, "query": {"q": "6160660"}},
    ("/cases/by-town/{town}", "get"): {"response": CASE_PAGE},
    ("/cases/{docket_no}", "get"): {
        "response": {
            **CASE,
            "docket_dashed": "HHD-CV-22-6160660-S",
            "parties": [{**DEFENDANT, "role": "defendant", "skiptraces": [TRACE]}],
            "docket_entries": [{"entry_no": "101.00", "description": "COMPLAINT"}],
            "court_dates": [],
            "lead": LEAD,
            "notes_count": 1,
        }
    },
    ("/sales", "get"): {
        "response": _page("sales", [{**SALE, "case_name": CASE["case_name"]}])
        | {"filters": {"status": "scheduled"}}
    },
    ("/sales/{posting_id}", "get"): {
        "response": {
            **SALE,
            "history": [{"kind": "sale_scheduled", "text": "Sale set"}],
        }
    },
    ("/defendants", "get"): {
        "response": _page("defendants", [DEFENDANT]),
        "query": {"q": "DOE"},
    },
    ("/defendants/{party_id}", "get"): {
        "response": {
            **DEFENDANT,
            "role": "defendant",
            "case": CASE,
            "skiptraces": [TRACE],
        }
    },
    ("/defendants/by-case/{docket_no}", "get"): {"response": [DEFENDANT]},
    ("/skiptraces/lookup", "post"): {
        "request": {"docket_nos": [DOCKET], "confirm": False},
        "response": {"quote": QUOTE, "configured": True},
        "more": {"202": {"quote": QUOTE, "job": JOB}},
    },
    ("/skiptraces/history", "get"): {
        "response": [{"id": 55, "records_sent": 12, "cost": "1.80", "sandbox": False}]
    },
    ("/skiptraces/jobs/{job_id}", "get"): {"response": JOB},
    ("/skiptraces/by-defendant/{party_id}", "get"): {"response": [TRACE]},
    ("/skiptraces/costs", "get"): {
        "response": {
            "this_month": {"cost": "1.80", "records": 12},
            "by_month": [
                {"month": "2026-12", "sandbox": False, "cost": "1.80", "records": 12}
            ],
        }
    },
    ("/scraper/scrape", "post"): {
        "request": {"scope": "town", "town": "Bethel"},
        "response": {
            "jobs": [
                {"job_id": CRAWL_RUN["job_id"], "node": "node1", "towns": ["Bethel"]}
            ]
        },
    },
    ("/scraper/status/{job_id}", "get"): {"response": CRAWL_RUN},
    ("/scraper/history", "get"): {
        "response": [CRAWL_JOB],
        "query": {
            "status": "failed",
            "spider": "cases",
            "town": "Bethel",
            "started_by": "manager@example.org",
            "created_from": "2026-12-01",
            "created_to": "2026-12-04",
        },
    },
    ("/scraper/jobs/{job_id}/retry", "post"): {
        "response": {
            "retry_of": CRAWL_JOB["job_id"],
            "jobs": [{"job_id": "2f6b1d8e04c94a7fb3e5c9a1d0e7f4b2", "node": "node1"}],
        }
    },
    ("/scraper/jobs/{job_id}/cancel", "post"): {
        "response": {"job_id": CRAWL_JOB["job_id"], "was": ["running"]}
    },
    ("/scraper/pause", "post"): {
        "request": {"reason": PAUSED["reason"]},
        "response": PAUSED,
    },
    ("/scraper/resume", "post"): {"response": {"paused": False, "reason": None}},
    ("/status", "get"): {
        "response": {
            "database": {"ok": True},
            "scrapyd_nodes": [{"node": "node1", "ok": True}],
            "kill_switch": {"on": False},
            "towns": [],
            "unfinished_crawls": [
                {
                    "id": 912,
                    "spider": "cases",
                    "outcome": "lost",
                    "incomplete_towns": ["Meriden", "Wallingford"],
                    "job_id": CRAWL_RUN["job_id"],
                    "node": "node1",
                    "started_at": "2026-12-04T06:00:02+00:00",
                    "heartbeat_at": "2026-12-04T06:12:40+00:00",
                }
            ],
            "spool_backlog": 0,
        }
    },
    ("/cases/{docket_no}/lead", "patch"): {
        "request": {"status": "contacted", "tags": ["vacant"]},
        "response": LEAD,
    },
    ("/cases/{docket_no}/notes", "get"): {"response": [NOTE]},
    ("/cases/{docket_no}/notes", "post"): {
        "request": {"body": NOTE["body"]},
        "response": NOTE,
    },
    ("/suppressions", "get"): {"response": [SUPPRESSION]},
    ("/suppressions", "post"): {
        "request": {"phone": "(203) 555-0142", "reason": "asked"},
        "response": SUPPRESSION,
    },
    ("/suppressions/{entry_id}", "delete"): {"response": {"removed": 7}},
    ("/changes", "get"): {
        "response": CHANGE_PAGE,
        "query": {
            "after": EXAMPLE_CURSOR,
            "kinds": "judgment,law_day,sale_scheduled",
            "saved_search": 3,
            "limit": 100,
        },
    },
    ("/saved-searches", "get"): {"response": [SAVED_SEARCH]},
    ("/saved-searches", "post"): {
        "request": {
            "name": SAVED_SEARCH["name"],
            "list": "cases",
            "query": SAVED_SEARCH["query"],
            "shared": True,
        },
        "response": SAVED_SEARCH,
        "more": {
            "409": {
                "error": "name: you already have a saved search named "
                "'Bethel, filed this year'",
                "parameter": "name",
            }
        },
    },
    ("/saved-searches/{search_id}", "get"): {"response": SAVED_SEARCH},
    ("/saved-searches/{search_id}", "patch"): {
        "request": {"name": "Bethel, all", "query": {"town": "Bethel"}},
        "response": {
            **SAVED_SEARCH,
            "name": "Bethel, all",
            "query": {"town": "Bethel"},
        },
        "more": {
            "409": {
                "error": "name: you already have a saved search named 'Bethel, all'",
                "parameter": "name",
            }
        },
    },
    ("/saved-searches/{search_id}", "delete"): {"response": {"deleted": 3}},
    ("/saved-searches/{search_id}/cases", "get"): {
        "response": CASE_PAGE,
        "query": {"page": 1, "per_page": 50},
        "more": {
            "409": {
                "error": "saved search 'Old town' no longer reads: town: "
                "'Atlantis' is not a Connecticut town (edit its filter or delete it)",
                "parameter": "town",
            }
        },
    },
    ("/subscriptions", "get"): {
        "response": [SUBSCRIPTION],
        "query": {"saved_search_id": 3},
        "more": {
            "400": {
                "error": "saved_search_id must be the id of a saved search you "
                "see (yours or a shared one)",
                "parameter": "saved_search_id",
                "accepts": "the id of a saved search you see (yours or a shared one)",
            },
            "404": {
                "error": "no such saved search: 3",
                "parameter": "saved_search_id",
            },
        },
    },
    ("/subscriptions", "post"): {
        "request": {
            "saved_search_id": 3,
            "events": SUBSCRIPTION["events"],
            "email_mode": "digest",
            "digest_hour": 7,
            "webhook_url": "https://hooks.example.org/ctf",
            "include_caption": False,
        },
        "response": {**SUBSCRIPTION, "webhook_secret": WEBHOOK_SECRET},
        "more": {
            "400": {
                "error": "digest_hour: a daily digest needs its hour",
                "parameter": "digest_hour",
            },
            "404": {
                "error": "no such saved search: 3",
                "parameter": "saved_search_id",
            },
        },
    },
    ("/subscriptions/{sub_id}", "get"): {"response": SUBSCRIPTION},
    ("/subscriptions/{sub_id}", "patch"): {
        "request": {"email_mode": "immediate", "include_caption": True},
        "response": {
            **SUBSCRIPTION,
            "email_mode": "immediate",
            "digest_hour": None,
            "include_caption": True,
        },
    },
    ("/subscriptions/{sub_id}", "delete"): {"response": {"deleted": 5}},
    ("/subscriptions/{sub_id}/secret", "post"): {
        "response": {**SUBSCRIPTION, "webhook_secret": WEBHOOK_SECRET},
        "more": {"409": {"error": "this subscription has no webhook"}},
    },
    ("/notifications", "get"): {
        "response": {
            "total": 1,
            "unread": 1,
            "page": 1,
            "per_page": 50,
            "notifications": [NOTIFICATION],
        },
        "query": {"unread": True, "page": 1, "per_page": 50},
    },
    ("/notifications/read", "post"): {
        "request": {"ids": [88]},
        "response": {"marked": 1, "unread": 0},
    },
    ("/openapi.json", "get"): {"response": {"openapi": "3.1.0", "paths": {}}},
}

#: An example body of each error status (the first line of every refusal).
ERROR_EXAMPLES = {
    "400": {"error": "per_page must be at most 500", "parameter": "per_page"},
    "401": {"error": "missing or invalid token"},
    "403": {"error": "this token lacks the crawl scope", "missing_scope": "crawl"},
    "404": {"error": f"no such case: {DOCKET}"},
    "409": {"error": "already on the do-not-contact list"},
    "429": {"error": "rate limit exceeded", "limit": 120, "retry_after": 12},
    "503": {"error": "the database could not answer; retry"},
}


def _example_of(param: dict, query: dict) -> dict:
    """Return a parameter with its description, allowed values and example."""
    name = param["name"]
    if param["in"] == "path":
        text, schema, example = PATH_PARAMS[name]
        param["description"] = text
        param["schema"] = {**param["schema"], **schema}
    else:
        example = query.get(name, QUERY_EXAMPLES.get(name))
    if example is not None:
        param["example"] = example
    return param


def _set_example(content: dict, example) -> None:
    if example is not None:
        content["application/json"]["example"] = example


def document(spec: dict) -> dict:
    """Return a copy of the OpenAPI description with the examples and path-parameter
    docs above filled in (an operation without an entry keeps none)."""
    spec = copy.deepcopy(spec)
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            examples = OPERATION_EXAMPLES.get((path, method), {})
            query = examples.get("query", {})
            for param in operation["parameters"]:
                if param["in"] != "path" or param["name"] in PATH_PARAMS:
                    _example_of(param, query)
            if "requestBody" in operation:
                _set_example(
                    operation["requestBody"]["content"], examples.get("request")
                )
            _answer_examples(operation["responses"], examples)
    return spec


def _answer_examples(responses: dict, examples: dict) -> None:
    """Set the success's example (the first 2xx), other answers' from ``more``, and
    each error's from :data:`ERROR_EXAMPLES`."""
    success = min(status for status in responses if status.startswith("2"))
    for status, answer in responses.items():
        if status == success:
            example = examples.get("response")
        else:
            example = examples.get("more", {}).get(status, ERROR_EXAMPLES.get(status))
        if "content" in answer:
            _set_example(answer["content"], example)
