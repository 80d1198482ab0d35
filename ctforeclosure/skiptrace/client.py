"""BatchData v1 skip-trace client on ``requests`` (docs/SITES.md §7).

Why a client of our own: every failure must be sorted by one question — *may the
vendor have billed us?* A refused connection, a 429 or a 5xx was not billed and is
retried (with backoff, honouring ``Retry-After``). A read timeout after the request
was sent, a connection dropped mid-answer or a 200 whose body cannot be read may have
been billed: it raises :class:`AmbiguousOutcome` and is never retried blindly (the
caller marks the records "unknown — reconcile"). Phones and emails never reach a log.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

__all__ = [
    "INCLUDE_TCPA_BLACKLISTED_PHONES",
    "AmbiguousOutcome",
    "AuthError",
    "BatchDataClient",
    "BatchDataError",
    "BatchResult",
    "RequestRejected",
    "Unavailable",
    "read_answer",
]

logger = logging.getLogger(__name__)

SKIP_TRACE_PATH = "/property/skip-trace"
#: Pinned, never left to the API default: phones on the TCPA litigator blacklist are
#: not wanted (v1 defaults to false, v3 to true; docs/SITES.md §7.4).
INCLUDE_TCPA_BLACKLISTED_PHONES = False
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: UNVERIFIED (docs/SITES.md §9): v1 answers one ``persons`` entry per request item, in
#: request order. A count mismatch is treated as an unreadable answer.
PERSONS_ALIGNED_WITH_REQUESTS = True
#: Longest Retry-After we will sleep for inside one call (seconds).
MAX_RETRY_AFTER = 120.0
#: The longest request id we keep (``skiptrace_results.provider_request_id``).
MAX_REQUEST_ID = 64


class BatchDataError(Exception):
    """A skip-trace call failed; the message is safe to show and log."""


class AuthError(BatchDataError):
    """The API key was refused (401/403): nothing was traced or billed."""


class RequestRejected(BatchDataError):
    """The API rejected the request as malformed (400 or another 4xx): not billed."""


class Unavailable(BatchDataError):
    """The API could not be reached or kept failing (429/5xx) after retries."""


class AmbiguousOutcome(BatchDataError):
    """The request may have been processed and billed; the answer was lost."""


@dataclass(frozen=True)
class BatchResult:
    """One successful call: ``persons[i]`` answers request item ``i``."""

    persons: list[dict[str, Any]]
    provider_request_id: str | None
    attempts: int


def _sent_before_failure(exc: requests.ConnectionError) -> bool:
    """Return False when the connection failed before the request was sent."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    stack: list[Any] = [exc]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, NewConnectionError | ConnectTimeoutError):
            return False
        stack.append(getattr(node, "reason", None))
        stack.append(getattr(node, "__cause__", None))
        stack.append(getattr(node, "__context__", None))
        stack.extend(
            a for a in getattr(node, "args", ()) if isinstance(a, BaseException)
        )
    return True


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return None


def _message(response: requests.Response) -> str:
    try:
        status = response.json().get("status") or {}
    except (ValueError, AttributeError):
        return response.reason or ""
    return str(status.get("message") or status.get("text") or response.reason or "")


class BatchDataClient:
    """Send batches of skip-trace request items to one BatchData v1 base URL."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + SKIP_TRACE_PATH
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff = backoff
        self._sleep = sleep
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            }
        )
        if user_agent:
            self.session.headers["User-Agent"] = user_agent

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> BatchDataClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def body(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Return the items' request body, options pinned (docs/SITES.md §7.2)."""
        return {
            "requests": list(items),
            "options": {
                "includeTCPABlacklistedPhones": INCLUDE_TCPA_BLACKLISTED_PHONES
            },
        }

    def skip_trace(self, items: Sequence[dict[str, Any]]) -> BatchResult:
        """Trace one batch; raise a :class:`BatchDataError` subclass on failure."""
        body = self.body(items)
        attempt = 0
        while True:
            attempt += 1
            delay = self.backoff * 2 ** (attempt - 1)
            try:
                response = self.session.post(self.url, json=body, timeout=self.timeout)
            except requests.ReadTimeout as exc:
                raise AmbiguousOutcome(
                    f"no answer within {self.timeout[1]:g}s after sending "
                    f"{len(items)} records: they may have been billed"
                ) from exc
            except requests.ConnectionError as exc:
                if _sent_before_failure(exc):
                    raise AmbiguousOutcome(
                        f"connection lost after sending {len(items)} records: "
                        "they may have been billed"
                    ) from exc
                if attempt > self.max_retries:
                    raise Unavailable(
                        f"cannot connect to BatchData after {attempt} attempts"
                    ) from exc
                logger.warning(
                    "BatchData connect failed (attempt %d), retrying", attempt
                )
                self._sleep(delay)
                continue
            if response.status_code in RETRY_STATUSES:
                if attempt > self.max_retries:
                    raise Unavailable(
                        f"BatchData answered HTTP {response.status_code} "
                        f"{attempt} times: {_message(response)}"
                    )
                wait = _retry_after(response)
                logger.warning(
                    "BatchData HTTP %d (attempt %d), retrying in %.1fs",
                    response.status_code,
                    attempt,
                    wait if wait is not None else delay,
                )
                self._sleep(wait if wait is not None else delay)
                continue
            if response.status_code in (401, 403):
                raise AuthError(
                    f"BatchData refused the API key (HTTP {response.status_code}: "
                    f"{_message(response)}); check BATCHDATA_API_KEY. "
                    "Nothing was billed."
                )
            if response.status_code >= 400:
                raise RequestRejected(
                    f"BatchData rejected the request (HTTP {response.status_code}: "
                    f"{_message(response)})"
                )
            return self._parse(response, len(items), attempt)

    @staticmethod
    def _parse(response: requests.Response, count: int, attempts: int) -> BatchResult:
        try:
            persons, request_id = read_answer(response.content, count)
        except AmbiguousOutcome as exc:
            raise AmbiguousOutcome(
                f"BatchData answered HTTP {response.status_code}: {exc}"
            ) from exc.__cause__
        logger.info(
            "BatchData traced %d records (%s matched)",
            count,
            sum(1 for p in persons if (p.get("meta") or {}).get("matched")),
        )
        return BatchResult(
            persons=persons, provider_request_id=request_id, attempts=attempts
        )


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # "1e400" reads as infinity
        raise ValueError(f"number out of range: {text[:20]}")
    return value


def _not_json(name: str):
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python's, not JSON's


def read_answer(body: bytes, count: int) -> tuple[list[dict[str, Any]], str | None]:
    """Return the persons (objects, one per record) and request id of a 200 answer.

    Raise :class:`AmbiguousOutcome` when it cannot be read: not JSON (NaN and
    infinite numbers included, which no column and no JSON type can hold), no
    ``results.persons`` list, a person or a ``meta`` that is not an object, or not
    one person per record. A request id that is not a short text or number is None.
    """
    try:
        payload = json.loads(body, parse_float=_finite, parse_constant=_not_json)
        results = payload["results"]
        persons = results["persons"]
        request_id = (results.get("meta") or {}).get("requestId")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise AmbiguousOutcome(
            f"a body that cannot be read: {count} records may have been billed"
        ) from exc
    if not isinstance(persons, list) or (
        PERSONS_ALIGNED_WITH_REQUESTS and len(persons) != count
    ):
        got = len(persons) if isinstance(persons, list) else "?"
        raise AmbiguousOutcome(
            f"{got} persons for {count} records: cannot tell who is who"
        )
    for number, person in enumerate(persons, start=1):
        if not isinstance(person, dict) or not isinstance(
            person.get("meta") or {}, dict
        ):
            raise AmbiguousOutcome(
                f"person {number} of {count} is not an object with a meta object: "
                "cannot tell whether it matched (billed)"
            )
    return persons, _request_id(request_id)


def _request_id(value: Any) -> str | None:
    """Return the answer's request id as text, None when it is not a short id."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if 0 < len(text) <= MAX_REQUEST_ID else None
