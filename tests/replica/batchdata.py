"""Offline stand-in for BatchData's paid v1 skip-trace API (docs/SITES.md §7).

Mounted by the replica at ``/batchdata``, so clients use the base URL
``<root>/batchdata/api/v1``. It answers ``POST /api/v1/property/skip-trace`` in the
shape of the captured official mock (``captures/batchdata/*.json``), but with one
``persons`` entry per request item, in request order, so alignment can be tested
(the real mock returns one canned person whatever is sent).

Behaviours (all deterministic for a given ``seed``):

- Bearer auth with :data:`TEST_API_KEY`; anything else is HTTP 401.
- 400 for a body that is not JSON, has no ``requests`` list, more than
  :data:`MAX_ITEMS_PER_CALL` items, or an item without an accepted address
  combination (street+city+state, street+zip; docs/SITES.md §7.2).
- 429 with ``Retry-After`` once more calls arrive in one minute than
  ``rate_limit_per_minute``.
- Fake persons from a hash of the input name and address: phones (type, carrier, DNC
  and TCPA flags, score) and emails; about one input in five is a no-match. Phones
  are 555-01xx numbers (reserved for fiction). TCPA-listed phones are left out unless
  ``options.includeTCPABlacklistedPhones`` is true (the v1 default is false).
- Billing per matched record, no-match not billed (docs/SITES.md §7.5):
  ``GET /_ledger`` lists exactly what was billed (``billed``), the ``requestId`` of
  every item answered, matched or not (``answered``: what was sent, once per
  sending), and the calls; ``POST /_ledger/reset`` empties it.
- ``faults``: ``"429_once"``, ``"500_once"``, ``"503_once"``, ``"500_always"``,
  ``"400_always"``, ``"malformed_json"`` (200 with a cut-off body, after billing) and
  ``"slow"`` (bill, then wait ``slow_seconds`` before answering: a read timeout on the
  client's side after the vendor did the work).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify, request

__all__ = ["MAX_ITEMS_PER_CALL", "TEST_API_KEY", "fake_person", "make_blueprint"]

#: The only key the replica accepts.
TEST_API_KEY = "replica-test-key"
#: Request items per call (v3 doc says 100; docs/SITES.md §7.2).
MAX_ITEMS_PER_CALL = 100
API_VERSION = "2.28.0"  # as in capture B

FIRST_NAMES = ("ALEX", "SAM", "JORDAN", "TAYLOR", "MORGAN", "CASEY", "RILEY", "JAMIE")
CARRIERS = (
    "OMNIPOINT COMMUNICATIONS- INC.",  # sample carrier from capture B
    "VERIZON NEW YORK- INC.",
    "CELLCO PARTNERSHIP DBA VERIZON WIRELESS",
    "SOUTHERN NEW ENGLAND TELEPHONE",
)
AREA_CODES = ("860", "203", "475", "959")


def _digest(seed: int, *parts: str) -> bytes:
    text = "|".join([str(seed), *(p.strip().upper() for p in parts)])
    return hashlib.sha256(text.encode("utf-8")).digest()


def _status(code: int, text: str, message: str | None = None) -> dict:
    status = {"code": code, "text": text}
    if message:
        status["message"] = message
    return {"status": status}


def _address_ok(addr: dict) -> bool:
    street = str(addr.get("street") or "").strip()
    city = str(addr.get("city") or "").strip()
    state = str(addr.get("state") or "").strip()
    zip_ = str(addr.get("zip") or "").strip()
    return bool(street and (zip_ or (city and state)))


def fake_person(seed: int, item: dict, include_tcpa: bool = False) -> dict:
    """Return the replica's answer for one request item (matched or not)."""
    addr = item.get("propertyAddress") or {}
    name = item.get("name") or {}
    key_parts = (
        str(name.get("first", "")),
        str(name.get("last", "")),
        str(addr.get("street", "")),
        str(addr.get("zip", "") or addr.get("city", "")),
    )
    h = _digest(seed, *key_parts)
    address = {
        "street": addr.get("street"),
        "city": addr.get("city"),
        "state": addr.get("state"),
        "zip": addr.get("zip"),
        "hash": hashlib.md5(  # noqa: S324 - an address hash, as the API returns
            "|".join(key_parts[2:]).encode()
        ).hexdigest(),
    }
    if h[0] % 5 == 0:
        return {
            "name": dict(name),
            "propertyAddress": address,
            "phoneNumbers": [],
            "emails": [],
            "meta": {"matched": False, "error": False},
        }
    phones = []
    for i in range(1 + h[1] % 4):
        b = h[2 + i]
        phone = {
            "number": f"{AREA_CODES[b % 4]}5550{100 + (b % 100):03d}"[:10],
            "carrier": CARRIERS[(b >> 2) % len(CARRIERS)],
            "type": "Mobile" if i == 0 or b % 3 == 0 else "Land Line",
            "tested": bool(b & 1),
            "reachable": bool(b & 2),
            "score": 100 - 5 * i,
            "dnc": bool(b & 4),
            "tcpa": b % 7 == 0,
        }
        if phone["tcpa"] and not include_tcpa:
            continue
        phones.append(phone)
    last = str(name.get("last") or "OWNER").lower()
    first = str(name.get("first") or FIRST_NAMES[h[8] % len(FIRST_NAMES)]).lower()
    emails = [{"email": f"{first}.{last}{h[9] % 90 + 10}@example.net"}]
    if h[10] % 2:
        emails.append({"email": f"{first[0]}{last}@example.org"})
    return {
        "_id": h[:7].hex(),
        "name": {"first": first, "last": last},
        "propertyAddress": address,
        "mailingAddress": dict(address),
        "phoneNumbers": phones,
        "emails": emails,
        "dnc": {},
        "litigator": bool(h[11] % 11 == 0),
        "bankruptcy": {},
        "involuntaryLien": {},
        "meta": {"matched": True, "error": False},
    }


def make_blueprint(
    *,
    seed: int = 0,
    rate_limit_per_minute: int = 3000,
    faults: frozenset[str] = frozenset(),
    slow_seconds: float = 2.0,
) -> Blueprint:
    """Return a BatchData v1 blueprint with its own ledger, rate window and faults."""
    bp = Blueprint("batchdata", __name__)
    lock = threading.Lock()
    billed: list[dict] = []
    calls: list[dict] = []
    answered: list[str | None] = []
    window: deque[float] = deque()
    fired: set[str] = set()

    def _once(fault: str) -> bool:
        with lock:
            if fault in faults and fault not in fired:
                fired.add(fault)
                return True
        return False

    @bp.post("/api/v1/property/skip-trace")
    def skip_trace():
        now = time.monotonic()
        with lock:
            calls.append({"at": time.time(), "path": request.path})
        auth = request.headers.get("Authorization", "")
        if auth != f"Bearer {TEST_API_KEY}":
            return jsonify(
                _status(401, "Unauthorized", "Invalid or missing token.")
            ), 401
        with lock:
            while window and now - window[0] >= 60:
                window.popleft()
            if len(window) >= rate_limit_per_minute:
                wait = max(1, int(60 - (now - window[0])) + 1)
                body = _status(429, "Too Many Requests", "Rate limit exceeded.")
                return jsonify(body), 429, {"Retry-After": str(wait)}
            window.append(now)
        if _once("429_once"):
            body = _status(429, "Too Many Requests", "Rate limit exceeded.")
            return jsonify(body), 429, {"Retry-After": "1"}
        for code in (500, 503):
            if _once(f"{code}_once"):
                return jsonify(_status(code, "Server Error")), code
        if "500_always" in faults:
            return jsonify(_status(500, "Server Error")), 500
        if "400_always" in faults:
            return jsonify(_status(400, "Bad Request", "Invalid request.")), 400
        body = request.get_json(silent=True)
        items = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            return jsonify(_status(400, "Bad Request", "'requests' is required.")), 400
        if len(items) > MAX_ITEMS_PER_CALL:
            msg = f"At most {MAX_ITEMS_PER_CALL} requests per call."
            return jsonify(_status(400, "Bad Request", msg)), 400
        for item in items:
            if not isinstance(item, dict) or not _address_ok(
                item.get("propertyAddress") or {}
            ):
                msg = "Each request needs street+city+state or street+zip."
                return jsonify(_status(400, "Bad Request", msg)), 400
        options = body.get("options") or {}
        include_tcpa = bool(options.get("includeTCPABlacklistedPhones", False))
        request_id = _digest(seed, json.dumps(items, sort_keys=True), str(len(calls)))
        request_id = request_id[:8].hex()
        persons = [fake_person(seed, item, include_tcpa) for item in items]
        matched = sum(1 for p in persons if p["meta"]["matched"])
        with lock:
            answered.extend(item.get("requestId") for item in items)
            for item, person in zip(items, persons, strict=True):
                if person["meta"]["matched"]:
                    billed.append(
                        {
                            "provider_request_id": request_id,
                            "requestId": item.get("requestId"),
                            "name": item.get("name") or {},
                            "propertyAddress": item.get("propertyAddress"),
                            "options": options,
                            "at": datetime.now(UTC).isoformat(),
                        }
                    )
        payload = {
            "status": {"code": 200, "text": "OK"},
            "results": {
                "persons": persons,
                "meta": {
                    "apiVersion": API_VERSION,
                    "results": {
                        "requestCount": len(items),
                        "matchCount": matched,
                        "noMatchCount": len(items) - matched,
                        "errorCount": 0,
                    },
                    "requestId": request_id,
                },
            },
        }
        text = json.dumps(payload)
        if "malformed_json" in faults:
            text = text[: len(text) // 2]
        if "slow" in faults:
            time.sleep(slow_seconds)
        return Response(text, status=200, mimetype="application/json")

    @bp.get("/_ledger")
    def ledger():
        with lock:
            return jsonify(
                {
                    "billed": list(billed),
                    "billed_count": len(billed),
                    "calls": list(calls),
                    "answered": list(answered),
                }
            )

    @bp.post("/_ledger/reset")
    def ledger_reset():
        with lock:
            billed.clear()
            calls.clear()
            answered.clear()
            window.clear()
        return jsonify({"ok": True})

    return bp
