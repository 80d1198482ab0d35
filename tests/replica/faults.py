"""Fault injection: the ways the real sites misbehave, on demand (``--fault NAME``).

Faults are per run and combinable. Probabilistic faults are deterministic: they hit
a fixed pattern of requests (a burst of two in every ``2 * fault_every``), so a test
that expects a retry sees one every time. The replica's own endpoints (/_replica/*,
robots.txt) are never faulted.

Data faults hit a fixed share of the cases, chosen by docket (:func:`hits_case`), so
a test knows which cases each one touched: ``address-other-town`` (the case page's
address names another town), ``case-page-500`` (the case page always answers 500:
the case stays listing-only) and ``zip-missing`` (no zip on the grid or the page).
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
import zlib

from flask import Flask, Response, request

FAULT_LATENCY_SECONDS = 0.3
RETRY_AFTER_SECONDS = 1
TRUNCATE_AT = 0.6  # fraction of the body kept by "truncated-html"
EXEMPT_PREFIXES = ("/_replica", "/robots.txt")
#: The body of a faulted 500 (ASP.NET's yellow page title).
SERVER_ERROR_PAGE = (
    "<html><body><h1>Server Error in '/' Application.</h1></body></html>"
)
#: A data fault hits one case in this many (by a hash of fault and docket).
CASE_FAULT_SHARE = 5
#: The town ``address-other-town`` prints (the second when the case is in the first).
OTHER_TOWNS = ("Middletown", "Hartford")


def hits_case(fault: str, docket: str) -> bool:
    """Return True for the cases (compact dockets) a data fault touches."""
    return zlib.crc32(f"{fault}:{docket}".encode()) % CASE_FAULT_SHARE == 0


def blank_zips(dataset, faults: frozenset[str]) -> None:
    """``zip-missing``: take the zip off the hit cases (grid and case page)."""
    if "zip-missing" not in faults:
        return
    for docket, case in dataset.cases.items():
        if hits_case("zip-missing", docket):
            case.zip = ""


def case_detail(detail: dict, town: str, docket: str, faults) -> dict:
    """``address-other-town``: the hit case page's address names another town."""
    if "address-other-town" not in faults or not hits_case(
        "address-other-town", docket
    ):
        return detail
    head, _printed, tail = detail["property_address_raw"].rsplit(", ", 2)
    other = OTHER_TOWNS[1] if town == OTHER_TOWNS[0] else OTHER_TOWNS[0]
    return {**detail, "property_address_raw": f"{head}, {other.upper()}, {tail}"}


def case_page_fails(docket: str, faults) -> bool:
    """``case-page-500``: whether the case page answers 500, every time."""
    return "case-page-500" in faults and hits_case("case-page-500", docket)


class DroppedConnection(ConnectionAbortedError):
    """Raised on purpose to make the WSGI server abort a response."""


def _broken_body():
    yield b"<html><head><title>"
    raise DroppedConnection("replica fault drop-connection")


def in_burst(counter, every: int) -> bool:
    """Return True for the requests a probabilistic fault hits (the fixed pattern)."""
    n = next(counter)
    return n % (2 * every) in (every, every + 1)


def install(app: Flask, faults: frozenset[str], every: int) -> None:
    """Attach the chosen faults to the app's request cycle."""
    if not faults:
        return
    lock = threading.Lock()
    counters = {name: itertools.count() for name in faults}

    def hit(name: str) -> bool:
        with lock:
            return in_burst(counters[name], every)

    @app.before_request
    def _before():
        if request.path.startswith(EXEMPT_PREFIXES):
            return None
        if "latency" in faults:
            time.sleep(FAULT_LATENCY_SECONDS)
        if "drop-connection" in faults and hit("drop-connection"):
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            # Without a socket handle (waitress): start a response, then fail while
            # streaming it, so the server aborts the connection mid-body.
            return Response(
                _broken_body(),
                status=200,
                headers={"Content-Length": "100000"},
                mimetype="text/html",
                direct_passthrough=True,
            )
        if "http-403" in faults:
            return Response(
                "<html><body><h1>403 - Forbidden: Access is denied.</h1></body></html>",
                status=403,
                mimetype="text/html",
            )
        if "http-503" in faults and hit("http-503"):
            return Response(
                "<html><body><h1>Service Unavailable</h1></body></html>",
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                mimetype="text/html",
            )
        if "http-500" in faults and hit("http-500"):
            return Response(
                SERVER_ERROR_PAGE,
                status=500,
                mimetype="text/html",
            )
        return None

    if "truncated-html" in faults:

        @app.after_request
        def _after(resp: Response) -> Response:
            if (
                request.path.startswith(EXEMPT_PREFIXES)
                or resp.mimetype != "text/html"
                or resp.status_code != 200
                or resp.direct_passthrough
                or not hit("truncated-html")
            ):
                return resp
            body = resp.get_data()
            resp.set_data(body[: int(len(body) * TRUNCATE_AT)])
            return resp
