"""Subscription webhooks: which URLs a subscription may post to, what it posts, and
one signed delivery.

Why a module of its own: a webhook is a request our server makes to an address a
user typed, so it is where server-side request forgery would happen. Every rule
that keeps it from reaching inside our network lives here, next to the one place
that sends:

- **URLs** (:func:`check_url`, at creation and again at send time): ``https://``,
  or ``http://`` only to a host in ``CTF_WEBHOOK_ALLOW_HOSTS`` (comma-separated
  host names or IP addresses, read by :mod:`ctforeclosure.config`); no user name or
  password in the URL.
- **Addresses** (:func:`deliver`): the host is resolved at send time and every
  address it resolves to must be public (not loopback, link-local, private,
  multicast, reserved or unspecified, also inside IPv4-mapped, 6to4 and NAT64
  addresses) unless the host, or that address, is allow-listed. The request then
  goes to the address that was checked: no second DNS lookup, so a name that
  answers a public address to the check and a private one to the connection (DNS
  rebinding) reaches nothing. The ``Host`` header, TLS SNI and the certificate
  check still use the name.
- **No redirects**: a 3xx answer is a permanent failure; the receiver must be given
  its final URL.
- **Outcome** (:class:`Delivery`): 2xx delivered; 5xx, 429, time-outs and
  connection errors are worth retrying; any other answer is a permanent failure.
  Error texts name the scheme and host only (URLs carry tokens), never the path,
  the query or the secret. Nothing here logs a URL or a secret.
- **Storage**: URLs and secrets are kept encrypted (:func:`encrypt`,
  :func:`decrypt`; Fernet under ``CTF_SECRET_KEY``, see
  :mod:`ctforeclosure.services.encryption`). Changing ``CTF_SECRET_KEY`` makes them
  unreadable: each webhook subscription must then be saved again with its URL.

**What is posted** (:func:`payload`): JSON with the docket, town, county, event,
the date it is about, the case page's address (on ``CTF_BASE_URL``) and ``text``,
one line Slack and Mattermost show as-is ("Judgment entered —
HHD-CV24-6012345-S, Hartford, law day 2027-01-12"). The caption (it names the
defendants) only when the subscription opts in; never phones or emails.

**Verifying a delivery** (the receiver's side; README "Webhooks"):

1. Read the headers ``X-CTF-Timestamp`` (Unix seconds), ``X-CTF-Signature``
   (``sha256=<hex>``) and ``X-CTF-Delivery`` (the delivery's stable id).
2. Compute ``HMAC-SHA256(secret, timestamp + "." + raw body bytes)`` in hex, and
   compare it with the signature's hex in constant time
   (``hmac.compare_digest``). Use the raw body, before any JSON parsing.
3. Refuse a timestamp more than 5 minutes from your clock (a replayed delivery).
4. Drop a delivery whose ``X-CTF-Delivery`` you have already processed: after a
   crash between sending and recording, one delivery is sent again with the same
   id.

:func:`verify` does exactly that, for Python receivers and the tests.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit
from zoneinfo import ZoneInfo

import certifi
import urllib3

from ctforeclosure import __version__, config, dockets
from ctforeclosure.db import aware
from ctforeclosure.services import encryption

__all__ = [
    "CONNECT_TIMEOUT",
    "READ_TIMEOUT",
    "TOLERANCE_SECONDS",
    "Delivery",
    "check_url",
    "decrypt",
    "deliver",
    "encrypt",
    "new_secret",
    "payload",
    "sign",
    "verify",
]

#: Seconds to wait for the receiver's connection, then for its answer.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
#: How far a delivery's timestamp may be from the receiver's clock (:func:`verify`).
TOLERANCE_SECONDS = 300
MAX_URL_LENGTH = 2048
#: How many of a host's addresses are tried when connecting fails (IPv6 first on a
#: machine without an IPv6 route, say).
MAX_ADDRESSES = 3
#: The encryption purpose of webhook URLs and secrets.
PURPOSE = "webhook"
USER_AGENT = f"ctforeclosure-webhooks/{__version__}"

#: The case page's path in the web UI (webui.cases; a test holds them together).
CASE_PATH = "/cases/{docket_no}"
COURT_TZ = ZoneInfo("America/New_York")

_TOKEN = re.compile(r"[\x21-\x7e]{1,200}")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: The address properties that refuse a webhook, in the order their names are told.
_REFUSED = ("unspecified", "loopback", "link_local", "multicast", "private", "reserved")


@dataclass(frozen=True)
class Delivery:
    """What one delivery attempt came to: delivered (``ok``), worth retrying
    (``retry``), the receiver's HTTP status if it answered, why it failed (no URL
    path, query or secret in it), and the seconds a 429 or 503 answer's
    ``Retry-After`` asked to wait (None when it did not say)."""

    ok: bool
    retry: bool
    status: int | None
    error: str
    retry_after: int | None = None


class _Refused(Exception):
    """The host resolves to an address a webhook may not reach."""


class _Unreachable(Exception):
    """No connection could be made to one address (the next may answer)."""


# -- URLs ---------------------------------------------------------------------------


def _bare(host: str) -> str:
    """Return a host as the allow-list compares it: lower case, no brackets or
    trailing dot."""
    return host.strip().strip("[]").rstrip(".").lower()


def _allowed(host: str, allow_hosts: Iterable[str]) -> bool:
    return _bare(host) in {_bare(h) for h in allow_hosts}


def _split(url: str) -> SplitResult:
    """Return the URL's parts; raise ValueError when it is not a URL."""
    if not url:
        raise ValueError("the webhook URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"the webhook URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise ValueError("the webhook URL contains spaces or control characters")
    if not url.isascii():
        raise ValueError(
            "the webhook URL must be ASCII: percent-encode its path, and write an "
            "international host name in its xn-- form"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        raise ValueError("the webhook URL's host or port is not valid") from None
    return parts


def check_url(url: str, allow_hosts: Iterable[str] = ()) -> str:
    """Return the URL (without surrounding blanks) when a webhook may post to it;
    raise ValueError naming the problem otherwise.

    ``https://`` always, ``http://`` only to a host in ``allow_hosts``; an IP
    address must be public unless allow-listed (a host name is checked when it is
    resolved, at each delivery)."""
    url = (url or "").strip()
    parts = _split(url)
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in ("https", "http"):
        raise ValueError("the webhook URL must start with https://")
    if not host:
        raise ValueError("the webhook URL has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "the webhook URL must not carry a user name or password "
            "(the receiver checks the signature instead)"
        )
    if scheme == "http" and not _allowed(host, allow_hosts):
        raise ValueError(
            f"the webhook URL must start with https:// (http:// only to a host in "
            f"CTF_WEBHOOK_ALLOW_HOSTS, and {host} is not)"
        )
    if not _allowed(host, allow_hosts):
        reason = _literal_refusal(host)
        if reason:
            raise ValueError(f"the webhook URL points at a {reason} address ({host})")
    return url


def _literal_refusal(host: str) -> str | None:
    """Return why an IP-address host is refused, or None (and None for names)."""
    try:
        return _refusal(host)
    except ValueError:
        return None  # a host name


def _origin(parts: SplitResult) -> str:
    """Return the only part of a webhook URL fit for an error text."""
    host = parts.hostname
    return f"{parts.scheme.lower()}://{f'[{host}]' if ':' in host else host}"


# -- addresses ----------------------------------------------------------------------


def _embedded_ipv4(ip) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 address carries (mapped, 6to4, NAT64)."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _refusal(address: str) -> str | None:
    """Return why a webhook may not reach this IP address ("loopback",
    "private", ...), or None when it is public; ValueError when not an address."""
    ip = ipaddress.ip_address(address.split("%")[0])  # fe80::1%eth0: drop the zone
    for candidate in (_embedded_ipv4(ip), ip):  # ::ffff:127.0.0.1 is loopback
        if candidate is None:
            continue
        for name in _REFUSED:
            if getattr(candidate, f"is_{name}"):
                return name.replace("_", "-")
        if not candidate.is_global:
            return "non-public"  # e.g. 100.64.0.0/10, carrier-grade NAT
    return None


def _resolve(host: str, port: int, allow_hosts: Iterable[str]) -> list[str]:
    """Return the addresses to try, in the resolver's order, once every one the
    host resolves to has been checked (raise _Refused), unless the host is
    allow-listed."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not _allowed(host, allow_hosts):
        for address in addresses:
            reason = _refusal(address)
            if reason and not _allowed(address, allow_hosts):
                raise _Refused(f"{host} resolves to a {reason} address ({address})")
    return addresses[:MAX_ADDRESSES]


# -- signing ------------------------------------------------------------------------


def new_secret() -> str:
    """Return a new signing secret for a subscription (shown to its owner once)."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the ``X-CTF-Signature`` value of a body sent at ``timestamp``."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: str,
    signature: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Return whether a received delivery is genuine and fresh (the recipe of the
    module docstring)."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except (TypeError, ValueError):
        return False
    expected = sign(secret, timestamp, body)
    return age <= tolerance and hmac.compare_digest(expected, signature or "")


def encrypt(text: str, secret_key: str | None = None) -> str:
    """Return a webhook URL or secret encrypted for storage, under ``secret_key``
    (default: ``CTF_SECRET_KEY``)."""
    return encryption.encrypt(_key(secret_key), PURPOSE, text)


def decrypt(token: str, secret_key: str | None = None) -> str:
    """Return a stored webhook URL or secret; ValueError when it cannot be read
    (``CTF_SECRET_KEY`` changed: the subscription must be saved again)."""
    try:
        return encryption.decrypt(_key(secret_key), PURPOSE, token)
    except encryption.InvalidToken:
        raise ValueError(
            "a stored webhook URL or secret cannot be read (CTF_SECRET_KEY changed?): "
            "save the subscription's webhook again"
        ) from None


def _key(secret_key: str | None) -> str:
    key = secret_key or config.load().secret_key
    if not key:
        raise RuntimeError(
            "CTF_SECRET_KEY is not set: webhook URLs and secrets cannot be stored"
        )
    return key


# -- delivery -----------------------------------------------------------------------


def deliver(
    url: str,
    secret: str,
    payload: dict,
    delivery_id: str,
    allow_hosts: Iterable[str] = (),
    *,
    ca_certs: str | None = None,
) -> Delivery:
    """POST ``payload`` as signed JSON to ``url`` once; never raises for the
    receiver's or the network's faults, and never follows a redirect.

    ``ca_certs``: the CA bundle https receivers' certificates are checked against
    (default: certifi's)."""
    allow_hosts = tuple(allow_hosts)
    try:
        parts = urlsplit(check_url(url, allow_hosts))
        if not _TOKEN.fullmatch(delivery_id or ""):
            raise ValueError("the delivery id must be printable ASCII without spaces")
        if not secret:
            raise ValueError("the webhook has no signing secret")
    except ValueError as exc:
        return Delivery(False, False, None, str(exc))
    origin = _origin(parts)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = _resolve(parts.hostname, port, allow_hosts)
    except _Refused as exc:
        return Delivery(False, False, None, f"{origin}: refused: {exc}")
    except OSError:
        return Delivery(False, True, None, f"{origin}: the host name does not resolve")
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = _headers(parts, port, secret, delivery_id, body)
    problem = "connection failed"
    for address in addresses:
        pool = _pool(parts, address, port, ca_certs or certifi.where())
        try:
            return _post(pool, parts, headers, body)
        except _Unreachable as exc:
            problem = str(exc)
    return Delivery(False, True, None, f"{origin}: {problem}")


def _headers(
    parts: SplitResult, port: int, secret: str, delivery_id: str, body: bytes
) -> dict:
    timestamp = str(int(time.time()))
    default_port = 443 if parts.scheme.lower() == "https" else 80
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return {
        "Host": host if port == default_port else f"{host}:{port}",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-CTF-Delivery": delivery_id,
        "X-CTF-Timestamp": timestamp,
        "X-CTF-Signature": sign(secret, timestamp, body),
    }


def _pool(
    parts: SplitResult, address: str, port: int, ca_certs: str
) -> urllib3.HTTPConnectionPool:
    """Return a connection pool to the checked ``address``; for https the TLS
    handshake (SNI) and the certificate check are on the URL's host name."""
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    if parts.scheme.lower() == "http":
        return urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    return urllib3.HTTPSConnectionPool(
        address,
        port,
        timeout=timeout,
        retries=False,
        server_hostname=parts.hostname,
        assert_hostname=parts.hostname,
        cert_reqs="CERT_REQUIRED",
        ca_certs=ca_certs,
    )


class _QuietWhileSending(logging.Filter):
    """Drop urllib3's own log lines while this thread sends a webhook: at DEBUG
    they hold the request's path and query, where receivers put their tokens (a
    crawl's log, served by scrapyd, runs at DEBUG by default)."""

    sending = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.sending, "on", False)


_QUIET = _QuietWhileSending()
for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_QUIET)


@contextmanager
def _quiet() -> Iterator[None]:
    _QUIET.sending.on = True
    try:
        yield
    finally:
        _QUIET.sending.on = False


#: One attempt: no retries, no redirects followed, the pool's host being the checked
#: address rather than the URL's name, and the answer's body left unread.
_ONCE = {
    "retries": False,
    "redirect": False,
    "assert_same_host": False,
    "preload_content": False,
}


def _post(
    pool: urllib3.HTTPConnectionPool, parts: SplitResult, headers: dict, body: bytes
) -> Delivery:
    """Send the request through the pool (to the checked address) and classify
    what came of it."""
    origin = _origin(parts)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        with _quiet():
            response = pool.urlopen("POST", target, body=body, headers=headers, **_ONCE)
            response.release_conn()
    except urllib3.exceptions.NewConnectionError:  # a ConnectTimeoutError subclass
        raise _Unreachable("connection failed (refused or unreachable)") from None
    except urllib3.exceptions.ConnectTimeoutError:
        raise _Unreachable("timed out connecting") from None
    except urllib3.exceptions.TimeoutError:
        return Delivery(False, True, None, f"{origin}: timed out")
    except urllib3.exceptions.SSLError:
        return Delivery(False, True, None, f"{origin}: TLS handshake failed")
    except urllib3.exceptions.HTTPError as exc:
        kind = type(exc).__name__  # never str(exc): it may hold the URL's path
        return Delivery(False, True, None, f"{origin}: connection failed ({kind})")
    finally:
        pool.close()
    return _outcome(response.status, origin, response.headers.get("Retry-After"))


def _seconds(retry_after: str | None) -> int | None:
    """Return a ``Retry-After`` header's wait in seconds (it may be a date)."""
    if not retry_after:
        return None
    if retry_after.strip().isdigit():
        return int(retry_after)
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    return max(0, int(when.timestamp() - time.time()))


def _outcome(status: int, origin: str, retry_after: str | None = None) -> Delivery:
    """Classify the receiver's answer."""
    if 200 <= status < 300:
        return Delivery(True, False, status, "")
    if 300 <= status < 400:
        return Delivery(
            False,
            False,
            status,
            f"{origin} answered HTTP {status}, a redirect, which webhooks do not "
            "follow: give the subscription the final URL",
        )
    retry = status == 429 or status >= 500
    wait = _seconds(retry_after) if status in (429, 503) else None
    return Delivery(False, retry, status, f"{origin} answered HTTP {status}", wait)


# -- the payload --------------------------------------------------------------------

#: How the ``text`` line names each event; another kind reads as its name.
LABELS = {
    "new_case": "New case",
    "judgment": "Judgment entered",
    "law_day": "Law day set",
    "disposition": "Disposition",
    "no_longer_listed": "No longer listed on the court's site",
    "phones_found": "Skip trace found phones",
    "sale_scheduled": "Sale scheduled",
    "sale_moved": "Sale moved",
    "sale_cancelled": "Sale cancelled",
    "sale_unlisted": "Sale left the court's list",
    "sale_relisted": "Sale listed again",
}


def _field(row: Any, name: str) -> Any:
    """Return a column of a row, a mapping or an object (None when absent)."""
    if isinstance(row, Mapping):
        return row.get(name)
    return getattr(row, name, None)


def _day(value: Any) -> str | None:
    """Return a date, a datetime (naive ones are UTC, as SQLite hands them back) or
    their ISO text as the court's date, in ISO form."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            parse = date.fromisoformat if len(value) == 10 else datetime.fromisoformat
            value = parse(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return aware(value).astimezone(COURT_TZ).date().isoformat()
    return value.isoformat() if isinstance(value, date) else None


def _sale_day(value: Any) -> str | None:
    """Return the date of a sale change's value: a posting's ({"sale_at": ...}),
    or the case page's derived ``sale_date`` (a date), which a ``sale_moved``
    event also takes (services.notify.match)."""
    return _day(value.get("sale_at")) if isinstance(value, Mapping) else _day(value)


def _about(event: str, change: Any, case: Any) -> tuple[str, str | None, str]:
    """Return the event's label, the date it is about, and the detail after the
    town ("law day 2027-01-12"), for the ``text`` line."""
    old, new = _field(change, "old_value"), _field(change, "new_value")
    label = LABELS.get(event, event.replace("_", " ").capitalize())
    if event == "law_day":
        before, after = _day(old), _day(new)
        if after is None:
            return "Law day removed", before, f"was {before}" if before else ""
        if before:
            return "Law day moved", after, f"law day {before} → {after}"
        return label, after, f"law day {after}"
    if event == "judgment":
        law_day = _day(_field(case, "law_day"))
        if law_day:
            return label, law_day, f"law day {law_day}"
        sale = _day(_field(case, "notice_sale_date") or _field(case, "sale_date"))
        return label, sale, f"sale {sale}" if sale else ""
    if event == "sale_moved":
        before, after = _sale_day(old), _sale_day(new)
        return label, after, f"sale {before} → {after}"
    if event.startswith("sale_"):
        sale = _sale_day(new) or _sale_day(old)
        return label, sale, f"sale {sale}" if sale else ""
    if event == "new_case":
        filed = _day(_field(case, "file_date"))
        return label, filed, f"filed {filed}" if filed else ""
    if event == "disposition":
        return label, _day(_field(case, "disposition_date")), str(new or "").strip()
    return label, None, ""


def payload(
    change: Any,
    case: Any,
    event: str,
    include_caption: bool,
    *,
    base_url: str | None = None,
) -> dict:
    """Return what a webhook posts for one change of a case (rows of
    ``case_changes`` and ``cases``, or mappings with their columns).

    ``date`` is the date the event is about (the law day, the sale, the filing),
    else the day the change was seen; ``url`` is the case page on ``base_url``
    (default ``CTF_BASE_URL``; None when unset)."""
    docket_no = _field(case, "docket_no") or _field(change, "docket_no")
    try:
        docket = dockets.header_form(docket_no)  # as the case page prints it
    except (ValueError, TypeError):
        docket = _field(case, "docket_display") or docket_no
    town = _field(case, "search_town")
    label, day, detail = _about(event, change, case)
    seen = _field(change, "seen_at")
    base = base_url if base_url is not None else config.load().base_url
    path = CASE_PATH.format(docket_no=quote(docket_no, safe=""))
    body = {
        "event": event,
        "change_id": _field(change, "id"),
        "docket": docket,
        "docket_no": docket_no,
        "town": town,
        "county": _field(case, "county"),
        "date": day or _day(seen),
        "seen_at": aware(seen).isoformat() if isinstance(seen, datetime) else seen,
        "url": base.rstrip("/") + path if base else None,
        "text": " — ".join([label, ", ".join(filter(None, [docket, town, detail]))]),
    }
    if include_caption:
        body["caption"] = _field(case, "caption")
    return body
